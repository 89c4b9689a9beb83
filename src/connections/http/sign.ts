/**
 * @module
 * Signed outbound deliveries for the `http` connection: Standard Webhooks headers
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature`) over the exact body sent, so the
 * receiving system can verify a delivery came from storehook and was not replayed late. The
 * signature is the one the `standard-webhooks` source verifies (core/standard-webhooks.ts).
 */
import { createHash, randomUUID, type KeyObject } from 'node:crypto'
import { z } from 'zod'
import { decodeStandardWebhookSecret, signStandardWebhook, standardWebhookSecretProblem } from '../../core/standard-webhooks.ts'

export const signConfigSchema = z
  .object({
    /**
     * Standard Webhooks: `{ secret: env('ERP_WEBHOOK_SECRET') }`, a `whsec_…` secret the receiver
     * shares. Each request gets `webhook-id` (its `idempotencyKey`, so a retried run keeps its id
     * and the receiver can drop the duplicate; a random `msg_…` without one), `webhook-timestamp`
     * (when it is sent, after any wait for a slot) and `webhook-signature`.
     */
    standardWebhooks: z
      .object({
        secret: z.string().check((ctx) => {
          const problem = standardWebhookSecretProblem(ctx.value)
          // Names the field, never the value: config errors get printed and logged.
          if (problem) ctx.issues.push({ code: 'custom', message: `the secret ${problem}`, input: '[secret]' })
        }),
      })
      .strict(),
  })
  .strict()

export type SignConfig = z.output<typeof signConfigSchema>

/** A webhook id may hold no `.` (it separates the signed parts); this keeps ids readable when it can. */
const PLAIN_ID = /^[A-Za-z0-9_:+/=-]{1,200}$/

/**
 * The `webhook-id` of a request: its idempotency key as it is when it can be one, otherwise
 * `msg_` and a digest of it (the same key always gives the same id), or a random `msg_…`.
 *
 * @example
 * webhookId('evt_123') // 'evt_123'
 * webhookId('order.42') // 'msg_5c1f…' (32 hex digits)
 */
export function webhookId(idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return `msg_${randomUUID().replaceAll('-', '')}`
  if (PLAIN_ID.test(idempotencyKey)) return idempotencyKey
  return `msg_${createHash('sha256').update(idempotencyKey, 'utf8').digest('hex').slice(0, 32)}`
}

/** Adds the signature headers to `headers`, for `body` as it will be sent. */
export type Signer = (headers: Headers, body: string | Uint8Array | undefined, idempotencyKey: string | undefined) => void

/**
 * @example
 * const sign = makeSigner({ standardWebhooks: { secret: 'whsec_…' } })
 * sign?.(headers, JSON.stringify(order), event.id)
 */
export function makeSigner(config: SignConfig | undefined, now: () => number = Date.now): Signer | undefined {
  if (config === undefined) return undefined
  const key: KeyObject = decodeStandardWebhookSecret(config.standardWebhooks.secret)
  return (headers, body, idempotencyKey) => {
    const id = webhookId(idempotencyKey)
    const timestamp = Math.floor(now() / 1000)
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : (body ?? new Uint8Array())
    headers.set('webhook-id', id)
    headers.set('webhook-timestamp', String(timestamp))
    headers.set('webhook-signature', signStandardWebhook(key, id, timestamp, bytes))
  }
}
