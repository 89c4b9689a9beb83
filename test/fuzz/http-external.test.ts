/**
 * Fuzzes `POST /external/<name>` through a real storehook (HTTP on 127.0.0.1, a real SQLite
 * file) with a Commerce Layer resource of every kind, whose handlers count their calls:
 * random and broken bodies, genuine and bad signatures, headers in capitals or repeated, garbled
 * resource names. Properties: every answer comes (no hang), none is 5xx, every refusal is the
 * platform's JSON envelope with a reason, anything not genuinely signed is 401, and a handler runs
 * exactly when a call was authentic and well-formed — once — never for a refusal.
 * Size: `FUZZ_RUNS=<factor>` multiplies every property's runs (test/fuzz/fuzz.ts).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { signCommerceLayer } from '../../src/sources/commerce-layer/signature.ts'
import { makeProject, start } from '../helpers.ts'
import { bodies, headerGarbage } from './arbitraries.ts'
import { runs } from './fuzz.ts'
import { rawRequest, reasonOf } from './raw-http.ts'

const SECRET = 'cl_external_secret_for_http_fuzzing'
const calls = ((globalThis as any).__fuzzExternalCalls = { count: 0 })
const header = `import { commerceLayer, env } from 'storehook'
const calls = globalThis.__fuzzExternalCalls
const options = { secrets: env('CL_SHARED_SECRET'), deadlineMs: 1000 }`
const project = makeProject({
  '.env': `CL_SHARED_SECRET=${SECRET}\n`,
  // inline: the handlers count their calls in this thread's globalThis
  'storehook.config.ts': `import { defineConfig } from 'storehook'\nexport default defineConfig({ external: { isolation: 'inline' } })`,
  'external/price.ts': `${header}\nexport default commerceLayer.price(() => { calls.count++; return { unit_amount_cents: 100 } }, options)`,
  'external/tax.ts': `${header}\nexport default commerceLayer.tax(() => { calls.count++; return { tax_rate: 0.2 } }, options)`,
  'external/shipping.ts': `${header}\nexport default commerceLayer.shipping(() => { calls.count++; return { shipping_amount_cents: 700 } }, options)`,
  'external/promotion.ts': `${header}\nexport default commerceLayer.promotion(() => { calls.count++; return { name: 'none', discount_cents: 0 } }, options)`,
  'external/order-validation.ts': `${header}\nexport default commerceLayer.orderValidation(() => { calls.count++ }, options)`,
  'external/payment/authorize.ts': `${header}\nexport default commerceLayer.payment.authorize(() => { calls.count++; return { transaction_token: 't1' } }, options)`,
  'external/payment/capture.ts': `${header}\nexport default commerceLayer.payment.capture(() => { calls.count++; return { transaction_token: 't2' } }, options)`,
  'external/payment/void.ts': `${header}\nexport default commerceLayer.payment.void(() => { calls.count++; return { transaction_token: 't3' } }, options)`,
  'external/payment/refund.ts': `${header}\nexport default commerceLayer.payment.refund(() => { calls.count++; return { transaction_token: 't4' } }, options)`,
  'external/payment/token.ts': `${header}\nexport default commerceLayer.payment.customerToken(() => { calls.count++; return { customer_token: 'c1' } }, options)`,
})
const { url } = await start({ project })

/** Every Commerce Layer kind, by the resource name its file gives it, with the data.type it is called with. */
const RESOURCES = {
  price: 'line_items',
  tax: 'orders',
  shipping: 'shipments',
  promotion: 'orders',
  'order-validation': 'orders',
  'payment/authorize': 'external_payments',
  'payment/capture': 'authorizations',
  'payment/void': 'authorizations',
  'payment/refund': 'captures',
  'payment/token': 'customer_payment_sources',
} as const
type Name = keyof typeof RESOURCES
const document = (type: string) => ({
  data: {
    id: 'r1',
    type,
    attributes: { sku_code: 'SKU', currency_code: 'EUR', amount_cents: 100 },
    relationships: { order: { data: { type: 'orders', id: 'o1' } } },
    meta: { mode: 'test', organization_id: 'org' },
  },
  included: [{ id: 'o1', type: 'orders', attributes: { currency_code: 'EUR', total_amount_with_taxes_cents: 100 } }],
})

describe('fuzz: POST /external/<name> over HTTP', () => {
  it('runs the handler exactly for authentic, well-formed calls and refuses the rest with the envelope, never 5xx', async () => {
    const call = fc.constantFrom(...(Object.keys(RESOURCES) as Name[])).chain((name) =>
      fc.record({
        name: fc.constant(name),
        body: bodies(document(RESOURCES[name])),
        signing: fc.constantFrom('genuine', 'genuine', 'unsigned', 'forged', 'garbage'),
        shape: fc.constantFrom('as-is', 'capitals', 'repeated'),
        garbage: headerGarbage,
      }),
    )
    // First a genuine call to each resource: the setup does answer authentic calls.
    for (const [name, type] of Object.entries(RESOURCES)) {
      const body = JSON.stringify(document(type))
      const before = calls.count
      const answer = await rawRequest(url, { path: `/external/${name}`, headers: { 'x-commercelayer-signature': signCommerceLayer(SECRET, body) }, body })
      assert.equal(answer.status, 200, answer.body)
      assert.equal(calls.count, before + 1)
    }
    await fc.assert(
      fc.asyncProperty(call, async ({ name, body, signing, shape, garbage }) => {
        const signature = signing === 'genuine' ? signCommerceLayer(SECRET, body) : signing === 'forged' ? signCommerceLayer('forged', body) : garbage
        const headerName = shape === 'capitals' ? 'X-COMMERCELAYER-SIGNATURE' : 'x-commercelayer-signature'
        const headers = signing === 'unsigned' ? {} : { [headerName]: shape === 'repeated' ? [signature, garbage] : signature }
        const before = calls.count
        const answer = await rawRequest(url, { path: `/external/${name}`, headers: { ...headers, 'content-type': 'application/json' }, body })
        const what = `${signing} call to ${name} (${shape}): ${answer.status} ${answer.body.slice(0, 200)}`
        assert.ok(answer.status >= 200 && answer.status < 500, what)
        assert.match(answer.headers['content-type'] ?? '', /^application\/json/, what)
        const authentic = signing === 'genuine' && shape !== 'repeated'
        if (!authentic) assert.equal(answer.status, 401, what)
        if (answer.status === 401 || answer.status === 400) {
          assert.ok(reasonOf(answer), `no reason in the refusal: ${what}`)
          assert.equal(calls.count, before, `the handler ran for a refused call: ${what}`)
        } else {
          assert.ok(authentic, what)
          assert.equal(calls.count, before + 1, `the handler did not run exactly once: ${what}`)
        }
      }),
      runs(100),
    )
  })

  it('answers garbled and unknown resource names with a 4xx envelope', async () => {
    const segment = fc.oneof(
      fc.string({ maxLength: 30 }).map(encodeURIComponent),
      fc.constantFrom('%ZZ', '..%2fprice', 'price%00', 'price/..', '../events/sw', '%2e%2e/price', 'PRICE', 'price/', 'price%2F'),
    )
    await fc.assert(
      fc.asyncProperty(segment, async (name) => {
        const answer = await rawRequest(url, { path: `/external/${name}`, body: '{}' })
        assert.ok(answer.status >= 400 && answer.status < 500, `POST /external/${name}: ${answer.status} ${answer.body}`)
        assert.ok(reasonOf(answer), `POST /external/${name}: no JSON reason in ${answer.body}`)
      }),
      runs(60),
    )
  })
})
