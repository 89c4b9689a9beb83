import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { webhooks } from '@commercelayer/sdk-utils'
import { VerificationError } from '../../core/errors.ts'
import { commerceLayerKey, signCommerceLayer, verifyCommerceLayerSignature } from './signature.ts'

// The reference's self-computed vector (shared/reference/commerce-layer.md §1).
const SECRET = '1c0994cc4e996e8c6ee56a2198f66f3c'
const BODY = '{"data":{"id":"xYZkjABcde","type":"line_items"}}'
const EXPECTED = '8RJs6hj6/+8S3jk/QAM9hmWzbRxJSJSN9j9cnIeHBpo='
const bytes = (text: string) => new TextEncoder().encode(text)
const verify = (signature: string | null, secrets: string[], body = BODY) =>
  verifyCommerceLayerSignature({
    headers: new Headers(signature === null ? {} : { 'X-CommerceLayer-Signature': signature }),
    body: bytes(body),
    secrets: secrets.map(commerceLayerKey),
  })

describe('Commerce Layer signature', () => {
  it('signs the reference vector: base64 HMAC-SHA256 keyed with the secret string as UTF-8', () => {
    assert.equal(signCommerceLayer(SECRET, bytes(BODY)), EXPECTED)
    assert.equal(signCommerceLayer(SECRET, BODY), EXPECTED)
  })

  it('verifies the reference vector, and refuses its hex form', () => {
    verify(EXPECTED, [SECRET])
    const hex = Buffer.from(EXPECTED, 'base64').toString('hex')
    assert.throws(() => verify(hex, [SECRET]), /base64 HMAC-SHA256/)
  })

  it('accepts any of several secrets (rotation) and refuses all others', () => {
    verify(EXPECTED, ['old-secret', SECRET])
    assert.throws(() => verify(EXPECTED, ['old-secret', 'other']), (error: unknown) => {
      assert.ok(error instanceof VerificationError)
      assert.equal(error.status, 401)
      assert.doesNotMatch(error.message, new RegExp(SECRET))
      return true
    })
  })

  it('refuses a missing header, a changed body, and no configured secret', () => {
    assert.throws(() => verify(null, [SECRET]), /missing x-commercelayer-signature/)
    assert.throws(() => verify(EXPECTED, [SECRET], BODY.replace('xYZ', 'xYz')), /does not match/)
    assert.throws(() => verify(EXPECTED, []), /no shared secret/)
    assert.throws(() => commerceLayerKey(''), /must not be empty/)
  })

  it('agrees with @commercelayer/sdk-utils checkSignature, both ways, on arbitrary bodies', () => {
    const bodies = [BODY, '{"data":{"id":"ü€😀","type":"orders"}}', '{ "spaced" : true }\n', '']
    for (const body of bodies) {
      const ours = signCommerceLayer(SECRET, body)
      assert.equal(webhooks.checkSignature(body, ours, SECRET).ok, true, body)
      verify(ours, [SECRET], body)
      const wrong = signCommerceLayer('another-secret', body)
      assert.equal(webhooks.checkSignature(body, wrong, SECRET).ok, false)
      assert.throws(() => verify(wrong, [SECRET], body), VerificationError)
    }
    const viaHeaders = webhooks.checkSignature(BODY, { 'x-commercelayer-signature': EXPECTED, 'x-commercelayer-topic': 'orders.place' }, SECRET)
    assert.deepEqual([viaHeaders.ok, viaHeaders.topic], [true, 'orders.place'])
  })
})
