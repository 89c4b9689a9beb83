/**
 * @module
 * Commerce Layer's callback signature: `X-CommerceLayer-Signature` is the base64 HMAC-SHA256 of
 * the raw request body, keyed with the resource's `shared_secret` string used as-is (its UTF-8
 * bytes, not hex-decoded). The same scheme signs real-time webhooks, every external resource call,
 * and the other direction: the asynchronous payment updates a gateway sends to Commerce Layer's
 * `webhook_endpoint_url`. There is no timestamp, so the scheme has no replay window of its own.
 * See shared/reference/commerce-layer.md §1.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import { z } from 'zod'
import { VerificationError } from '../../core/errors.ts'

export const SIGNATURE_HEADER = 'x-commercelayer-signature'
export const TOPIC_HEADER = 'x-commercelayer-topic'

/** A base64 SHA-256 digest is 32 bytes: 44 characters with one `=` of padding. */
const SIGNATURE_LENGTH = 44

/**
 * A KeyObject, not the string: on Node 24 `createHmac` with a raw key costs several times as much
 * per call, and the key is reused for every request.
 */
export function commerceLayerKey(secret: string | KeyObject): KeyObject {
  if (typeof secret !== 'string') return secret
  if (secret === '') throw new TypeError('a Commerce Layer shared secret must not be empty')
  return createSecretKey(Buffer.from(secret, 'utf8'))
}

/**
 * Signs a body the way Commerce Layer does (and checks, for asynchronous payment updates).
 *
 * @returns the `X-CommerceLayer-Signature` header value
 * @example
 * const body = new TextEncoder().encode('{"data":{"id":"xYZkjABcde","type":"line_items"}}')
 * signCommerceLayer('1c0994cc4e996e8c6ee56a2198f66f3c', body) // '8RJs6hj6/+8S3jk/QAM9hmWzbRxJSJSN9j9cnIeHBpo='
 */
export function signCommerceLayer(secret: string | KeyObject, body: Uint8Array | string): string {
  return createHmac('sha256', commerceLayerKey(secret)).update(body).digest('base64')
}

/**
 * Checks `X-CommerceLayer-Signature` against the exact bytes received, in constant time, against
 * every configured secret (several during a rotation). Parses nothing.
 *
 * @throws VerificationError (401) when the header is missing, malformed, or matches no secret;
 *   the message never contains a secret or the expected value
 * @example
 * verifyCommerceLayerSignature({ headers: request.headers, body: request.body, secrets: [commerceLayerKey(process.env.CL_SHARED_SECRET!)] })
 */
export function verifyCommerceLayerSignature(options: {
  headers: Headers
  body: Uint8Array
  secrets: readonly (string | KeyObject)[]
}): void {
  const { headers, body, secrets } = options
  if (secrets.length === 0) throw new VerificationError('no shared secret is configured, so no call can be verified')
  const header = headers.get(SIGNATURE_HEADER)
  if (!header) throw new VerificationError(`missing ${SIGNATURE_HEADER} header`)
  const offered = Buffer.from(header.trim())
  // A hex digest (64 chars) is the commonest sender mistake; say so rather than "does not match".
  if (offered.length !== SIGNATURE_LENGTH) {
    throw new VerificationError(`${SIGNATURE_HEADER} must be a base64 HMAC-SHA256 (${SIGNATURE_LENGTH} characters)`)
  }
  let matched = false
  // Every secret is tried, so the time taken does not tell which one (or whether an early one) matched.
  for (const secret of secrets) {
    const expected = Buffer.from(signCommerceLayer(secret, body))
    if (expected.length === offered.length && timingSafeEqual(expected, offered)) matched = true
  }
  if (!matched) throw new VerificationError('signature does not match any configured shared secret')
}

/**
 * A config field holding Commerce Layer shared secrets: one string, several separated by spaces
 * (one env var can hold the old and the new secret during a rotation), or a list.
 */
export const sharedSecrets = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : [value]).flatMap((s) => s.split(/\s+/)).filter(Boolean))
  .check((ctx) => {
    // The message never shows a value: config errors get printed and logged.
    if (ctx.value.length === 0) ctx.issues.push({ code: 'custom', message: 'at least one shared secret is required', input: '[secret]' })
  })
