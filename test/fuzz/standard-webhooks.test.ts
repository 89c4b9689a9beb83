/**
 * Fuzzes the `standard-webhooks` source's verifier and parser directly (no server, many runs):
 * anything unsigned or badly signed is 401, anything validly signed is either events or a 400 with
 * a reason, and no input makes it throw anything else. Size: `FUZZ_RUNS=<factor>` multiplies every property's runs (test/fuzz/fuzz.ts).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { signStandardWebhook, standardWebhooks } from '../../src/sources/standard-webhooks/index.ts'
import { bodies, carries, headerGarbage, headerVariants } from './arbitraries.ts'
import { assertRefused, headersOf, outcome, runs } from './fuzz.ts'

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const OTHER_SECRET = 'whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA=='
const NOW = 1_760_000_000_000
const TS = Math.floor(NOW / 1000)
const source = standardWebhooks.create('fuzz', standardWebhooks.configSchema.parse({ secrets: [SECRET] }))
const template = { type: 'order.created', data: { id: 42, lines: [{ sku: 'A', qty: 1 }], note: 'x' } }
const url = new URL('http://127.0.0.1/events/fuzz')
const receive = (headers: Headers, body: Uint8Array) => outcome(() => source.receive({ method: 'POST', url, headers, body }, NOW))

const genuineHeaders = (body: Uint8Array, id = 'msg_fuzz') => ({
  'webhook-id': id,
  'webhook-timestamp': String(TS),
  'webhook-signature': signStandardWebhook(SECRET, id, TS, body),
})

describe('fuzz: standard-webhooks source', () => {
  it('refuses anything not signed with the secret: 401, whatever the body and headers', async () => {
    const badSignature = fc.oneof(
      headerGarbage,
      fc.base64String({ minLength: 44, maxLength: 44 }).map((b64) => `v1,${b64}`),
      fc.constant('sign-with-other-secret'),
      fc.constant('sign-other-body'),
    )
    await fc.assert(
      fc.asyncProperty(bodies(template), badSignature, fc.constantFrom(TS, TS - 301, TS + 301, 0), async (body, signature, ts) => {
        const otherBody = new TextEncoder().encode('{"type":"order.created"}')
        // A body that happens to be the other body is genuinely signed: not this property's case.
        if (signature === 'sign-other-body' && ts === TS && Buffer.from(body).equals(otherBody)) return
        const value =
          signature === 'sign-with-other-secret'
            ? signStandardWebhook(OTHER_SECRET, 'msg_fuzz', ts, body)
            : signature === 'sign-other-body'
              ? signStandardWebhook(SECRET, 'msg_fuzz', ts, otherBody)
              : signature
        const headers = headersOf({ 'webhook-id': 'msg_fuzz', 'webhook-timestamp': String(ts), 'webhook-signature': value })
        assertRefused(await receive(headers, body), [401], 'unsigned body')
      }),
      runs(300),
    )
  })

  it('answers every validly signed body with events or a 400 with a reason, never a 401 or a crash', async () => {
    await fc.assert(
      fc.asyncProperty(bodies(template), async (body) => {
        const result = await receive(headersOf(genuineHeaders(body)), body)
        if (result.ok) {
          // Accepted only when the body really is a JSON object with a string type.
          assert.equal(result.value.length, 1)
          assert.equal(typeof result.value[0]!.type, 'string')
          assert.deepEqual(result.value[0]!.payload, JSON.parse(new TextDecoder().decode(body)))
        } else assertRefused(result, [400], 'signed body')
      }),
      runs(400),
    )
  })

  it('accepts a request with altered headers only while it still carries the genuine id, timestamp and signature', async () => {
    const body = new TextEncoder().encode(JSON.stringify(template))
    const genuine = genuineHeaders(body)
    await fc.assert(
      fc.asyncProperty(headerVariants(genuine), async (variant) => {
        const result = await receive(headersOf(variant), body)
        if (result.ok) {
          assert.ok(carries(variant, 'webhook-signature', genuine['webhook-signature']), 'accepted without the genuine signature')
          assert.equal(result.value[0]!.id, 'msg_fuzz')
        } else assertRefused(result, [401], 'altered headers')
      }),
      runs(300),
    )
  })
})
