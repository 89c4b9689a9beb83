/**
 * @module
 * How Commerce Layer signs what it sends (reference/commerce-layer.md §1): base64 (standard
 * alphabet, padded) HMAC-SHA256 of the raw body bytes, keyed with the resource's `shared_secret`
 * string as UTF-8 (not hex-decoded), in `X-CommerceLayer-Signature`. No timestamp is signed.
 * Written here on its own, independent of storehook's verifier, so the simulator can catch a
 * verifier that hashes the wrong bytes or compares the wrong encoding.
 */
import { createHmac, randomBytes } from 'node:crypto'

/** The header the signature travels in. */
export const SIGNATURE_HEADER = 'X-CommerceLayer-Signature'
/** The header a webhook's topic travels in, e.g. `orders.place`. */
export const TOPIC_HEADER = 'X-CommerceLayer-Topic'

/**
 * The signature Commerce Layer puts on `body` with `sharedSecret`.
 *
 * @example
 * signCommerceLayer('{"data":{"id":"xYZkjABcde","type":"line_items"}}', '1c0994cc4e996e8c6ee56a2198f66f3c')
 * // '8RJs6hj6/+8S3jk/QAM9hmWzbRxJSJSN9j9cnIeHBpo='
 */
export function signCommerceLayer(body: string | Uint8Array, sharedSecret: string): string {
  return createHmac('sha256', Buffer.from(sharedSecret, 'utf8')).update(body).digest('base64')
}

/** A new shared secret in the shape Commerce Layer generates: 32 hex characters. */
export function newSharedSecret(): string {
  return randomBytes(16).toString('hex')
}
