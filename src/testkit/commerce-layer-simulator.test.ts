import { after, afterEach, before, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { DEFAULT_INCLUDES, signCommerceLayer, startCommerceLayerSimulator, type CommerceLayerSimulator } from './commerce-layer-simulator.ts'
import { startTestEndpoint, type TestEndpoint } from './commerce-layer/test-endpoint.ts'

const SECRET = '1c0994cc4e996e8c6ee56a2198f66f3c'

let cl: CommerceLayerSimulator
let endpoint: TestEndpoint

before(async () => {
  endpoint = await startTestEndpoint()
})
after(() => endpoint.close())
beforeEach(async () => {
  cl = await startCommerceLayerSimulator({ sharedSecret: SECRET, externalTimeoutMs: 300 })
  endpoint.received.length = 0
  endpoint.answer = () => ({ status: 200, body: { success: true, data: {} } })
})
afterEach(() => cl.close())

type Doc = { data: Record<string, any>; included?: Record<string, any>[] }
const sent = (index = -1): Doc => JSON.parse(endpoint.received.at(index)?.body ?? 'null') as Doc
const includedTypes = (doc: Doc) => [...new Set((doc.included ?? []).map((resource) => resource.type))].sort()

describe('commerce layer simulator: signing', () => {
  test('the reference test vector: base64, not hex', () => {
    const body = '{"data":{"id":"xYZkjABcde","type":"line_items"}}'
    assert.equal(signCommerceLayer(body, SECRET), '8RJs6hj6/+8S3jk/QAM9hmWzbRxJSJSN9j9cnIeHBpo=')
    assert.notEqual(signCommerceLayer(body, SECRET), createHmac('sha256', SECRET).update(body).digest('hex'))
  })

  test('each call carries the signature of exactly the bytes sent, compact JSON', async () => {
    cl.configure('tax', { url: `${endpoint.url}/tax` })
    await cl.call('tax')
    const [request] = endpoint.received
    assert.ok(request)
    assert.equal(request.headers['x-commercelayer-signature'], createHmac('sha256', SECRET).update(request.body).digest('base64'))
    assert.equal(request.headers['x-commercelayer-topic'], undefined)
    assert.equal(request.body, JSON.stringify(JSON.parse(request.body)))
  })

  test('without a configured sharedSecret, each owner has its own 32-hex secret', async () => {
    const other = await startCommerceLayerSimulator()
    try {
      const tax = other.configure('tax', { url: endpoint.url })
      const price = other.configure('price', { url: endpoint.url })
      assert.match(tax.sharedSecret, /^[0-9a-f]{32}$/)
      assert.notEqual(tax.sharedSecret, price.sharedSecret)
      await other.call('tax')
      assert.equal(endpoint.received[0]?.headers['x-commercelayer-signature'], signCommerceLayer(endpoint.received[0]?.body ?? '', tax.sharedSecret))
    } finally {
      await other.close()
    }
  })
})

describe('commerce layer simulator: payloads with the default includes', () => {
  test('order validation: the order with addresses, line items and SKUs, market, customer, shipments and methods', async () => {
    cl.configure('order-validation', { url: endpoint.url })
    await cl.call('order-validation')
    const doc = sent()
    assert.equal(doc.data.type, 'orders')
    assert.equal(doc.data.id, cl.sample.order.id)
    assert.equal(doc.data.links.self, `/api/orders/${cl.sample.order.id}`)
    assert.deepEqual(doc.data.meta, { mode: 'test', organization_id: cl.organization.id })
    assert.deepEqual(includedTypes(doc), ['addresses', 'customers', 'line_items', 'markets', 'shipments', 'shipping_methods', 'skus'])
    assert.deepEqual(doc.data.relationships.market.data, { type: 'markets', id: cl.sample.market.id })
    assert.equal(doc.data.relationships.authorizations.data, undefined, 'linkage only for included relationships')
    assert.ok(doc.data.relationships.authorizations.links.related.endsWith('/authorizations'))
  })

  test('price: the line item with its order, customer and tags, the order line items and market, and the SKU', async () => {
    cl.configure('price', { url: endpoint.url })
    endpoint.answer = () => ({ status: 200, body: { success: true, data: { sku_code: 'X', unit_amount_cents: 100 } } })
    await cl.call('price')
    const doc = sent()
    assert.equal(doc.data.type, 'line_items')
    assert.equal(doc.data.attributes._external_price, true)
    assert.equal(doc.data.attributes.sku_code, 'TSHIRTMM000000FFFFFFXLXX')
    assert.deepEqual(includedTypes(doc), ['customers', 'line_items', 'markets', 'orders', 'skus', 'tags'])
    const order = doc.included?.find((resource) => resource.type === 'orders')
    assert.equal(order?.relationships.line_items.data.length, 2)
    assert.deepEqual(order?.relationships.customer.data, { type: 'customers', id: cl.sample.customer.id })
  })

  test('shipping, promotion, tax and payment: their documented includes', async () => {
    const expect: [Parameters<CommerceLayerSimulator['call']>[0], string, string[]][] = [
      ['shipping', 'shipments', ['orders', 'shipping_methods']],
      ['tax', 'orders', ['addresses', 'line_items', 'markets', 'skus']],
      ['payment', 'external_payments', ['addresses', 'customers', 'line_items', 'markets', 'orders', 'skus']],
      // Last: an applied promotion adds a line item whose `item` is the promotion, and later payloads include it.
      ['promotion', 'orders', ['addresses', 'customers', 'line_items', 'markets', 'skus', 'tags']],
    ]
    endpoint.answer = () => ({ status: 200, body: { success: true, data: { transaction_token: 't1', amount_cents: 8400 } } })
    for (const [kind, type, included] of expect) {
      cl.configure(kind, { url: endpoint.url })
      await cl.call(kind)
      assert.equal(sent().data.type, type, kind)
      assert.deepEqual(includedTypes(sent()), included, kind)
    }
    assert.deepEqual(DEFAULT_INCLUDES.payment.at(-1), 'order.order_subscriptions')
  })

  test('payment actions send the documented resource: capture and void an authorization, refund a capture', async () => {
    cl.configure('payment', { url: endpoint.url })
    endpoint.answer = () => ({ status: 200, body: { success: true, data: { transaction_token: 't2' } } })
    for (const [action, type] of [['capture', 'authorizations'], ['void', 'authorizations'], ['refund', 'captures']] as const) {
      await cl.call('payment', { action })
      assert.equal(sent().data.type, type)
    }
  })

  test('external_includes replaces the defaults', async () => {
    cl.configure('tax', { url: endpoint.url, externalIncludes: ['market'] })
    await cl.call('tax')
    assert.deepEqual(includedTypes(sent()), ['markets'])
  })
})

describe('commerce layer simulator: per-kind outcomes', () => {
  test('price: success reprices the line item; compare-at below the unit amount becomes the unit amount', async () => {
    cl.configure('price', { url: endpoint.url })
    endpoint.answer = () => ({ status: 200, body: { success: true, data: { sku_code: 'X', unit_amount_cents: 4900, compare_at_amount_cents: 100, metadata: { source: 'erp' } } } })
    const call = await cl.call('price')
    assert.equal(call.api.status, 200)
    const item = cl.sample.lineItems[0]?.attributes
    assert.equal(item?.unit_amount_cents, 4900)
    assert.equal(item?.compare_at_amount_cents, 4900)
    assert.equal(item?.total_amount_cents, 9800)
    assert.deepEqual(item?.metadata, { source: 'erp' })
  })

  test('price: a 5xx, a timeout or a business error is a 422 with the error message, the line item unchanged', async () => {
    cl.configure('price', { url: endpoint.url })
    endpoint.answer = () => ({ status: 404, body: { success: false, error: { code: 'NOT_FOUND', message: 'no price for this SKU' } } })
    const business = await cl.call('price')
    assert.equal(business.api.status, 422)
    assert.match(JSON.stringify(business.api.body), /no price for this SKU/)
    assert.equal(business.failure, 'business-error')
    assert.equal(business.countedAsFailure, false)
    endpoint.answer = () => ({ status: 200, body: { success: true }, delayMs: 1000 })
    const slow = await cl.call('price')
    assert.equal(slow.failure, 'timeout')
    assert.equal(slow.api.status, 422)
    assert.ok(slow.durationMs < 900, `gave up after ${slow.durationMs} ms`)
    assert.equal(cl.sample.lineItems[0]?.attributes.unit_amount_cents, 2900)
    assert.deepEqual(slow.circuit, { state: 'closed', failureCount: 1 })
  })

  test('price through the API: POST line_items with _external_price is 201 when priced, 422 and not created when not', async () => {
    cl.configure('price', { url: endpoint.url })
    const token = await tokenFor(cl)
    const post = () =>
      fetch(`${cl.url}/api/line_items`, {
        method: 'POST',
        headers: { accept: 'application/vnd.api+json', 'content-type': 'application/vnd.api+json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ data: { type: 'line_items', attributes: { sku_code: 'CAPBKSUNFFFFFF000000XXXX', quantity: 3, _external_price: true }, relationships: { order: { data: { type: 'orders', id: cl.sample.order.id } } } } }),
      })
    endpoint.answer = () => ({ status: 200, body: { success: true, data: { sku_code: 'CAPBKSUNFFFFFF000000XXXX', unit_amount_cents: 1500 } } })
    const created = await post()
    assert.equal(created.status, 201)
    const body = (await created.json()) as Doc
    assert.equal(body.data.attributes.total_amount_cents, 4500)
    const count = cl.store.list('line_items').length
    endpoint.answer = () => ({ status: 503 })
    const refused = await post()
    assert.equal(refused.status, 422)
    assert.equal(cl.store.list('line_items').length, count)
  })

  test('order validation: business errors are a 422 keyed by attribute; infrastructure failures a 200; validations_count grows each time', async () => {
    cl.configure('order-validation', { url: endpoint.url })
    endpoint.answer = () => ({ status: 400, body: { success: false, data: { customer_email: 'is blocked' }, error: { code: 'BLOCKED', message: 'Order refused' } } })
    const refused = await cl.call('order-validation')
    assert.equal(refused.api.status, 422)
    assert.deepEqual((refused.api.body as { errors: { source: unknown }[] }).errors[0]?.source, { pointer: '/data/attributes/customer_email' })
    endpoint.answer = () => ({ status: 500 })
    const broken = await cl.call('order-validation')
    assert.equal(broken.api.status, 200)
    assert.deepEqual(broken.effect, { errors: [] })
    assert.equal(cl.sample.order.attributes.validations_count, 2)
    assert.deepEqual(cl.circuit(broken.owner), { state: 'closed', failureCount: 1 })
  })

  test('shipping: the answered cost, or the method default when the endpoint fails', async () => {
    cl.configure('shipping', { url: endpoint.url })
    endpoint.answer = () => ({ status: 200, body: { success: true, data: { cost_amount_cents: 1234 } } })
    assert.equal((await cl.call('shipping')).effect.cost_amount_cents, 1234)
    endpoint.answer = () => ({ status: 500 })
    const failed = await cl.call('shipping')
    assert.equal(failed.api.status, 200)
    assert.deepEqual(failed.effect, { cost_amount_cents: 700, usedDefault: true })
  })

  test('promotion: a discount line item on success; skipped with 200 on failure; the all-or-none rule enforced', async () => {
    cl.configure('promotion', { url: endpoint.url })
    endpoint.answer = () => ({ status: 200, body: { success: true, data: { name: 'Birthday', discount_cents: 1500 } } })
    const applied = await cl.call('promotion')
    assert.equal(applied.effect.discount_cents, 1500)
    assert.equal(cl.sample.order.attributes.discount_amount_cents, -1500)
    endpoint.answer = () => ({ status: 200, body: { success: true, data: { name: 'x', line_items: [{ id: 'a', discount_cents: 1 }, { id: 'b' }] } } })
    const invalid = await cl.call('promotion')
    assert.equal(invalid.failure, 'invalid-response')
    assert.match(invalid.message ?? '', /all line items or for none/)
    assert.deepEqual(invalid.effect, { skipped: true })
    assert.equal(invalid.api.status, 200)
  })

  test('tax: order rate applied to tax-included lines; per-line tax_collectable wins', async () => {
    cl.configure('tax', { url: endpoint.url })
    const [first, second] = cl.sample.lineItems
    endpoint.answer = () => ({ status: 200, body: { success: true, data: { tax_rate: 0.22 } } })
    await cl.call('tax')
    assert.equal(first?.attributes.tax_amount_cents, Math.round(5800 - 5800 / 1.22))
    endpoint.answer = () => ({ status: 200, body: { success: true, data: { line_items: [{ id: first?.id, tax_collectable: 9.0 }, { id: second?.id, tax_rate: 0.1 }] } } })
    const call = await cl.call('tax')
    assert.deepEqual(call.effect.line_items, { [first?.id as string]: 900, [second?.id as string]: Math.round(1900 - 1900 / 1.1) })
    endpoint.answer = () => ({ status: 500 })
    assert.deepEqual((await cl.call('tax')).effect, { skipped: true })
  })

  test('payment: success, pending (202 + action_id, completed by a signed update), failed with 200 on a 5xx, 422 on a decline', async () => {
    const gateway = cl.configure('payment', { url: endpoint.url })
    endpoint.answer = () => ({ status: 200, body: { success: true, data: { transaction_token: 'txn_1', amount_cents: 8400 } } })
    const ok = await cl.call('payment')
    assert.equal((ok.effect.transaction as { succeeded: boolean }).succeeded, true)
    assert.equal(cl.sample.order.attributes.payment_status, 'authorized')

    endpoint.answer = () => ({ status: 202, body: { success: true, data: { transaction_token: 'txn_2', amount_cents: 8400, action_id: 'act_1' } } })
    const pending = await cl.call('payment', { action: 'capture' })
    assert.equal((pending.effect.transaction as { succeeded: boolean }).succeeded, false)
    const update = JSON.stringify({ success: true, data: { action_id: 'act_1', message: 'captured later' } })
    const hook = `${cl.sample.externalGateway.attributes.webhook_endpoint_url}`
    const forged = await fetch(hook, { method: 'POST', body: update, headers: { 'x-commercelayer-signature': signCommerceLayer(update, 'wrong') } })
    assert.equal(forged.status, 401)
    const signed = await fetch(hook, { method: 'POST', body: update, headers: { 'x-commercelayer-signature': signCommerceLayer(update, gateway.sharedSecret) } })
    assert.equal(signed.status, 200)
    const capture = cl.store.list('captures').find((entry) => entry.attributes.action_id === 'act_1')
    assert.deepEqual([capture?.attributes.succeeded, capture?.attributes.message], [true, 'captured later'])
    assert.equal(cl.sample.order.attributes.payment_status, 'paid')

    endpoint.answer = () => ({ status: 500 })
    const failed = await cl.call('payment', { action: 'refund' })
    assert.equal(failed.api.status, 200)
    assert.deepEqual([(failed.effect.transaction as { type: string }).type, (failed.effect.transaction as { succeeded: boolean }).succeeded], ['refunds', false])

    endpoint.answer = () => ({ status: 402, body: { success: false, data: { transaction_token: 'txn_3', amount_cents: 8400, error: { code: 'DECLINED', message: 'card declined' } } } })
    const declined = await cl.call('payment')
    assert.equal(declined.api.status, 422)
    assert.deepEqual([(declined.effect.transaction as { error_code: string }).error_code, (declined.effect.transaction as { message: string }).message], ['DECLINED', 'card declined'])
  })
})

describe('commerce layer simulator: the circuit breaker', () => {
  test('opens above 30 consecutive failures, skips calls while open, stays open until _reset_circuit', async () => {
    const { resource } = cl.configure('tax', { url: endpoint.url })
    endpoint.answer = () => ({ status: 500 })
    for (let i = 0; i < 30; i++) await cl.call('tax')
    assert.deepEqual(cl.circuit(resource), { state: 'closed', failureCount: 30 })
    assert.deepEqual(cl.notifications.map((n) => [n.kind, n.failureCount]), [['warning', 10]])
    const opening = await cl.call('tax')
    assert.deepEqual(opening.circuit, { state: 'open', failureCount: 31 })
    assert.deepEqual(cl.notifications.map((n) => [n.kind, n.failureCount]), [['warning', 10], ['open', 31]])

    endpoint.answer = () => ({ status: 200, body: { success: true, data: { tax_rate: 0.1 } } })
    const received = endpoint.received.length
    const skipped = await cl.call('tax')
    assert.equal(skipped.skipped, true)
    assert.equal(skipped.failure, 'circuit-open')
    assert.equal(endpoint.received.length, received, 'nothing sent while open')
    assert.deepEqual(skipped.circuit, { state: 'open', failureCount: 32 })
    assert.equal(skipped.api.status, 200, 'tax: skipped with 200')

    const token = await tokenFor(cl)
    const reset = await fetch(`${cl.url}/api/external_tax_calculators/${resource.id}`, {
      method: 'PATCH',
      headers: { accept: 'application/vnd.api+json', 'content-type': 'application/vnd.api+json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ data: { type: 'external_tax_calculators', id: resource.id, attributes: { _reset_circuit: true } } }),
    })
    assert.equal(reset.status, 200)
    const attributes = ((await reset.json()) as Doc).data.attributes
    assert.deepEqual([attributes.circuit_state, attributes.circuit_failure_count], ['closed', 0])
    const after = await cl.call('tax')
    assert.equal(after.failure, undefined)
    assert.equal(endpoint.received.length, received + 1)
  })

  test('a success before the threshold resets the count; a timeout counts; a business error does not', async () => {
    const { resource } = cl.configure('promotion', { url: endpoint.url })
    endpoint.answer = () => ({ status: 200, body: {}, delayMs: 1000 })
    await cl.call('promotion')
    endpoint.answer = () => ({ status: 422, body: { success: false, error: { code: 'NO', message: 'not eligible' } } })
    await cl.call('promotion')
    assert.deepEqual(cl.circuit(resource), { state: 'closed', failureCount: 1 })
    endpoint.answer = () => ({ status: 200, body: { success: true, data: { name: 'p', discount_cents: 1 } } })
    await cl.call('promotion')
    assert.deepEqual(cl.circuit(resource), { state: 'closed', failureCount: 0 })
  })

  test('price breakers live on each line item, open with a 422 to every caller', async () => {
    cl.configure('price', { url: endpoint.url })
    endpoint.answer = () => ({ status: 502 })
    let last
    for (let i = 0; i < 32; i++) last = await cl.call('price')
    assert.deepEqual(last?.circuit, { state: 'open', failureCount: 32 })
    assert.equal(last?.api.status, 422)
    assert.deepEqual(last?.owner, { type: 'line_items', id: cl.sample.lineItems[0]?.id })
    const other = await cl.call('price', { id: cl.sample.lineItems[1]?.id as string })
    assert.deepEqual(other.circuit, { state: 'closed', failureCount: 1 })
  })
})

async function tokenFor(simulator: CommerceLayerSimulator): Promise<string> {
  const response = await fetch(simulator.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: simulator.credentials.clientId, client_secret: simulator.credentials.clientSecret }),
  })
  return ((await response.json()) as { access_token: string }).access_token
}
