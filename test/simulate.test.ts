/**
 * `storehook simulate …`: each simulator runs as a standalone server, says where, serves as the
 * testkit's does, and stops cleanly on SIGTERM.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, it } from 'node:test'
import { REPO_ROOT } from './helpers.ts'

/** Starts `storehook simulate <args>` and collects its stdout lines until `until` matches one. */
async function simulate(args: string[], until: RegExp) {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/storehook.js'), 'simulate', ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines: string[] = []
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${until} within 10 s: ${lines.join('\n')}`)), 10_000)
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line)
      if (until.test(line)) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  const url = /listening on (\S+)/.exec(lines.join('\n'))![1]!
  return { lines, url, stop: () => (child.kill('SIGTERM'), exited) }
}

describe('storehook simulate', () => {
  it('erp: records and prints a request with its Idempotency-Key', async () => {
    const erp = await simulate(['erp'], /listening on/)
    const response = await fetch(`${erp.url}/orders`, { method: 'POST', headers: { 'idempotency-key': 'k-1' }, body: '{"n":1}' })
    assert.equal(response.status, 200)
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.ok(erp.lines.some((line) => line.includes('POST /orders Idempotency-Key: k-1 -> 200')), erp.lines.join('\n'))
    assert.equal(await erp.stop(), 0)
  })

  it('commerce: prints the COMMERCE_* values and refuses an unsigned call as Magento does', async () => {
    const commerce = await simulate(['commerce', '--orders', '7'], /^COMMERCE_ACCESS_TOKEN_SECRET=\w{32}$/)
    assert.ok(commerce.lines.includes(`COMMERCE_BASE_URL=${commerce.url}/`))
    const response = await fetch(`${commerce.url}/rest/V1/orders/7`)
    assert.equal(response.status, 401)
    assert.equal(await commerce.stop(), 0)
  })

  it('io-events: prints the publicKeyBaseUrl and client id to configure a source with', async () => {
    const io = await simulate(['io-events', '--client-id', 'my-client'], /clientId: 'my-client'/)
    assert.ok(io.lines.some((line) => line.includes(`publicKeyBaseUrl: '${io.url}'`)))
    assert.equal(await io.stop(), 0)
  })
})
