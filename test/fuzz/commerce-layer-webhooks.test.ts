/**
 * Fuzzes the `commerce-layer` webhook source's verifier and parser directly (no server, many
 * runs): unsigned or badly signed is 401, validly signed is one event or a 400 with a reason, and
 * nothing else is ever thrown. Size: `FUZZ_RUNS=<factor>` multiplies every property's runs (test/fuzz/fuzz.ts).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { signCommerceLayer } from '../../src/sources/commerce-layer/signature.ts'
import { commerceLayerWebhooks } from '../../src/sources/commerce-layer/webhooks.ts'
import { bodies, carries, headerGarbage, headerVariants } from './arbitraries.ts'
import { assertRefused, headersOf, outcome, runs } from './fuzz.ts'

const SECRET = 'cl_webhook_secret_for_fuzzing'
const source = commerceLayerWebhooks.create('cl', commerceLayerWebhooks.configSchema.parse({ secrets: `old_secret ${SECRET}` }))
const template = {
  data: {
    id: 'ord_1',
    type: 'orders',
    attributes: { number: '1', status: 'placed', total_amount_cents: 1000, updated_at: '2026-01-01T00:00:00.000Z' },
    relationships: { market: { data: { type: 'markets', id: 'm1' } } },
    meta: { mode: 'test', organization_id: 'org' },
  },
  included: [{ id: 'm1', type: 'markets', attributes: { code: 'eu' } }],
}
const url = new URL('http://127.0.0.1/events/cl')
const receive = (headers: Headers, body: Uint8Array) => outcome(() => source.receive({ method: 'POST', url, headers, body }, Date.now()))
const topic = fc.oneof(fc.constant('orders.place'), headerGarbage)

describe('fuzz: commerce-layer webhook source', () => {
  it('refuses anything not signed with a configured secret: 401', async () => {
    const badSignature = fc.oneof(
      headerGarbage,
      fc.base64String({ minLength: 44, maxLength: 44 }),
      fc.constant('other-secret'),
      fc.constant('hex-digest'),
    )
    await fc.assert(
      fc.asyncProperty(bodies(template), badSignature, topic, async (body, signature, topicValue) => {
        const value =
          signature === 'other-secret'
            ? signCommerceLayer('not_the_secret', body)
            : signature === 'hex-digest'
              ? Buffer.from(signCommerceLayer(SECRET, body), 'base64').toString('hex')
              : signature
        const result = await receive(headersOf({ 'x-commercelayer-signature': value, 'x-commercelayer-topic': topicValue }), body)
        assertRefused(result, [401], 'unsigned body')
      }),
      runs(300),
    )
  })

  it('answers every validly signed body with one event or a 400, never a 401 or a crash', async () => {
    await fc.assert(
      fc.asyncProperty(bodies(template), topic, async (body, topicValue) => {
        const headers = headersOf({ 'x-commercelayer-signature': signCommerceLayer(SECRET, body), 'x-commercelayer-topic': topicValue })
        const result = await receive(headers, body)
        if (result.ok) {
          assert.equal(result.value.length, 1)
          assert.equal(result.value[0]!.type, topicValue.trim())
        } else assertRefused(result, [400], 'signed body')
      }),
      runs(400),
    )
  })

  it('accepts altered headers only while they carry the genuine signature', async () => {
    const body = new TextEncoder().encode(JSON.stringify(template))
    const genuine = { 'x-commercelayer-signature': signCommerceLayer(SECRET, body), 'x-commercelayer-topic': 'orders.place' }
    await fc.assert(
      fc.asyncProperty(headerVariants(genuine), async (variant) => {
        const result = await receive(headersOf(variant), body)
        if (result.ok) assert.ok(carries(variant, 'x-commercelayer-signature', genuine['x-commercelayer-signature']))
        // A repeated signature arrives joined ("a, b"): refused, as a real sender never repeats it.
        else assertRefused(result, carries(variant, 'x-commercelayer-signature', genuine['x-commercelayer-signature']) ? [400, 401] : [401], 'altered headers')
      }),
      runs(300),
    )
  })
})
