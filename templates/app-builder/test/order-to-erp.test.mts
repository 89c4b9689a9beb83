// The App Builder action end to end, in this process, as storehook runs it: storehook on a
// throwaway SQLite file serving this app.config.yaml, the testkit's Adobe I/O Events simulator
// (signed CloudEvents and the keys to check them) and its ERP.
// Run with `npm test` (node --test; Node strips the types). A .mts file: ESM in a CommonJS project.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startStorehook, type RunningStorehook } from 'storehook'
import { startErpSimulator, startIoEventsSimulator, type ErpSimulator, type IoEventsSimulator } from 'storehook/testkit'

const project = fileURLToPath(new URL('..', import.meta.url))
const ORDER_SAVED = 'com.adobe.commerce.observer.sales_order_save_after'
const dataDir = mkdtempSync(join(tmpdir(), 'storehook-test-'))
let io: IoEventsSimulator
let erp: ErpSimulator
let storehook: RunningStorehook
let endpoint: string

before(async () => {
  ;[io, erp] = await Promise.all([startIoEventsSimulator(), startErpSimulator()])
  // The environment wins over .env, so the test never depends on your local values.
  // Logs are off unless asked for: LOG_LEVEL=info npm test.
  Object.assign(process.env, {
    IO_CLIENT_ID: io.clientId,
    IO_EVENTS_PUBLIC_KEY_BASE_URL: io.publicKeyBaseUrl,
    ERP_URL: erp.url,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  })
  storehook = await startStorehook({ project, port: 0, db: `sqlite:${join(dataDir, 'storehook.db')}` })
  endpoint = `${storehook.url}/events/io-events`
})

after(async () => {
  await storehook?.close()
  await Promise.all([io?.close(), erp?.close()])
  rmSync(dataDir, { recursive: true, force: true })
})

describe('orders/order-to-erp', () => {
  it('sends the saved order to the ERP once', async () => {
    const event = io.cloudEvent(ORDER_SAVED, { entity_id: 42, increment_id: '000000042', grand_total: 107.43 })
    assert.equal((await io.deliver(endpoint, event)).status, 200)
    assert.equal((await io.deliver(endpoint, event)).status, 200) // I/O Events may deliver twice
    const run = await finishedRun(String(event.eventid))
    assert.equal(run.state, 'succeeded')
    const orders = erp.accepted().filter((d) => JSON.parse(d.body).increment_id === '000000042')
    assert.equal(orders.length, 1)
    assert.equal(orders[0]!.idempotencyKey, `order-to-erp:${event.eventid}`)
  })

  it('keeps an order the ERP refuses as a dead run, to replay once fixed', async () => {
    erp.respondWith(422)
    const event = io.cloudEvent(ORDER_SAVED, { entity_id: 43, increment_id: '000000043' })
    assert.equal((await io.deliver(endpoint, event)).status, 200)
    const run = await finishedRun(String(event.eventid))
    assert.equal(run.state, 'dead')
    assert.equal(run.attempts, 1)
  })
})

/** The event's run once its first attempt is over (succeeded, retrying, dead…), from the admin API. */
async function finishedRun(eventId: string, timeoutMs = 10_000): Promise<any> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { runs } = (await (await fetch(`${storehook.url}/admin/api/runs?q=${encodeURIComponent(eventId)}`)).json()) as { runs: any[] }
    const run = runs.find((r) => r.eventId === eventId)
    if (run && run.state !== 'pending' && run.state !== 'running') return run
    if (Date.now() > deadline) throw new Error(`the run of event ${eventId} did not finish an attempt within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
