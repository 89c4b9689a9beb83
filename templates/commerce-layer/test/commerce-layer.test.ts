// The project end to end, in this process, without a Commerce Layer account: storehook on a
// throwaway SQLite file, the testkit's Commerce Layer simulator (it calls external resources and
// webhooks with their documented payloads, signed, under Commerce Layer's timeouts) and the ERP's.
// Run with `npm test` (node --test; Node strips the types).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startStorehook, type RunningStorehook } from 'storehook'
import { startCommerceLayerSimulator, startErpSimulator, type CommerceLayerSimulator, type ErpSimulator } from 'storehook/testkit'

const project = fileURLToPath(new URL('..', import.meta.url))
const sharedSecret = randomBytes(16).toString('hex')
const dataDir = mkdtempSync(join(tmpdir(), 'storehook-test-'))
let cl: CommerceLayerSimulator
let erp: ErpSimulator
let storehook: RunningStorehook

before(async () => {
  ;[cl, erp] = await Promise.all([startCommerceLayerSimulator({ sharedSecret }), startErpSimulator()])
  // The environment wins over .env, so the test never depends on your local values.
  // Logs are off unless asked for: LOG_LEVEL=info npm test.
  Object.assign(process.env, { CL_SHARED_SECRET: sharedSecret, ERP_URL: erp.url, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' })
  storehook = await startStorehook({ project, port: 0, db: `sqlite:${join(dataDir, 'storehook.db')}` })
})

after(async () => {
  await storehook?.close()
  await Promise.all([cl?.close(), erp?.close()])
  rmSync(dataDir, { recursive: true, force: true })
})

describe('external/price', () => {
  it('prices the line item from the price list', async () => {
    cl.configure('price', { url: `${storehook.url}/external/price` })
    const call = await cl.call('price') // the sample cart's T-shirt line item, signed as Commerce Layer signs
    assert.equal(call.api.status, 200)
    const answer = JSON.parse(call.response!.body)
    assert.deepEqual(answer.data, { sku_code: 'TSHIRTMM000000FFFFFFXLXX', unit_amount_cents: 2500, compare_at_amount_cents: 2900 })
    assert.equal(call.circuit.failureCount, 0)
  })

  it('refuses a SKU it has no price for with a 422 envelope, which Commerce Layer does not count as a failure', async () => {
    const lineItem = cl.sample.lineItems[0]!
    const sku = lineItem.attributes.sku_code
    lineItem.attributes.sku_code = 'UNKNOWN-SKU'
    try {
      const call = await cl.call('price', { id: lineItem.id })
      assert.equal(call.response?.status, 422)
      assert.equal(JSON.parse(call.response!.body).error.code, 'NO_PRICE')
      assert.equal(call.countedAsFailure, false)
    } finally {
      lineItem.attributes.sku_code = sku
    }
  })
})

describe('actions/order-to-erp', () => {
  it('sends a placed order to the ERP once, however often the webhook is delivered', async () => {
    cl.createWebhook({ topic: 'orders.place', callbackUrl: `${storehook.url}/events/cl`, includeResources: ['line_items', 'customer'] })
    const [delivery] = await cl.fire('orders.place', { type: 'orders', id: cl.sample.order.id })
    assert.equal(delivery?.attempts[0]?.response_code, 200)
    await cl.fire('orders.place', { type: 'orders', id: cl.sample.order.id }) // a redelivery: the same event

    // The event id is derived from the topic, the order id and its updated_at.
    const run = await finishedRun('cl', `orders.place/${cl.sample.order.id}/`)
    assert.equal(run.state, 'succeeded')
    const orders = erp.accepted().filter((d) => JSON.parse(d.body).commerce_layer_id === cl.sample.order.id)
    assert.equal(orders.length, 1)
    assert.equal(JSON.parse(orders[0]!.body).lines.length, 2)
  })
})

/** The run of the event whose id starts with `eventId` once its first attempt is over (succeeded, retrying, dead…), from the admin API. */
async function finishedRun(source: string, eventId: string, timeoutMs = 10_000): Promise<any> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const query = new URLSearchParams({ source, q: eventId })
    const { runs } = (await (await fetch(`${storehook.url}/admin/api/runs?${query}`)).json()) as { runs: any[] }
    const run = runs.find((r) => r.eventId.startsWith(eventId))
    if (run && run.state !== 'pending' && run.state !== 'running') return run
    if (Date.now() > deadline) throw new Error(`the run of event ${eventId} did not finish an attempt within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
