import assert from 'node:assert/strict'
import { createSign, createVerify, generateKeyPairSync } from 'node:crypto'
import { describe, it } from 'node:test'
import { VerificationError } from '../../core/errors.ts'
import { bearerCheck, commerceWebhookPublicKeys, SIGNATURE_HEADER, signCommerceWebhook, verifyCommerceWebhookSignature } from './auth.ts'

const pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
const pem = (key: typeof pair.publicKey) => key.export({ type: 'spki', format: 'pem' }) as string
const body = new TextEncoder().encode('{"eventName":"observer.checkout_cart_product_add_before","data":{"item":{"sku":"S1","qty":2}}}')

/** As the starter kit's old `webhookVerify` signed-side counterpart: RSA-SHA256 over the base64 text of the body. */
function commerceSignature(privateKey: typeof pair.privateKey, raw: Uint8Array): string {
  return createSign('SHA256').update(Buffer.from(raw).toString('base64')).sign(privateKey, 'base64')
}

function verify(signature: string | null, keys = [pair.publicKey], raw = body) {
  const headers = new Headers(signature === null ? {} : { [SIGNATURE_HEADER]: signature })
  return () => verifyCommerceWebhookSignature({ headers, body: raw, publicKeys: keys })
}

describe('x-adobe-commerce-webhook-signature', () => {
  it('verifies a signature made over base64(body), as Commerce signs and the starter kit verified', () => {
    const signature = commerceSignature(pair.privateKey, body)
    assert.equal(signCommerceWebhook(pair.privateKey, body), signature)
    verify(signature)()
    // The starter kit's check, on __ow_body (the base64 of the raw body under raw-http: true).
    const owBody = Buffer.from(body).toString('base64')
    assert.equal(createVerifyFor(owBody, signature), true)
  })

  it('refuses a signature over the raw body itself (the "HMAC of the body" reading of the docs)', () => {
    const overRaw = createSign('SHA256').update(body).sign(pair.privateKey, 'base64')
    assert.throws(verify(overRaw), (error: unknown) => error instanceof VerificationError && /does not verify/.test(error.message))
  })

  it('refuses a missing, non-base64, foreign-key or tampered signature, each with a reason', () => {
    assert.throws(verify(null), /missing x-adobe-commerce-webhook-signature/)
    assert.throws(verify('not base64!'), /must be a base64 RSA-SHA256 signature/)
    assert.throws(verify(commerceSignature(other.privateKey, body)), /does not verify with any configured public key/)
    const tampered = new TextEncoder().encode(Buffer.from(body).toString().replace('"qty":2', '"qty":9'))
    assert.throws(verify(commerceSignature(pair.privateKey, body), [pair.publicKey], tampered), VerificationError)
  })

  it('accepts any of several keys during a rotation', () => {
    verify(commerceSignature(other.privateKey, body), [pair.publicKey, other.publicKey])()
  })
})

function createVerifyFor(owBody: string, signature: string): boolean {
  // Literally the old starter kit line: crypto.createVerify('SHA256').update(__ow_body).verify(PUBLIC_KEY, signature, 'base64')
  return createVerify('SHA256').update(owBody).verify(pem(pair.publicKey), signature, 'base64')
}

describe('commerceWebhookPublicKeys', () => {
  it('reads one PEM, two PEMs in one string, a list, and literal \\n line breaks', () => {
    assert.equal(commerceWebhookPublicKeys(pem(pair.publicKey)).length, 1)
    assert.equal(commerceWebhookPublicKeys(`${pem(pair.publicKey)}\n${pem(other.publicKey)}`).length, 2)
    assert.equal(commerceWebhookPublicKeys([pem(pair.publicKey), pem(other.publicKey)]).length, 2)
    const oneLine = pem(pair.publicKey).trim().replace(/\n/g, '\\n')
    assert.equal(commerceWebhookPublicKeys(oneLine)[0]!.equals(pair.publicKey), true)
  })

  it('refuses text that is not a PEM, a private key, and a key that is not RSA', () => {
    assert.throws(() => commerceWebhookPublicKeys('MIIBIjANBgkqh'), /expected a PEM public key/)
    const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
    assert.throws(() => commerceWebhookPublicKeys(privatePem), /this is a private key/)
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string
    assert.throws(() => commerceWebhookPublicKeys(ec), /expected an RSA public key, got ec/)
  })
})

describe('bearerCheck', () => {
  const check = bearerCheck(['token-old', 'token-new'])
  const headers = (authorization?: string) => new Headers(authorization === undefined ? {} : { authorization })

  it('accepts any configured token, as "Bearer <t>" or the docs\' "Bearer: <t>"', () => {
    check(headers('Bearer token-new'))
    check(headers('bearer token-old'))
    check(headers('Bearer: token-new'))
  })

  it('refuses a missing header, another scheme, a wrong token or a prefix of one, never echoing the token', () => {
    assert.throws(() => check(headers()), /missing Authorization header/)
    assert.throws(() => check(headers('Basic dXNlcjpwYXNz')), /expected "Bearer <token>"/)
    for (const wrong of ['token-ol', 'token-newer', 'x']) {
      assert.throws(
        () => check(headers(`Bearer ${wrong}`)),
        (error: unknown) => error instanceof VerificationError && !error.message.includes('token-') && /does not match/.test(error.message),
      )
    }
  })

  it('refuses to be built with an empty token', () => {
    assert.throws(() => bearerCheck(['']), /must not be empty/)
  })
})
