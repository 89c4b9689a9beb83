/**
 * Fuzzes every Commerce Layer external resource kind's payload handling directly (no server, many
 * runs): the signature check refuses anything unsigned (401) before parsing; an authentic body is
 * parsed into the handler's input or refused with a 400; JSON:API documents with random
 * relationships and includes parse into inputs that serialize; and the answer check, documented
 * as never throwing, never throws. Size: `FUZZ_RUNS=<factor>` multiplies every property's runs (test/fuzz/fuzz.ts).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { commerceLayer } from '../../src/sources/commerce-layer/external/index.ts'
import type { ExternalKind } from '../../src/sources/external.ts'
import { bodies, headerGarbage } from './arbitraries.ts'
import { assertRefused, headersOf, outcome, runs } from './fuzz.ts'

const SECRET = 'cl_external_secret_for_fuzzing'
const options = { secrets: SECRET }
const none = () => ({}) as never
/** Each kind, with the `data.type` Commerce Layer calls it with. */
const KINDS: [ExternalKind, string][] = [
  [commerceLayer.price(none, options).kind, 'line_items'],
  [commerceLayer.tax(none, options).kind, 'orders'],
  [commerceLayer.promotion(none, options).kind, 'orders'],
  [commerceLayer.orderValidation(none, options).kind, 'orders'],
  [commerceLayer.shipping(none, options).kind, 'shipments'],
  [commerceLayer.payment.authorize(none, options).kind, 'external_payments'],
  [commerceLayer.payment.capture(none, options).kind, 'authorizations'],
  [commerceLayer.payment.void(none, options).kind, 'authorizations'],
  [commerceLayer.payment.refund(none, options).kind, 'captures'],
  [commerceLayer.payment.customerToken(none, options).kind, 'customer_payment_sources'],
]
const kind = fc.constantFrom(...KINDS)
const url = new URL('http://127.0.0.1/external/fuzz')
const request = (body: Uint8Array, signature: string) => ({ method: 'POST', url, headers: headersOf({ 'x-commercelayer-signature': signature }), body })

function document(type: string) {
  return {
    data: {
      id: 'r1',
      type,
      attributes: { sku_code: 'SKU', quantity: 2, currency_code: 'EUR', total_amount_cents: 1000, customer_email: 'a@example.com' },
      relationships: { order: { data: { type: 'orders', id: 'o1' } }, line_items: { data: [{ type: 'line_items', id: 'l1' }] } },
      meta: { mode: 'test', organization_id: 'org' },
    },
    included: [
      { id: 'o1', type: 'orders', attributes: { currency_code: 'EUR' }, relationships: { market: { data: { type: 'markets', id: 'm1' } } } },
      { id: 'l1', type: 'line_items', attributes: { sku_code: 'SKU', total_amount_cents: 1000 } },
    ],
  }
}

/** JSON:API-shaped documents whose every part may be of the wrong shape or point anywhere. */
const identifier = fc.record({ type: fc.constantFrom('orders', 'line_items', 'markets', ''), id: fc.oneof(fc.constantFrom('o1', 'l1', 'm1', 'r1'), fc.integer(), fc.jsonValue()) })
const resource = (type: fc.Arbitrary<unknown>) =>
  fc.record(
    {
      id: fc.oneof(fc.constantFrom('o1', 'l1', 'm1', 'r1'), fc.jsonValue()),
      type,
      attributes: fc.oneof(fc.dictionary(fc.constantFrom('sku_code', 'quantity', 'order', 'toJSON', '__proto__', 'id', 'type', 'line_items', 'x'), fc.jsonValue({ maxDepth: 2 })), fc.jsonValue({ maxDepth: 1 })),
      relationships: fc.oneof(
        fc.dictionary(fc.constantFrom('order', 'market', 'line_items', 'toJSON', '__proto__', 'id'), fc.oneof(fc.record({ data: fc.oneof(identifier, fc.array(identifier, { maxLength: 3 }), fc.constant(null)) }), fc.jsonValue({ maxDepth: 1 }))),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      meta: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  )

describe('fuzz: Commerce Layer external resource kinds', () => {
  it('refuse every call not signed with the secret (401) before reading its body', async () => {
    const badSignature = fc.oneof(headerGarbage, fc.base64String({ minLength: 44, maxLength: 44 }), fc.constant('other-secret'))
    await fc.assert(
      fc.asyncProperty(kind.chain(([k, type]) => fc.tuple(fc.constant(k), bodies(document(type)))), badSignature, async ([k, body], signature) => {
        const value = signature === 'other-secret' ? commerceLayer.sign('not_the_secret', body) : signature
        assertRefused(await outcome(() => k.verifier!([SECRET])(request(body, value))), [401], `${k.kind}: unsigned call`)
      }),
      runs(300),
    )
  })

  it('parse every authentic body into an input or refuse it with a 400', async () => {
    await fc.assert(
      fc.asyncProperty(kind.chain(([k, type]) => fc.tuple(fc.constant(k), fc.constant(type), bodies(document(type)))), async ([k, type, body]) => {
        const signed = request(body, commerceLayer.sign(SECRET, body))
        k.verifier!([SECRET])(signed)
        const result = await outcome(() => k.parse(body, signed))
        if (!result.ok) return assertRefused(result, [400], `${k.kind}: signed body`)
        // The customer-token kind's data.type is UNVERIFIED, so it takes any.
        if (k.kind !== 'payment.customer-token') assert.equal(result.value.input.type, type)
      }),
      runs(400),
    )
  })

  it('parse JSON:API documents with random relationships and includes into inputs that serialize', async () => {
    const documents = fc.record(
      { data: fc.oneof(resource(fc.constantFrom(...new Set(KINDS.map(([, type]) => type)))), fc.jsonValue({ maxDepth: 1 })), included: fc.oneof(fc.array(resource(fc.constantFrom('orders', 'line_items', 'markets', 7)), { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })), meta: fc.jsonValue({ maxDepth: 1 }) },
      { requiredKeys: [] },
    )
    await fc.assert(
      fc.asyncProperty(kind, documents, async ([k], doc) => {
        const body = new TextEncoder().encode(JSON.stringify(doc))
        const result = await outcome(() => k.parse(body, request(body, commerceLayer.sign(SECRET, body))))
        if (!result.ok) return assertRefused(result, [400], `${k.kind}: JSON:API document`)
        // Relationships may form cycles; toJSON writes them as identifiers, so this must not throw.
        JSON.stringify(result.value.input)
        try {
          k.sameInput(result.value.input)
        } catch {
          // Allowed: the runtime falls back to the body's digest when sameInput throws.
        }
      }),
      runs(300),
    )
  })

  it('check any answer without throwing, and write envelopes that serialize', async () => {
    const body = (type: string) => new TextEncoder().encode(JSON.stringify(document(type)))
    const refusal = fc.record({ status: fc.integer({ min: 400, max: 599 }), code: fc.string(), message: fc.string(), data: fc.option(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), { nil: undefined }) })
    await fc.assert(
      fc.asyncProperty(kind, fc.anything({ maxDepth: 3, withNullPrototype: true, withBigInt: false }), refusal, async ([k, type], answer, refused) => {
        const { input } = k.parse(body(type), request(body(type), ''))
        const checked = k.check(answer, input)
        if (checked.ok) JSON.stringify(k.success(checked.answer, input).body)
        else assert.ok(typeof checked.problem === 'string' && checked.problem !== '')
        const { data, ...rest } = refused
        const reply = k.refusal({ ...rest, ...(data ? { data } : {}) }, Math.random() < 0.5 ? input : undefined)
        assert.ok(reply.status >= 400)
        JSON.stringify(reply.body)
      }),
      runs(300),
    )
  })
})
