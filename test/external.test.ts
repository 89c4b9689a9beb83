/**
 * POST /external/<name> over real HTTP on 127.0.0.1 with a real SQLite file: every Commerce Layer
 * kind's success and error envelopes, signatures as @commercelayer/sdk-utils checks them, handlers
 * that hang, throw or answer wrongly, fallbacks, the breaker mirror, and recording off the
 * response path.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { webhooks } from '@commercelayer/sdk-utils'
import { PaymentUpdateError } from '../src/index.ts'
import { loadProject } from '../src/runtime/project.ts'
import { sendPaymentUpdate } from '../src/sources/commerce-layer/external/payment-update.ts'
import { signCommerceLayer } from '../src/sources/commerce-layer/signature.ts'
import { eventually, makeProject, start } from './helpers.ts'

const SECRET = 'cl_shared_secret_for_tests_0001'
const DEADLINE_MS = 400
const calls = ((globalThis as any).__externalCalls = { price: 0, breaker: 0 })
const flags = ((globalThis as any).__externalFlags = { flaky: false, breakerOk: false })

// price and breaker share counters and flags with these tests through globalThis, so they run
// inline (on this thread); the other kinds run on handler threads, the default.
const header = `import { commerceLayer, env, ExternalResourceError } from 'storehook'
const forever = () => new Promise(() => {})
const calls = globalThis.__externalCalls
const flags = globalThis.__externalFlags
`
const options = (extra = '') => `{ secrets: env('CL_SHARED_SECRET'), deadlineMs: ${DEADLINE_MS}${extra} }`

const project = makeProject({
  '.env': `CL_SHARED_SECRET="old_secret ${SECRET}"\n`,
  'storehook.config.ts': `import { defineConfig } from 'storehook'
export default defineConfig({ server: { bodyLimitBytes: 65536 } })`,
  'external/price.ts': `${header}
export default commerceLayer.price(async (lineItem, { signal }) => {
  calls.price++
  switch (lineItem.sku_code) {
    case 'HANG': return forever()
    case 'THROW': throw new Error('pricing service said: secret-internal-detail')
    case 'FLOAT': return { unit_amount_cents: 49.9 }
    case 'STRING_SUCCESS': return { success: 'true', data: { unit_amount_cents: 1 } }
    case 'SOLD_OUT': throw new ExternalResourceError('OUT_OF_STOCK', 'sold out')
    case 'FLAKY': if (flags.flaky) return forever(); break
    case 'LATE': await new Promise((r) => setTimeout(r, ${DEADLINE_MS} + 100)); return { unit_amount_cents: 777 }
  }
  return { unit_amount_cents: 4900, compare_at_amount_cents: 5900, metadata: { currency: lineItem.order?.currency_code } }
}, ${options(", isolation: 'inline', fallback: { lastGood: true }")})`,
  'external/order-validation.ts': `${header}
export default commerceLayer.orderValidation((order) => {
  if (order.customer_email === 'blocked@example.com') return { errors: { customer_email: 'is blocked' }, code: 'BLOCKED' }
  if (order.customer_email === 'hang@example.com') return forever()
}, ${options()})`,
  'external/shipping.ts': `${header}
export default commerceLayer.shipping((shipment) => {
  if (shipment.skus_count === 0) throw new ExternalResourceError('EMPTY', 'nothing to ship', { status: 400 })
  if (shipment.skus_count === 99) throw new Error('carrier down')
  return { shipping_amount_cents: shipment.skus_count > 3 ? 0 : 700 }
}, ${options(", fallback: { answer: (shipment) => ({ shipping_amount_cents: 900 + (shipment.skus_count ?? 0) }) }")})`,
  'external/promotion.ts': `${header}
export default commerceLayer.promotion((order) => {
  const ids = order.line_items.map((li) => li.id)
  switch (order.coupon_code) {
    case 'ALL': return { name: 'Ten off', discount_cents: 1000 }
    case 'SOME': return { name: 'Ten off some', discount_cents: 1000, line_items: [{ id: ids[0] }] }
    case 'EACH': return { name: 'Per item', line_items: ids.map((id) => ({ id, discount_cents: 100 })) }
    case 'HALF': return { name: 'Broken', line_items: ids.map((id, i) => (i === 0 ? { id, discount_cents: 100 } : { id })) }
  }
  return { name: 'None', discount_cents: 0 }
}, ${options()})`,
  'external/tax.ts': `${header}
export default commerceLayer.tax((order) => {
  if (order.currency_code === 'HANG') return forever()
  if (order.currency_code === 'PCT') return { tax_rate: 22 }
  return {
    freight_taxable: true,
    line_items: order.line_items.map((li) => ({ id: li.id, tax_rate: 0.22, tax_collectable: (li.total_amount_cents * 0.22) / 100, taxable_amount: li.total_amount_cents / 100 })),
  }
}, ${options(', fallback: { answer: { tax_rate: 0.2 } }')})`,
  'external/payment/authorize.ts': `${header}
export default commerceLayer.payment.authorize((payment) => {
  const amount = payment.order.total_amount_with_taxes_cents
  if (payment.payment_source_token === 'tok_declined') throw new ExternalResourceError('CARD_DECLINED', 'The card was declined')
  if (payment.payment_source_token === 'tok_async') return { transaction_token: 'txn_async', amount_cents: amount, action_id: 'act_' + payment.id }
  if (payment.payment_source_token === 'tok_hang') return forever()
  return { transaction_token: 'txn_' + payment.id, amount_cents: amount, metadata: { psp: 'test' } }
}, ${options(", fallback: { error: { code: 'GATEWAY_UNAVAILABLE', message: 'try again' } }")})`,
  'external/payment/capture.ts': `${header}
export default commerceLayer.payment.capture((a) => ({ transaction_token: 'cap_' + a.token, amount_cents: a.amount_cents }), ${options()})`,
  'external/payment/void.ts': `${header}
export default commerceLayer.payment.void((a) => ({ transaction_token: 'void_' + a.token }), ${options()})`,
  'external/payment/refund.ts': `${header}
export default commerceLayer.payment.refund((c) => { throw new ExternalResourceError('REFUND_REFUSED', 'too late', { data: { amount_cents: 0 } }) }, ${options()})`,
  'external/payment/token.ts': `${header}
export default commerceLayer.payment.customerToken((source) => ({ customer_token: 'cus_' + source.id }), ${options()})`,
  'external/breaker.ts': `${header}
export default commerceLayer.price(() => {
  calls.breaker++
  if (!flags.breakerOk) throw new Error('down')
  return { unit_amount_cents: 1 }
}, ${options(", isolation: 'inline'")})`,
  'external/_helper.ts': 'export const ignored = true',
})

const storehook = await start({ project })
const { url, runtime } = storehook
const admin = async (path: string) => (await fetch(`${url}/admin/api${path}`)).json() as Promise<any>

/** A JSON:API document as Commerce Layer sends it, serialized compactly. */
function document(type: string, id: string, attributes: object, relationships: Record<string, unknown> = {}, included: object[] = []) {
  const rel = Object.fromEntries(Object.entries(relationships).map(([name, data]) => [name, { links: { self: `/api/${type}/${id}/relationships/${name}` }, data }]))
  return JSON.stringify({
    data: { id, type, links: { self: `/api/${type}/${id}` }, attributes: { ...attributes, updated_at: new Date().toISOString() }, relationships: rel, meta: { mode: 'test', organization_id: 'orgTest' } },
    included,
  })
}
const lineItem = (sku: string, currency = 'EUR') =>
  document('line_items', `li_${sku}`, { sku_code: sku, quantity: 1, _external_price: true }, { order: { type: 'orders', id: 'o1' } }, [
    { id: 'o1', type: 'orders', attributes: { currency_code: currency }, relationships: { market: { data: { type: 'markets', id: 'm1' } } } },
    { id: 'm1', type: 'markets', attributes: { code: 'eu' } },
  ])
const order = (attributes: object, lineItems = [{ id: 'la', total_amount_cents: 1000 }, { id: 'lb', total_amount_cents: 2000 }]) =>
  document(
    'orders',
    'o1',
    { currency_code: 'EUR', ...attributes },
    { line_items: lineItems.map(({ id }) => ({ type: 'line_items', id })), market: { type: 'markets', id: 'm1' } },
    [...lineItems.map(({ id, total_amount_cents }) => ({ id, type: 'line_items', attributes: { sku_code: `SKU_${id}`, quantity: 1, total_amount_cents, item_type: 'skus' } })), { id: 'm1', type: 'markets', attributes: {} }],
  )

async function call(name: string, body: string, { secret = SECRET, signature }: { secret?: string; signature?: string } = {}) {
  const started = performance.now()
  const response = await fetch(`${url}/external/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-commercelayer-signature': signature ?? signCommerceLayer(secret, body) },
    body,
  })
  const text = await response.text()
  return { status: response.status, body: JSON.parse(text), ms: performance.now() - started, contentType: response.headers.get('content-type') }
}

describe('POST /external/<name>: envelopes of every kind', () => {
  it('price: the documented success envelope, included resources resolved', async () => {
    const answer = await call('price', lineItem('TSHIRT'))
    assert.equal(answer.status, 200)
    assert.match(answer.contentType!, /^application\/json/)
    assert.deepEqual(answer.body, { success: true, data: { sku_code: 'TSHIRT', unit_amount_cents: 4900, compare_at_amount_cents: 5900, metadata: { currency: 'EUR' } } })
  })

  it('price: a deliberate refusal is the error envelope with its status', async () => {
    const answer = await call('price', lineItem('SOLD_OUT'))
    assert.equal(answer.status, 422)
    assert.deepEqual(answer.body, { success: false, error: { code: 'OUT_OF_STOCK', message: 'sold out' } })
  })

  it('order-validation: {} when valid, attribute errors in data with ≥ 400 when not', async () => {
    assert.deepEqual(await call('order-validation', order({ customer_email: 'ok@example.com' })).then((a) => [a.status, a.body]), [200, { success: true, data: {} }])
    const invalid = await call('order-validation', order({ customer_email: 'blocked@example.com' }))
    assert.equal(invalid.status, 422)
    assert.deepEqual(invalid.body, { success: false, data: { customer_email: 'is blocked' }, error: { code: 'BLOCKED', message: 'customer_email is blocked' } })
  })

  it('shipping: success, refusal, and a function fallback when the handler throws', async () => {
    const shipment = (skus: number) => document('shipments', 's1', { skus_count: skus, currency_code: 'EUR' }, { shipping_method: { type: 'shipping_methods', id: 'sm1' } })
    assert.deepEqual((await call('shipping', shipment(5))).body, { success: true, data: { shipping_amount_cents: 0 } })
    const refused = await call('shipping', shipment(0))
    assert.deepEqual([refused.status, refused.body], [400, { success: false, error: { code: 'EMPTY', message: 'nothing to ship' } }])
    const fallback = await call('shipping', shipment(99))
    assert.deepEqual([fallback.status, fallback.body], [200, { success: true, data: { shipping_amount_cents: 999 } }])
  })

  it('promotion: the three shapes, and the all-or-none rule enforced', async () => {
    assert.deepEqual((await call('promotion', order({ coupon_code: 'ALL' }))).body, { success: true, data: { name: 'Ten off', discount_cents: 1000 } })
    assert.deepEqual((await call('promotion', order({ coupon_code: 'SOME' }))).body.data.line_items, [{ id: 'la' }])
    assert.deepEqual((await call('promotion', order({ coupon_code: 'EACH' }))).body.data.line_items, [{ id: 'la', discount_cents: 100 }, { id: 'lb', discount_cents: 100 }])
    const broken = await call('promotion', order({ coupon_code: 'HALF' }))
    assert.equal(broken.status, 422)
    assert.equal(broken.body.success, false)
    assert.equal(broken.body.error.code, 'INVALID_ANSWER')
    assert.match(broken.body.error.message, /all of them or for none/)
  })

  it('tax: per-line rates with tax_collectable in major units; an invalid rate falls back to the static answer', async () => {
    const taxed = await call('tax', order({}))
    assert.equal(taxed.status, 200)
    assert.deepEqual(taxed.body.data.line_items[1], { id: 'lb', tax_rate: 0.22, tax_collectable: 4.4, taxable_amount: 20 })
    assert.equal(taxed.body.data.freight_taxable, true)
    const percent = await call('tax', order({ currency_code: 'PCT' }))
    assert.deepEqual([percent.status, percent.body], [200, { success: true, data: { tax_rate: 0.2 } }])
  })

  it('payment authorize: a token, a decline under data.error, and the asynchronous 202 with action_id', async () => {
    const payment = (token: string) =>
      document('external_payments', `pay_${token}`, { payment_source_token: token }, { order: { type: 'orders', id: 'o1' } }, [
        { id: 'o1', type: 'orders', attributes: { total_amount_with_taxes_cents: 12900 } },
      ])
    const ok = await call('payment/authorize', payment('tok_ok'))
    assert.deepEqual([ok.status, ok.body], [200, { success: true, data: { transaction_token: 'txn_pay_tok_ok', amount_cents: 12900, metadata: { psp: 'test' } } }])
    const declined = await call('payment/authorize', payment('tok_declined'))
    assert.deepEqual([declined.status, declined.body], [
      422,
      { success: false, data: { transaction_token: 'tok_declined', amount_cents: 12900, error: { code: 'CARD_DECLINED', message: 'The card was declined' } } },
    ])
    const pending = await call('payment/authorize', payment('tok_async'))
    assert.deepEqual([pending.status, pending.body], [202, { success: true, data: { transaction_token: 'txn_async', amount_cents: 12900, action_id: 'act_pay_tok_async' } }])
    const hung = await call('payment/authorize', payment('tok_hang'))
    assert.deepEqual([hung.status, hung.body], [422, { success: false, data: { transaction_token: 'tok_hang', amount_cents: 12900, error: { code: 'GATEWAY_UNAVAILABLE', message: 'try again' } } }])
  })

  it('payment capture, void, refund and customer token', async () => {
    const authorization = document('authorizations', 'au1', { token: 'auth_tok', amount_cents: 5000 })
    assert.deepEqual((await call('payment/capture', authorization)).body, { success: true, data: { transaction_token: 'cap_auth_tok', amount_cents: 5000 } })
    assert.deepEqual((await call('payment/void', authorization)).body, { success: true, data: { transaction_token: 'void_auth_tok' } })
    const refund = await call('payment/refund', document('captures', 'ca1', { token: 'cap_tok', amount_cents: 5000 }))
    assert.deepEqual([refund.status, refund.body], [422, { success: false, data: { transaction_token: 'cap_tok', amount_cents: 0, error: { code: 'REFUND_REFUSED', message: 'too late' } } }])
    assert.deepEqual((await call('payment/token', document('customer_payment_sources', 'cps1', {}))).body, { success: true, data: { customer_token: 'cus_cps1' } })
    const wrongType = await call('payment/capture', document('captures', 'ca1', {}))
    assert.deepEqual([wrongType.status, wrongType.body.data.error.code], [400, 'MALFORMED_REQUEST'])
  })
})

describe('POST /external/<name>: signatures, checked before any user code', () => {
  it('accepts a body whose signature @commercelayer/sdk-utils accepts, with any configured secret', async () => {
    const body = lineItem('TSHIRT')
    const signature = signCommerceLayer(SECRET, body)
    assert.equal(webhooks.checkSignature(body, { 'x-commercelayer-signature': signature }, SECRET).ok, true)
    assert.equal((await call('price', body, { signature })).status, 200)
    assert.equal((await call('price', body, { secret: 'old_secret' })).status, 200)
  })

  it('answers 401 to a bad, hex or missing signature, and runs no handler', async () => {
    const before = calls.price
    const body = lineItem('TSHIRT')
    const forged = signCommerceLayer('not-the-secret', body)
    assert.equal(webhooks.checkSignature(body, forged, SECRET).ok, false)
    for (const signature of [forged, Buffer.from(signCommerceLayer(SECRET, body), 'base64').toString('hex'), '']) {
      const answer = await call('price', body, { signature })
      assert.equal(answer.status, 401)
      assert.equal(answer.body.success, false)
      assert.equal(answer.body.error.code, 'INVALID_SIGNATURE')
    }
    const tampered = await call('price', body.replace('TSHIRT', 'TSHIRU'), { signature: signCommerceLayer(SECRET, body) })
    assert.equal(tampered.status, 401)
    assert.equal(calls.price, before)
  })

  it('answers 400 to malformed JSON:API, 404 to an unknown resource, 413 over the limit: all as envelopes', async () => {
    const before = calls.price
    const malformed = await call('price', '{"data": [')
    assert.deepEqual([malformed.status, malformed.body.error.code], [400, 'MALFORMED_REQUEST'])
    const noType = await call('price', '{"data":{"id":"x"}}')
    assert.equal(noType.status, 400)
    const unknown = await call('nope', lineItem('TSHIRT'))
    assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'UNKNOWN_RESOURCE'])
    assert.equal((await call('_helper', lineItem('TSHIRT'))).status, 404)
    const big = await call('price', JSON.stringify({ data: { id: 'x', type: 'line_items', attributes: { pad: 'x'.repeat(70_000) } } }))
    assert.deepEqual([big.status, big.body.error.code], [413, 'PAYLOAD_TOO_LARGE'])
    assert.equal(calls.price, before)
  })
})

describe('POST /external/<name>: always a valid envelope before the deadline', () => {
  for (const [sku, code] of [['HANG', 'TIMEOUT'], ['THROW', 'HANDLER_ERROR'], ['FLOAT', 'INVALID_ANSWER'], ['STRING_SUCCESS', 'INVALID_ANSWER']] as const) {
    it(`a handler that ${sku === 'HANG' ? 'hangs' : sku === 'THROW' ? 'throws' : 'answers wrongly'} (${sku}) gets a clean 4xx error envelope`, async () => {
      const answer = await call('price', lineItem(sku))
      assert.equal(answer.status, 422)
      assert.equal(answer.body.success, false)
      assert.equal(answer.body.error.code, code)
      assert.equal(typeof answer.body.error.message, 'string')
      assert.doesNotMatch(answer.body.error.message, /secret-internal-detail/)
      assert.ok(answer.ms < DEADLINE_MS + 250, `answered after ${Math.round(answer.ms)} ms`)
    })
  }

  it('order validation that hangs still answers (an error envelope), within the deadline', async () => {
    const answer = await call('order-validation', order({ customer_email: 'hang@example.com' }))
    assert.equal(answer.status, 422)
    assert.ok(answer.ms >= DEADLINE_MS - 20 && answer.ms < DEADLINE_MS + 250)
  })

  it('answers with the last good answer for the same input when the handler stops answering', async () => {
    flags.flaky = false
    const good = await call('price', lineItem('FLAKY'))
    assert.equal(good.body.data.unit_amount_cents, 4900)
    flags.flaky = true
    const remembered = await call('price', lineItem('FLAKY'))
    assert.deepEqual([remembered.status, remembered.body], [200, good.body])
    const other = await call('price', lineItem('FLAKY', 'USD'))
    assert.equal(other.status, 422, 'another currency is another input: no last good answer')
    const { calls: recorded } = await eventually(async () => {
      const listed = await admin('/external/calls?resource=price&fallback=last-good')
      return listed.calls.length > 0 && listed
    })
    assert.equal(recorded[0].outcome, 'timeout')
    assert.deepEqual(recorded[0].answer, good.body)
  })

  it('keeps a late answer as the last good one for the next call', async () => {
    const first = await call('price', lineItem('LATE'))
    assert.equal(first.status, 422)
    await sleep(200)
    const second = await call('price', lineItem('LATE'))
    assert.deepEqual([second.status, second.body.data.unit_amount_cents], [200, 777])
  })

  it('answers in time with a static fallback when the tax handler hangs', async () => {
    const answer = await call('tax', order({ currency_code: 'HANG' }))
    assert.deepEqual([answer.status, answer.body], [200, { success: true, data: { tax_rate: 0.2 } }])
    assert.ok(answer.ms < DEADLINE_MS + 250)
  })
})

describe('breaker awareness', () => {
  const state = async () => (await admin('/external')).resources.find((r: any) => r.name === 'breaker').breaker
  it('counts consecutive failures as Commerce Layer does: warning at 10, open above 30, reset by a success', async () => {
    flags.breakerOk = false
    for (let i = 0; i < 10; i++) await call('breaker', lineItem('X'))
    assert.deepEqual([(await state()).state, (await state()).consecutiveFailures], ['warning', 10])
    for (let i = 0; i < 21; i++) await call('breaker', lineItem('X'))
    const open = await state()
    assert.deepEqual([open.state, open.consecutiveFailures], ['open', 31])
    const metrics = await (await fetch(`${url}/metrics`)).text()
    assert.match(metrics, /storehook_external_consecutive_failures\{resource="breaker"\} 31/)
    assert.match(metrics, /storehook_external_breaker_state\{resource="breaker"\} 2/)
    assert.ok(storehook.logs.some((line) => line.includes('circuit is presumably open')))
    flags.breakerOk = true
    await call('breaker', lineItem('X'))
    assert.deepEqual([(await state()).state, (await state()).consecutiveFailures], ['closed', 0])
    const reset = await (await fetch(`${url}/admin/api/external/reset-breaker?resource=breaker`, { method: 'POST' })).json() as any
    assert.equal(reset.breaker.consecutiveFailures, 0)
  })

  it('lists every resource with its options in the admin API', async () => {
    const { resources, recording } = await admin('/external')
    assert.equal(recording, true)
    assert.deepEqual(resources.map((r: any) => r.name).sort(), [
      'breaker', 'order-validation', 'payment/authorize', 'payment/capture', 'payment/refund', 'payment/token', 'payment/void', 'price', 'promotion', 'shipping', 'tax',
    ])
    const price = resources.find((r: any) => r.name === 'price')
    assert.equal(price.kind, 'commerce-layer/price')
    assert.equal(price.deadlineMs, DEADLINE_MS)
    assert.equal(price.secrets, 2)
    assert.doesNotMatch(JSON.stringify(resources), new RegExp(SECRET))
  })
})

describe('recording', () => {
  it('records every call with its input digest, answer, duration, outcome and fallback', async () => {
    const sent = await call('promotion', order({ coupon_code: 'ALL' }))
    const { calls: [record] } = await eventually(async () => {
      const listed = await admin('/external/calls?resource=promotion&limit=1')
      return listed.calls[0]?.answer?.data?.name === 'Ten off' && listed
    })
    assert.deepEqual(record.answer, sent.body)
    assert.equal(record.outcome, 'answered')
    assert.equal(record.fallback, 'none')
    assert.equal(record.status, 200)
    assert.match(record.inputDigest, /^[0-9a-f]{64}$/)
    assert.ok(record.durationMs > 0 && record.durationMs < 1000)
  })

  it('never delays the answer, even when the store is slow to record', async () => {
    const original = runtime.store.recordExternalCalls!
    runtime.store.recordExternalCalls = async (batch) => {
      await sleep(1500)
      return original(batch)
    }
    try {
      const answer = await call('price', lineItem('SLOW_STORE'))
      assert.equal(answer.status, 200)
      assert.ok(answer.ms < 300, `answered after ${Math.round(answer.ms)} ms`)
      await eventually(async () => (await admin('/external/calls?resource=price&limit=5')).calls.some((c: any) => c.answer?.data?.sku_code === 'SLOW_STORE'), 5000)
    } finally {
      runtime.store.recordExternalCalls = original
    }
  })
})

describe('sendPaymentUpdate', () => {
  const received: { signature: string; body: string }[] = []
  let status = 200
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk)).on('end', () => {
      received.push({ signature: String(request.headers['x-commercelayer-signature']), body })
      response.writeHead(status).end('{}')
    })
  })
  let endpoint = ''
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}/webhook_callbacks/external_gateways/g1`
  })
  after(() => server.close())

  it('POSTs the update signed as Commerce Layer checks it (verified with @commercelayer/sdk-utils)', async () => {
    await sendPaymentUpdate({ action_id: 'act_1', success: true, message: 'settled', transaction_token: 'txn_async' }, { url: endpoint, secret: SECRET })
    const [sent] = received
    assert.equal(webhooks.checkSignature(sent!.body, sent!.signature, SECRET).ok, true)
    assert.deepEqual(JSON.parse(sent!.body), { success: true, data: { action_id: 'act_1', transaction_token: 'txn_async', message: 'settled' } })
    await sendPaymentUpdate({ action_id: 'act_2', success: false, error: { code: 'DECLINED', message: 'no funds' } }, { url: endpoint, secret: SECRET })
    assert.deepEqual(JSON.parse(received[1]!.body), { success: false, data: { action_id: 'act_2', error: { code: 'DECLINED', message: 'no funds' } } })
  })

  it('refuses an update Commerce Layer would refuse, and reports a non-2xx answer', async () => {
    await assert.rejects(sendPaymentUpdate({ success: true } as never, { url: endpoint, secret: SECRET }), /action_id/)
    await assert.rejects(sendPaymentUpdate({ action_id: 'a', success: false }, { url: endpoint, secret: SECRET }), /needs error/)
    await assert.rejects(sendPaymentUpdate({ action_id: 'a', success: true, amount_cents: 1.5 }, { url: endpoint, secret: SECRET }), TypeError)
    status = 422
    await assert.rejects(sendPaymentUpdate({ action_id: 'a', success: true }, { url: endpoint, secret: SECRET }), (error: unknown) => error instanceof PaymentUpdateError && error.status === 422)
  })
})

describe('loading external resources', () => {
  const load = (files: Record<string, string>) => loadProject(makeProject({ 'storehook.config.ts': "export default {}", ...files }))
  it('names the file, the field and what was expected', async () => {
    await assert.rejects(load({ 'external/price.ts': `${header}export default commerceLayer.price(() => ({ unit_amount_cents: 1 }), {})` }), /external\/price\.ts \(external resource "price"\): secrets: expected the platform's shared secret/)
    await assert.rejects(load({ 'external/price.ts': `${header}export default commerceLayer.price(() => ({}), { secrets: env('CL_UNSET_FOR_TEST') })` }), /external\/price\.ts \(external resource "price"\): secrets: environment variable CL_UNSET_FOR_TEST is not set/)
    await assert.rejects(load({ 'external/tax.ts': `${header}export default commerceLayer.tax(() => ({}), { secrets: 's', deadlineMs: 2.5 })` }), /tax.ts \(external resource "tax"\): deadlineMs: expected a positive integer/)
    await assert.rejects(load({ 'external/tax.ts': `${header}export default commerceLayer.tax(() => ({}), { secrets: 's', fallback: { error: { status: 200 } } })` }), /fallback\.error\.status: expected an HTTP error status/)
    await assert.rejects(load({ 'external/tax.ts': `${header}export default commerceLayer.tax(() => ({}), { secrets: 's', deadline: 5 })` }), /deadline: unknown option/)
    await assert.rejects(load({ 'external/tax.ts': 'export default () => 1' }), /external\/tax\.ts: the default export must be an external resource/)
  })
  it('loads nested names and defaults the deadline to 2700 ms', async () => {
    const loaded = await load({ 'external/a/b.ts': `${header}export default commerceLayer.tax(() => ({ tax_rate: 0 }), { secrets: 's' })` })
    assert.deepEqual(loaded.external.map((r) => [r.name, r.deadlineMs]), [['a/b', 2700]])
  })
})
