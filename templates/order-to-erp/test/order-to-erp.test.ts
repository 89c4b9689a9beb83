// The action end to end, in this process, without any Adobe account: storehook on a throwaway
// SQLite file, and the testkit's simulators of Adobe I/O Events (signed CloudEvents and the keys
// to check them), Adobe Commerce (checking OAuth 1.0a as Magento does) and the ERP.
// Run with `npm test` (node --test; Node strips the types).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startStorehook, type RunningStorehook } from 'storehook'
import {
  startCommerceSimulator,
  startErpSimulator,
  startIoEventsSimulator,
  type CommerceSimulator,
  type ErpSimulator,
  type IoEventsSimulator,
} from 'storehook/testkit'

const project = fileURLToPath(new URL('..', import.meta.url))
const ORDER_SAVED = 'com.adobe.commerce.observer.sales_order_save_after'
const dataDir = mkdtempSync(join(tmpdir(), 'storehook-test-'))
let io: IoEventsSimulator
let commerce: CommerceSimulator
let erp: ErpSimulator
let storehook: RunningStorehook

before(async () => {
  ;[io, commerce, erp] = await Promise.all([startIoEventsSimulator(), startCommerceSimulator(), startErpSimulator()])
  // The environment wins over .env, so the test never depends on your local values.
  // Logs are off unless asked for: LOG_LEVEL=info npm test.
  Object.assign(process.env, {
    IO_CLIENT_ID: io.clientId,
    IO_EVENTS_PUBLIC_KEY_BASE_URL: io.publicKeyBaseUrl,
    COMMERCE_BASE_URL: `${commerce.url}/`,
    COMMERCE_CONSUMER_KEY: commerce.credentials.consumerKey,
    COMMERCE_CONSUMER_SECRET: commerce.credentials.consumerSecret,
    COMMERCE_ACCESS_TOKEN: commerce.credentials.accessToken,
    COMMERCE_ACCESS_TOKEN_SECRET: commerce.credentials.accessTokenSecret,
    ERP_URL: erp.url,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  })
  storehook = await startStorehook({ project, port: 0, db: `sqlite:${join(dataDir, 'storehook.db')}` })
})

after(async () => {
  await storehook?.close()
  await Promise.all([io?.close(), commerce?.close(), erp?.close()])
  rmSync(dataDir, { recursive: true, force: true })
})

describe('actions/order-to-erp', () => {
  it('enriches the order from Commerce and sends it to the ERP once', async () => {
    commerce.seedOrder({ entity_id: 42, extension_attributes: { erp_customer_code: 'C-7' } } as any)
    const event = io.cloudEvent(ORDER_SAVED, { entity_id: 42, increment_id: '000000042', grand_total: 107.43 })
    // I/O Events may deliver twice: the duplicate is acknowledged and never run again.
    const response = await io.deliver(`${storehook.url}/events/commerce`, event)
    assert.equal(response.status, 200)
    assert.equal((await io.deliver(`${storehook.url}/events/commerce`, event)).status, 200)

    const run = await finishedRun(String(event.eventid))
    assert.equal(run.state, 'succeeded')
    const [delivery, ...more] = erp.accepted().filter((d) => JSON.parse(d.body).entity_id === 42)
    assert.equal(more.length, 0)
    assert.deepEqual(JSON.parse(delivery!.body).extension_attributes, { erp_customer_code: 'C-7' })
    assert.equal(delivery!.idempotencyKey, `order-to-erp:commerce:${event.eventid}`)
    assert.ok(commerce.requests.some((r) => r.resource === 'orders/42' && r.auth === 'oauth1' && r.status === 200))
  })

  it('makes an event without entity_id dead at once, saying why', async () => {
    const event = io.cloudEvent(ORDER_SAVED, { increment_id: '000000043' })
    assert.equal((await io.deliver(`${storehook.url}/events/commerce`, event)).status, 200)
    const run = await finishedRun(String(event.eventid))
    assert.equal(run.state, 'dead')
    assert.match(run.lastError, /entity_id|order id/i)
  })

  it('refuses a delivery signed with a key Adobe never published: 401, nothing run', async () => {
    const event = io.cloudEvent(ORDER_SAVED, { entity_id: 42 })
    const response = await io.deliver(`${storehook.url}/events/commerce`, event, { signWith: 'forged' })
    assert.equal(response.status, 401)
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
