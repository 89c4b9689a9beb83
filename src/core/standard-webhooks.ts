/**
 * @module
 * The Standard Webhooks signature (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` with a
 * `whsec_` secret), shared by the `standard-webhooks` source, which verifies it, and the `http`
 * connection, which signs outbound deliveries with it.
 * See https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'

const SECRET_PREFIX = 'whsec_'
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** What is wrong with a `whsec_` secret, or undefined when it is usable. Never echoes the secret. */
export function standardWebhookSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) return `must start with "${SECRET_PREFIX}"`
  const encoded = secret.slice(SECRET_PREFIX.length)
  if (!BASE64.test(encoded)) return `must be base64 after "${SECRET_PREFIX}"`
  return undefined
}

/**
 * A KeyObject, not bytes: on Node 24 `createHmac` with a raw key costs about six times as much
 * per call (28 µs against 4.6 µs measured), and the key is reused for every request.
 *
 * @example
 * const key = decodeStandardWebhookSecret(process.env.WEBHOOK_SECRET!)
 */
export function decodeStandardWebhookSecret(secret: string | Uint8Array | KeyObject): KeyObject {
  if (typeof secret !== 'string') return secret instanceof Uint8Array ? createSecretKey(secret) : secret
  const problem = standardWebhookSecretProblem(secret)
  if (problem) throw new TypeError(`standard-webhooks secret ${problem}`)
  return createSecretKey(Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64'))
}

/**
 * The bare base64 HMAC. The timestamp is signed as the header's text, so a sender's formatting
 * (even a leading zero) must reach the HMAC unchanged; `update` twice hashes prefix + raw body
 * without copying the body.
 */
export function standardWebhookHmac(key: KeyObject, id: string, timestamp: string, body: Uint8Array): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest('base64')
}

/**
 * Signs a message the Standard Webhooks way, over the exact body bytes (the reference library
 * decodes a Buffer body as UTF-8 first, which changes the signature of any non-UTF-8 byte).
 *
 * @param secret a `whsec_…` secret, or the already-decoded key bytes
 * @returns the `webhook-signature` header value, `v1,<base64>`
 * @example
 * const body = new TextEncoder().encode('{"type":"order.created"}')
 * const headers = {
 *   'webhook-id': 'msg_1',
 *   'webhook-timestamp': '1700000000',
 *   'webhook-signature': signStandardWebhook(process.env.WEBHOOK_SECRET!, 'msg_1', 1700000000, body),
 * }
 */
export function signStandardWebhook(
  secret: string | Uint8Array | KeyObject,
  id: string,
  timestampSeconds: number,
  body: Uint8Array,
): string {
  if (id === '' || id.includes('.')) throw new TypeError('webhook id must be non-empty and contain no "."')
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new TypeError('webhook timestamp must be a non-negative integer of Unix seconds')
  }
  return `v1,${standardWebhookHmac(decodeStandardWebhookSecret(secret), id, String(timestampSeconds), body)}`
}
