/**
 * The shipped example `examples/quickstart` works as its README says: `storehook start` on it,
 * `send.ts` signs and sends an event, and the event's payload reaches the ERP (here the ERP
 * simulator at FORWARD_URL) as JSON under `Idempotency-Key: <event id>`, retried when the ERP
 * fails. The store is a temporary file, so the example's own `.storehook` is never touched.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { startStorehookProcess } from './child-process.ts'
import { REPO_ROOT, eventually } from './helpers.ts'

const EXAMPLE = join(REPO_ROOT, 'examples', 'quickstart')

const erp = await startErpSimulator()
after(() => erp.close())
const dbDir = mkdtempSync(join(tmpdir(), 'storehook-quickstart-'))
after(() => rmSync(dbDir, { recursive: true, force: true }))
const storehook = await startStorehookProcess({
  project: EXAMPLE,
  db: `sqlite:${join(dbDir, 'storehook.db')}`,
  env: { FORWARD_URL: `${erp.url}/orders` },
})
after(() => storehook.kill('SIGKILL'))

/** Runs `node examples/quickstart/send.ts [type] [data]` against the running storehook; returns its answer. */
async function send(...args: string[]): Promise<{ status: number; body: any }> {
  const env: NodeJS.ProcessEnv = { ...process.env, STOREHOOK_URL: storehook.url }
  delete env.NODE_TEST_CONTEXT
  delete env.NODE_OPTIONS
  const child = spawn(process.execPath, [join(EXAMPLE, 'send.ts'), ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  assert.equal(code, 0, `send.ts failed:\n${output}`)
  const match = /^(\d{3}) (.*)$/m.exec(output)
  assert.ok(match, `send.ts printed no answer:\n${output}`)
  return { status: Number(match[1]), body: JSON.parse(match[2]!) }
}

async function runsOf(eventId: string): Promise<any[]> {
  const response = await fetch(`${storehook.url}/admin/api/events/webhooks/${eventId}`)
  assert.equal(response.status, 200)
  return ((await response.json()) as any).runs
}

describe('examples/quickstart', () => {
  it('forwards a signed event to FORWARD_URL as JSON, keyed by the event id', async () => {
    const sent = await send('order.created', '{"order_id": "100000123", "total": 42.5}')
    assert.equal(sent.status, 200)
    const [event] = sent.body.events
    assert.equal(event.type, 'order.created')
    assert.equal(event.duplicate, false)
    assert.equal(event.runs, 1, 'the forward action subscribes to every event')

    const delivery = (await eventually(() => erp.accepted().find((d) => d.idempotencyKey === event.id), 10_000, 'the ERP to receive the event'))!
    assert.equal(delivery.method, 'POST')
    assert.equal(delivery.path, '/orders')
    assert.match(String(delivery.headers['content-type']), /^application\/json/)
    assert.deepEqual(JSON.parse(delivery.body), { type: 'order.created', data: { order_id: '100000123', total: 42.5 } })
    await eventually(async () => (await runsOf(event.id))[0]?.state === 'succeeded', 5000, 'the run to succeed')
  })

  it('retries when the ERP answers with a non-2xx status, under the same Idempotency-Key', { timeout: 20_000 }, async () => {
    erp.respondWith(503)
    const sent = await send('order.updated', '{"order_id": "100000124"}')
    assert.equal(sent.status, 200)
    const { id } = sent.body.events[0]
    // The example keeps the default retry policy: the first retry comes within 10 s.
    await eventually(() => erp.accepted().some((d) => d.idempotencyKey === id), 15_000, 'the retry to reach the ERP')
    const statuses = erp.deliveries.filter((d) => d.idempotencyKey === id).map((d) => d.status)
    assert.deepEqual(statuses, [503, 200])
    await eventually(async () => (await runsOf(id))[0]?.state === 'succeeded', 5000, 'the run to succeed')
    const [run] = await runsOf(id)
    assert.equal(run.attempts, 2)
  })

  it('stops cleanly on SIGTERM', async () => {
    const exit = await storehook.kill('SIGTERM')
    assert.deepEqual(exit, { code: 0, signal: null })
  })
})
