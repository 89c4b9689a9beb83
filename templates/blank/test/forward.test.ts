// The action end to end, in this process: storehook on a throwaway SQLite file, the ERP simulator
// from storehook/testkit, and requests signed exactly as a Standard Webhooks sender signs them.
// Run with `npm test` (node --test; Node strips the types).
import assert from 'node:assert/strict'
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startStorehook, type RunningStorehook } from 'storehook'
import { startErpSimulator, type ErpSimulator } from 'storehook/testkit'

const project = fileURLToPath(new URL('..', import.meta.url))
const secret = `whsec_${randomBytes(24).toString('base64')}`
const dataDir = mkdtempSync(join(tmpdir(), 'storehook-test-'))
let erp: ErpSimulator
let storehook: RunningStorehook

before(async () => {
  erp = await startErpSimulator()
  // The environment wins over .env, so the test never depends on your local values.
  // Logs are off unless asked for: LOG_LEVEL=info npm test.
  Object.assign(process.env, { WEBHOOK_SECRET: secret, ERP_URL: erp.url, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' })
  storehook = await startStorehook({ project, port: 0, db: `sqlite:${join(dataDir, 'storehook.db')}` })
})

after(async () => {
  await storehook?.close()
  await erp?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('actions/forward', () => {
  it('sends the order to the ERP once, with an idempotency key', async () => {
    const sent = await deliver('order.created', { order_id: 'ord_1001', total_cents: 8400 })
    assert.equal(sent.status, 200)
    const run = await finishedRun(sent.id)
    assert.equal(run.state, 'succeeded')
    const deliveries = erp.accepted().filter((d) => JSON.parse(d.body).order_id === 'ord_1001')
    assert.equal(deliveries.length, 1)
    assert.deepEqual(JSON.parse(deliveries[0]!.body), { event: 'order.created', order_id: 'ord_1001', total_cents: 8400 })
    assert.equal(deliveries[0]!.idempotencyKey, `forward:webhooks:${sent.id}`)
  })

  it('makes the run dead at once when the ERP rejects the order (4xx)', async () => {
    erp.respondWith(422)
    const sent = await deliver('order.created', { order_id: 'ord_1003' })
    const run = await finishedRun(sent.id)
    assert.equal(run.state, 'dead')
    assert.equal(run.attempts, 1)
  })

  it('refuses a request signed with another secret: 401, nothing stored, nothing run', async () => {
    const sent = await deliver('order.created', { order_id: 'ord_1004' }, `whsec_${randomBytes(24).toString('base64')}`)
    assert.equal(sent.status, 401)
    const { events } = await admin(`/events?q=${sent.id}`)
    assert.equal(events.length, 0)
  })
})

/** POSTs a Standard Webhooks message to the source, signed as the sender signs it. */
async function deliver(type: string, data: unknown, signingSecret = secret) {
  const id = `msg_${randomUUID().replaceAll('-', '')}`
  const timestamp = Math.floor(Date.now() / 1000)
  const body = JSON.stringify({ type, timestamp: new Date(timestamp * 1000).toISOString(), data })
  const key = Buffer.from(signingSecret.slice('whsec_'.length), 'base64')
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')
  const response = await fetch(`${storehook.url}/events/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` },
    body,
  })
  return { id, status: response.status, body: await response.json() }
}

/** GET on the admin API: what the dashboard shows (open to loopback when no admin token is set). */
async function admin(path: string): Promise<any> {
  return (await fetch(`${storehook.url}/admin/api${path}`)).json()
}

/** The event's run once its first attempt is over (succeeded, retrying, dead…). */
async function finishedRun(eventId: string, timeoutMs = 10_000): Promise<any> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { runs } = await admin(`/runs?q=${encodeURIComponent(eventId)}`)
    const run = runs.find((r: any) => r.eventId === eventId)
    if (run && run.state !== 'pending' && run.state !== 'running') return run
    if (Date.now() > deadline) throw new Error(`the run of event ${eventId} did not finish an attempt within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
