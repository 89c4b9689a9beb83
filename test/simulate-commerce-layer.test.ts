/**
 * `storehook simulate commerce-layer`: prints the CL_* values, calls the external resources it was
 * pointed at when asked, signed with the shared secret it was given, and stops on SIGTERM.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { startTestEndpoint, type TestEndpoint } from '../src/testkit/commerce-layer/test-endpoint.ts'
import { REPO_ROOT } from './helpers.ts'

let endpoint: TestEndpoint
before(async () => {
  endpoint = await startTestEndpoint()
})
after(() => endpoint.close())

describe('storehook simulate commerce-layer', () => {
  it('prints the connection values, makes a signed call on request, and stops on SIGTERM', async () => {
    const args = ['simulate', 'commerce-layer', '--port', '0', '--shared-secret', 'sim-secret-123', '--external', `tax=${endpoint.url}/external/tax`, '--webhook', `orders.place=${endpoint.url}/events/cl`]
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/storehook.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    const lines: string[] = []
    const waitFor = (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} within 10 s: ${lines.join('\n')}`)), 10_000)
        const check = () => {
          if (!lines.some((line) => pattern.test(line))) return
          clearTimeout(timer)
          resolve()
        }
        reader.on('line', check)
        check()
      })
    const reader = createInterface({ input: child.stdout })
    reader.on('line', (line) => lines.push(line))
    try {
      await waitFor(/^Fire a webhook/)
      const url = /listening on (\S+)/.exec(lines.join('\n'))?.[1] as string
      assert.ok(lines.includes(`CL_BASE_URL=${url}`))
      assert.ok(lines.includes(`CL_TOKEN_URL=${url}/oauth/token`))
      assert.ok(lines.includes('CL_SHARED_SECRET=sim-secret-123'))
      assert.ok(lines.some((line) => /^CL_CLIENT_SECRET=\S{20,}$/.test(line)))

      const call = (await (await fetch(`${url}/_simulator/calls/tax`, { method: 'POST' })).json()) as { api: { status: number } }
      assert.equal(call.api.status, 200)
      const [request] = endpoint.received
      assert.equal(request?.path, '/external/tax')
      assert.equal(request?.headers['x-commercelayer-signature'], createHmac('sha256', 'sim-secret-123').update(request?.body ?? '').digest('base64'))
      await waitFor(/^tax orders\/\w+ -> 200; API answers 200; circuit closed, 0 failures$/)

      await fetch(`${url}/_simulator/webhooks/orders.place`, { method: 'POST' })
      await waitFor(/^webhook orders\.place -> 200 \(try 1\)$/)
      assert.equal((await fetch(`${url}/_simulator/calls/price`, { method: 'POST' })).status, 409, 'price was not configured')
    } finally {
      child.kill('SIGTERM')
    }
    assert.equal(await exited, 0)
  })
})
