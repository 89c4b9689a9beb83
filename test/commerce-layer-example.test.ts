/**
 * `examples/commerce-layer` exactly as shipped, configured only through the environment, against
 * the Commerce Layer simulator (which calls it as Commerce Layer does: signed, under its 3 s
 * timeout, keeping each owner's circuit breaker), the ERP simulator, and a small pricing service
 * on 127.0.0.1: every kind answers as Commerce Layer expects, a placed order reaches the ERP once
 * however often it is delivered, and — the "done when" — the simulator's breaker never
 * opens while the pricing service hangs.
 */
import assert from 'node:assert/strict'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startCommerceLayerSimulator, type ExternalCallRecord } from '../src/testkit/commerce-layer-simulator.ts'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { eventually, makeProject, REPO_ROOT, start } from './helpers.ts'

const SECRET = 'cl_example_shared_secret_0001'
/** Short, so that many calls meeting a hanging pricing service take seconds, not minutes. */
const DEADLINE_MS = 600
const CACHE_TTL_MS = 300
const TSHIRT = 'TSHIRTMM000000FFFFFFXLXX'
const CAP = 'CAPBKSUNFFFFFF000000XXXX'

/** The pricing service the example reads: GET /prices/<sku>?currency=&market=, or hanging when told to. */
async function startPricingService(prices: Record<string, { unit_amount_cents: number; compare_at_amount_cents?: number }>) {
  const requests: { sku: string; query: string }[] = []
  const hanging = new Set<ServerResponse>()
  const state = { hang: false }
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://pricing')
    const sku = decodeURIComponent(url.pathname.replace(/^\/prices\//, ''))
    requests.push({ sku, query: url.search })
    if (state.hang) {
      // Never answers; the example's deadline has to cut it.
      hanging.add(res)
      res.on('close', () => hanging.delete(res))
      return
    }
    const price = prices[sku]
    res.writeHead(price ? 200 : 404, { 'content-type': 'application/json' })
    res.end(JSON.stringify(price ?? { error: 'unknown sku' }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    state,
    hanging,
    close: () => {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

const pricing = await startPricingService({
  [TSHIRT]: { unit_amount_cents: 2500, compare_at_amount_cents: 3500 },
  [CAP]: { unit_amount_cents: 1800 },
})
const erp = await startErpSimulator()
const cl = await startCommerceLayerSimulator({ sharedSecret: SECRET })
after(() => Promise.all([pricing.close(), erp.close(), cl.close()]))

// The example reads everything from the environment, as it would in production.
Object.assign(process.env, {
  CL_SHARED_SECRET: `an_older_secret ${SECRET}`,
  PRICING_URL: pricing.url,
  ERP_URL: erp.url,
  CL_DEADLINE_MS: String(DEADLINE_MS),
  PRICE_CACHE_TTL_MS: String(CACHE_TTL_MS),
  INVOICE_CREDIT_LIMIT_CENTS: '100000',
})
const storehook = await start({ project: join(REPO_ROOT, 'examples/commerce-layer'), db: `sqlite:${join(makeProject({}), 'store.db')}` })
const admin = async (path: string) => (await fetch(`${storehook.url}/admin/api${path}`)).json() as Promise<any>

const external = (name: string) => `${storehook.url}/external/${name}`
cl.configure('price', { url: external('price') })
cl.configure('tax', { url: external('tax') })
cl.configure('promotion', { url: external('promotion') })
cl.configure('order-validation', { url: external('order-validation') })
cl.configure('payment', { urls: Object.fromEntries(['authorize', 'capture', 'void', 'refund'].map((a) => [a, external(`payment/${a}`)])) })

const [tshirtItem, capItem] = cl.sample.lineItems as [typeof cl.sample.order, typeof cl.sample.order]
const envelope = (call: ExternalCallRecord) => JSON.parse(call.response!.body)

describe('examples/commerce-layer: external resources', () => {
  it('price: reads the pricing service, caches it, and refuses a SKU it does not know', async () => {
    const call = await cl.call('price', { id: tshirtItem.id })
    assert.equal(call.response?.status, 200)
    assert.deepEqual(envelope(call), {
      success: true,
      data: { sku_code: TSHIRT, unit_amount_cents: 2500, compare_at_amount_cents: 3500, metadata: { priced_by: 'pricing-service' } },
    })
    assert.equal(call.api.status, 200)
    assert.equal(tshirtItem.attributes.unit_amount_cents, 2500)
    assert.equal(tshirtItem.attributes.total_amount_cents, 5000, 'two of them')
    assert.deepEqual(pricing.requests.at(-1), { sku: TSHIRT, query: '?currency=EUR&market=europe' })

    const asked = pricing.requests.length
    assert.equal((await cl.call('price', { id: tshirtItem.id })).response?.status, 200)
    assert.equal(pricing.requests.length, asked, 'the second call within the TTL is answered from the cache')
    assert.equal((await cl.call('price', { id: capItem.id })).effect.unit_amount_cents, 1800)

    const unknown = cl.store.add('line_items', { sku_code: 'NOT_IN_CATALOGUE', quantity: 1, currency_code: 'EUR', item_type: 'skus', circuit_state: 'closed', circuit_failure_count: 0 }, { order: { type: 'orders', id: cl.sample.order.id } })
    const refused = await cl.call('price', { id: unknown.id })
    assert.equal(refused.response?.status, 422)
    assert.equal(envelope(refused).success, false)
    assert.equal(envelope(refused).error.code, 'NO_PRICE')
    assert.equal(refused.api.status, 422, 'Commerce Layer does not create the line item')
    assert.equal(refused.countedAsFailure, false)
  })

  it('tax: VAT of the shipping country on each SKU line, included in the prices', async () => {
    const call = await cl.call('tax')
    assert.equal(call.response?.status, 200)
    const { data } = envelope(call)
    assert.equal(data.tax_rate, 0.22)
    assert.equal(data.freight_taxable, true)
    // The sample's prices include VAT: the tax is the part above the net amount.
    const expected = (cents: number) => Math.round(cents - cents / 1.22)
    const lines = [tshirtItem, capItem].map((li) => li.attributes.total_amount_cents as number)
    assert.deepEqual(data.line_items.map((line: any) => Math.round(line.tax_collectable * 100)), lines.map(expected))
    assert.equal(call.effect.total_tax_amount_cents, lines.map(expected).reduce((a, b) => a + b))
    assert.equal(tshirtItem.attributes.tax_amount_cents, expected(lines[0]!))
  })

  it('promotion: 10% off each line for a VIP customer, all lines carrying their amount', async () => {
    const call = await cl.call('promotion')
    assert.equal(call.response?.status, 200)
    const { data } = envelope(call)
    assert.equal(data.name, 'VIP 10% off')
    assert.deepEqual(data.line_items, [tshirtItem, capItem].map((li) => ({ id: li.id, discount_cents: Math.round((li.attributes.total_amount_cents as number) * 0.1) })))
    assert.equal(call.effect.discount_cents, data.line_items.reduce((sum: number, li: any) => sum + li.discount_cents, 0))
  })

  it('order-validation: a valid order passes; too many of one item is refused by attribute', async () => {
    const valid = await cl.call('order-validation')
    assert.equal(valid.response?.status, 200)
    assert.deepEqual(envelope(valid), { success: true, data: {} })
    assert.equal(valid.api.status, 200)

    cl.store.update(capItem, { quantity: 11 })
    try {
      const invalid = await cl.call('order-validation')
      assert.equal(invalid.response?.status, 422)
      assert.equal(envelope(invalid).error.code, 'ORDER_NOT_VALID')
      assert.match(envelope(invalid).data.line_items, new RegExp(`at most 10 .*${CAP}`))
      assert.equal(invalid.api.status, 422)
      assert.match((invalid.api.body as any).errors[0].detail, /^line_items - at most 10/)
    } finally {
      cl.store.update(capItem, { quantity: 1 })
    }
  })

  it('payment: authorize, capture, void and refund; over the credit limit, a gateway error', async () => {
    const authorized = await cl.call('payment', { action: 'authorize' })
    assert.equal(authorized.response?.status, 200)
    assert.equal(envelope(authorized).data.transaction_token, `inv_${cl.sample.externalPayment.id}`)
    assert.equal((authorized.effect.transaction as any).succeeded, true)
    assert.equal(cl.sample.order.attributes.payment_status, 'authorized')

    for (const [action, token] of [['capture', 'txn_auth_sim_1_capture'], ['void', 'txn_auth_sim_1_void'], ['refund', 'txn_capture_sim_1_refund']] as const) {
      const call = await cl.call('payment', { action })
      assert.equal(call.response?.status, 200, action)
      assert.equal(envelope(call).data.transaction_token, token)
      assert.equal(envelope(call).data.amount_cents, cl.sample.authorization.attributes.amount_cents)
      assert.equal((call.effect.transaction as any).succeeded, true, action)
    }

    const total = cl.sample.order.attributes.total_amount_cents
    cl.store.update(cl.sample.order, { total_amount_cents: 250_000 })
    try {
      const declined = await cl.call('payment', { action: 'authorize' })
      assert.equal(declined.response?.status, 422)
      assert.deepEqual(envelope(declined).data.error, { code: 'CREDIT_LIMIT', message: 'invoices are limited to 1000 EUR' })
      assert.equal(envelope(declined).data.amount_cents, 250_000)
      assert.equal((declined.effect.transaction as any).succeeded, false)
    } finally {
      cl.store.update(cl.sample.order, { total_amount_cents: total })
    }
  })
})

describe('examples/commerce-layer: the orders.place webhook', () => {
  it('forwards a placed order to the ERP once, however often Commerce Layer delivers it', async () => {
    cl.createWebhook({ topic: 'orders.place', callbackUrl: `${storehook.url}/events/cl`, includeResources: ['line_items', 'shipping_address'] })
    const order = cl.sample.order
    cl.store.update(order, { status: 'placed', placed_at: '2026-11-22T10:00:00.000Z' })
    const [first] = await cl.fire('orders.place', { type: 'orders', id: order.id })
    assert.equal(first?.delivered, true)
    const [delivery] = await erp.waitForAccepted(1, 10_000)
    assert.equal(delivery!.path, '/orders')
    const sent = JSON.parse(delivery!.body)
    assert.equal(sent.commerce_layer_id, order.id)
    assert.equal(sent.number, order.attributes.number)
    assert.deepEqual(sent.lines.map((l: any) => l.sku), [TSHIRT, CAP])
    assert.equal(sent.ship_to.country, 'IT')
    const eventId = `orders.place/${order.id}/${order.attributes.updated_at}`
    assert.equal(delivery!.idempotencyKey, `order-to-erp:cl:${encodeURIComponent(eventId)}`)

    // Commerce Layer's retries and `_trigger` send the same order again: acknowledged, not run again.
    for (let i = 0; i < 2; i++) {
      const [again] = await cl.fire('orders.place', { type: 'orders', id: order.id })
      assert.equal(again?.delivered, true)
    }
    const { event, runs } = await admin(`/events/cl/${encodeURIComponent(eventId)}`)
    assert.equal(event.duplicateDeliveries, 2)
    assert.equal(runs.length, 1)
    await eventually(async () => (await admin(`/runs/${runs[0].id}`)).run.state === 'succeeded', 10_000, 'the run to succeed')
    await sleep(300)
    assert.equal(erp.accepted().filter((d) => d.path === '/orders').length, 1)
    assert.deepEqual(erp.duplicates(), [])
  })
})

describe('examples/commerce-layer: the pricing service hangs', () => {
  it("keeps every price call answered in time, and Commerce Layer's circuit closed", { timeout: 60_000 }, async () => {
    // Prices known before the outage, then the example's own cache expires.
    assert.equal((await cl.call('price', { id: tshirtItem.id })).response?.status, 200)
    await sleep(CACHE_TTL_MS + 100)
    pricing.state.hang = true
    const askedBefore = pricing.requests.length
    // A SKU never priced before: nothing to fall back on.
    const afterwards = cl.store.add('line_items', { sku_code: CAP, quantity: 1, currency_code: 'EUR', item_type: 'skus', circuit_state: 'closed', circuit_failure_count: 0 }, { order: { type: 'orders', id: cl.sample.order.id } })
    const priced = cl.store.add('line_items', { sku_code: 'NEWCOLLECTION01', quantity: 1, currency_code: 'EUR', item_type: 'skus', circuit_state: 'closed', circuit_failure_count: 0 }, { order: { type: 'orders', id: cl.sample.order.id } })

    // 36 calls on one line item (its breaker would open above 30 failures) and 6 without a last good price.
    const targets = [...Array.from({ length: 36 }, () => tshirtItem.id), ...Array.from({ length: 6 }, () => priced.id)]
    const calls: ExternalCallRecord[] = []
    for (let i = 0; i < targets.length; i += 4) {
      calls.push(...(await Promise.all(targets.slice(i, i + 4).map((id) => cl.call('price', { id })))))
    }
    pricing.state.hang = false

    assert.equal(calls.length, 42)
    assert.ok(pricing.requests.length - askedBefore >= 40, `the pricing service was asked ${pricing.requests.length - askedBefore} times while hanging`)
    for (const call of calls) {
      assert.equal(call.skipped, false)
      assert.ok(call.response, `answered (${call.failure}: ${call.message})`)
      assert.ok(call.durationMs < 3000 && call.durationMs < DEADLINE_MS + 1000, `answered after ${Math.round(call.durationMs)} ms`)
      assert.equal(call.circuit.state, 'closed')
      const body = envelope(call)
      if (call.data.id === tshirtItem.id) {
        assert.equal(call.response.status, 200)
        assert.deepEqual(body.data, { sku_code: TSHIRT, unit_amount_cents: 2500, compare_at_amount_cents: 3500, metadata: { priced_by: 'pricing-service' } })
      } else {
        assert.equal(call.response.status, 422)
        assert.equal(body.success, false)
        assert.equal(body.error.code, 'TIMEOUT')
        assert.equal(call.countedAsFailure, false, 'a clean 4xx, not a timeout or a 5xx')
      }
    }
    // The line item with a last good price never counted a failure at all, so this holds even if
    // Commerce Layer counted 4xx answers (UNVERIFIED; the simulator's default counts only timeouts
    // and 5xx, which is why the other line item's clean 422s are not counted either).
    assert.deepEqual(cl.circuit({ type: 'line_items', id: tshirtItem.id }), { state: 'closed', failureCount: 0 })
    assert.deepEqual(cl.circuit({ type: 'line_items', id: priced.id }), { state: 'closed', failureCount: 0 })
    assert.deepEqual(cl.notifications, [])

    // storehook recorded each answer and which fallback gave it.
    const recorded = await eventually(async () => {
      const { calls: rows } = await admin('/external/calls?resource=price&outcome=timeout&limit=100')
      return rows.length >= 42 ? rows : null
    }, 10_000, 'the calls to be recorded')
    assert.equal(recorded!.filter((r: any) => r.fallback === 'last-good').length, 36)
    assert.equal(recorded!.filter((r: any) => r.fallback === 'error').length, 6)

    // Once the service answers again, so does the example, without any reset.
    assert.equal((await cl.call('price', { id: afterwards.id })).response?.status, 200)
  })
})
