/**
 * @module
 * The second half of an asynchronous payment (shared/reference/commerce-layer.md §3.4): after a
 * gateway action answered 202 with an `action_id`, the outcome is POSTed to the gateway's
 * `webhook_endpoint_url`, signed with the gateway's shared secret exactly as Commerce Layer signs
 * its own calls. The body has the answer's structure and carries the `action_id`; only the
 * transaction's message, error, AVS, CVV and fraud fields can change (amount and token cannot).
 * On success the transaction succeeds and the order moves on; on an error nothing changes.
 */
import { z } from 'zod'
import { signCommerceLayer, SIGNATURE_HEADER } from '../signature.ts'

const update = z.strictObject({
  action_id: z.string().min(1),
  success: z.boolean(),
  /** Immutable on Commerce Layer's side; sent for its matching only. */
  transaction_token: z.string().min(1).optional(),
  amount_cents: z.number().int().nonnegative().optional(),
  message: z.string().optional(),
  error_code: z.string().optional(),
  error_detail: z.string().optional(),
  avs_code: z.string().optional(),
  avs_message: z.string().optional(),
  cvv_code: z.string().optional(),
  cvv_message: z.string().optional(),
  fraud_review: z.union([z.boolean(), z.string()]).optional(),
  /** For `success: false`: the envelope's `data.error`. */
  error: z.strictObject({ code: z.string().min(1), message: z.string().min(1) }).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
})

export type PaymentUpdate = z.input<typeof update>

export interface SendPaymentUpdateOptions {
  /** The gateway's `webhook_endpoint_url` (from its Commerce Layer resource). */
  url: string
  /** The gateway's shared secret, as configured for its external resources. */
  secret: string
  signal?: AbortSignal
  /** Default 10 000 ms. */
  timeoutMs?: number
}

/**
 * Commerce Layer did not take the update: `status` says why (a 4xx will not pass on retry either).
 *
 * @example
 * try {
 *   await commerceLayer.sendPaymentUpdate({ action_id: 'act_123', success: true }, { url, secret, signal: ctx.signal })
 * } catch (error) {
 *   // Retrying cannot make Commerce Layer accept it: dead at once, with the reason.
 *   if (error instanceof PaymentUpdateError && error.status < 500) throw new PermanentError(error.message, { cause: error })
 *   throw error
 * }
 */
export class PaymentUpdateError extends Error {
  readonly status: number
  constructor(status: number, body: string) {
    super(`Commerce Layer answered the payment update with ${status}: ${body.slice(0, 300)}`)
    this.name = 'PaymentUpdateError'
    this.status = status
  }
}

/**
 * Builds, signs and POSTs an asynchronous payment update. Typically called from an action that
 * consumes the payment provider's own webhook.
 *
 * @throws TypeError for an update Commerce Layer would refuse (before anything is sent)
 * @throws PaymentUpdateError when Commerce Layer answers outside 2xx
 * @example
 * await sendPaymentUpdate(
 *   { action_id: 'act_123', success: true, message: 'settled' },
 *   { url: process.env.CL_GATEWAY_WEBHOOK_URL!, secret: process.env.CL_GATEWAY_SECRET!, signal },
 * )
 */
export async function sendPaymentUpdate(payment: PaymentUpdate, options: SendPaymentUpdateOptions): Promise<{ status: number; body: string }> {
  const parsed = update.safeParse(payment)
  if (!parsed.success) {
    throw new TypeError(`payment update: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}`)
  }
  const { success, error, ...data } = parsed.data
  if (!success && !error) throw new TypeError('payment update: a failed update needs error: { code, message }')
  const body = JSON.stringify({ success, data: success ? data : { ...data, error } })
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000)
  const response = await fetch(options.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signCommerceLayer(options.secret, body) },
    body,
    redirect: 'manual',
    signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
  })
  const text = await response.text()
  if (response.status < 200 || response.status > 299) throw new PaymentUpdateError(response.status, text)
  return { status: response.status, body: text }
}
