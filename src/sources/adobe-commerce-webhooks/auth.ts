/**
 * @module
 * How a Commerce webhook call proves it comes from Commerce (shared/reference/adobe-commerce.md
 * §2.2, §2.3, §7.2). Two ways, either or both:
 *
 * - **Signature.** When signing is enabled for webhooks, Commerce generates an RSA key pair and
 *   sends `x-adobe-commerce-webhook-signature`: the base64 RSA-SHA256 signature of the
 *   **base64-encoded** raw body (not of the body itself: the App Builder sample verifies over
 *   `__ow_body`, which `raw-http: true` makes exactly that base64 string). The docs call it
 *   "HMAC SHA256"; it is an RSA signature, checked against the public key the Admin shows.
 * - **Bearer token.** An `Authorization: Bearer <token>` header: a static token the hook's
 *   headers carry, or an IMS token when the hook uses Developer Console OAuth. Only a static token
 *   can be checked here; an IMS token is validated by Adobe's gateway, not by its receiver.
 *
 * Nothing here logs or returns a token, and no message says which configured key or token was
 * closest.
 */
import { createHash, createPublicKey, sign as rsaSign, timingSafeEqual, verify as rsaVerify, type KeyLike, type KeyObject } from 'node:crypto'
import { VerificationError } from '../../core/errors.ts'

export const SIGNATURE_HEADER = 'x-adobe-commerce-webhook-signature'
export const REQUEST_ID_HEADER = 'x-adobe-commerce-request-id'

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/**
 * Reads the public keys of a `publicKey` option: one PEM, several PEMs in one string (an env var
 * holding the old and the new key during a rotation), or a list. A `\n` written literally (common
 * when a PEM is pasted into a one-line env var) counts as a line break.
 *
 * @throws TypeError naming what is wrong: no PEM block, a private key, a key that is not RSA
 * @example
 * const keys = commerceWebhookPublicKeys(process.env.COMMERCE_WEBHOOK_PUBLIC_KEY!)
 */
export function commerceWebhookPublicKeys(value: string | readonly string[]): KeyObject[] {
  const texts = (typeof value === 'string' ? [value] : value).map((text) => text.replace(/\\n/g, '\n'))
  const keys: KeyObject[] = []
  for (const text of texts) {
    const blocks = [...text.matchAll(PEM_BLOCK)]
    if (blocks.length === 0) {
      if (text.trim() === '') continue
      throw new TypeError('expected a PEM public key ("-----BEGIN PUBLIC KEY-----" … "-----END PUBLIC KEY-----"), as the Commerce Admin shows it')
    }
    for (const [pem, label] of blocks) {
      // createPublicKey would happily derive a public key from a private one: refuse it, since a
      // private key in the receiver's config is a leak to fix, not a key to use.
      if (label!.includes('PRIVATE')) throw new TypeError('this is a private key; give the public key the Commerce Admin shows (a private key must never leave Commerce)')
      if (label !== 'PUBLIC KEY' && label !== 'RSA PUBLIC KEY') throw new TypeError(`expected a PUBLIC KEY PEM block, got "${label}"`)
      let key: KeyObject
      try {
        key = createPublicKey(pem)
      } catch (error) {
        throw new TypeError(`the PEM public key cannot be read: ${(error as Error).message}`)
      }
      if (key.asymmetricKeyType !== 'rsa') throw new TypeError(`expected an RSA public key, got ${key.asymmetricKeyType ?? 'an unknown key type'}`)
      keys.push(key)
    }
  }
  return keys
}

/**
 * Signs a body as Commerce does: RSA-SHA256 over the base64 of the raw body, itself base64.
 *
 * @returns the `x-adobe-commerce-webhook-signature` header value
 * @example
 * const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
 * const signature = signCommerceWebhook(privateKey, body)
 */
export function signCommerceWebhook(privateKey: KeyLike, body: Uint8Array | string): string {
  return rsaSign('sha256', Buffer.from(Buffer.from(body).toString('base64')), privateKey).toString('base64')
}

/**
 * Checks `x-adobe-commerce-webhook-signature` against the exact bytes received, with every
 * configured public key (several during a rotation).
 *
 * @throws VerificationError (401) when the header is missing, not base64, or verifies with no key
 * @example
 * verifyCommerceWebhookSignature({ headers: request.headers, body: request.body, publicKeys: commerceWebhookPublicKeys(pem) })
 */
export function verifyCommerceWebhookSignature(options: { headers: Headers; body: Uint8Array; publicKeys: readonly KeyObject[] }): void {
  const { headers, body, publicKeys } = options
  if (publicKeys.length === 0) throw new VerificationError('no public key is configured, so no signature can be verified')
  const header = headers.get(SIGNATURE_HEADER)?.trim()
  if (!header) throw new VerificationError(`missing ${SIGNATURE_HEADER} header (is signing enabled for webhooks in the Commerce Admin?)`)
  if (!BASE64.test(header)) throw new VerificationError(`${SIGNATURE_HEADER} must be a base64 RSA-SHA256 signature`)
  const signature = Buffer.from(header, 'base64')
  const signed = Buffer.from(Buffer.from(body).toString('base64'))
  for (const key of publicKeys) {
    if (rsaVerify('sha256', signed, key, signature)) return
  }
  throw new VerificationError(`${SIGNATURE_HEADER} does not verify with any configured public key (was the key pair regenerated in the Commerce Admin?)`)
}

/**
 * Builds the check of `Authorization: Bearer <token>` against static tokens, in constant time
 * (digests are compared, so neither a token's length nor its content shows in the timing).
 * `Bearer: <token>` is accepted too: the Commerce docs' header examples write it that way.
 *
 * @example
 * const check = bearerCheck([process.env.COMMERCE_WEBHOOK_TOKEN!])
 * check(request.headers) // throws VerificationError unless the token is one of them
 */
export function bearerCheck(tokens: readonly string[]): (headers: Headers) => void {
  if (tokens.length === 0 || tokens.some((token) => token === '')) throw new TypeError('a bearer token must not be empty')
  const digests = tokens.map(digest)
  return (headers) => {
    const header = headers.get('authorization')
    if (!header) throw new VerificationError('missing Authorization header (a bearer token is required)')
    const match = /^Bearer:?\s+(\S+)\s*$/i.exec(header)
    if (!match) throw new VerificationError('Authorization: expected "Bearer <token>"')
    const offered = digest(match[1]!)
    let matched = false
    // Every token is compared, so the time taken does not tell which one matched.
    for (const expected of digests) if (timingSafeEqual(expected, offered)) matched = true
    if (!matched) throw new VerificationError('the bearer token does not match any configured token')
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}
