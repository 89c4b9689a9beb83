/**
 * @module
 * The gateway's `webhook_endpoint_url` (reference/commerce-layer.md §3.4, "Asynchronous payments"):
 * after answering a payment call with 202 and an `action_id`, the merchant POSTs the outcome
 * there, signed with the gateway's `shared_secret` like everything else. The body has the
 * response's structure and must carry the `action_id`. On success the pending transaction
 * becomes `succeeded` and the order moves on; `message`, `error_code`, `error_detail`, `avs_*`,
 * `cvv_*` and `fraud_review` may be updated; `amount_cents` and `transaction_token` may not.
 * On an error answer nothing changes.
 *
 * UNVERIFIED: the statuses this endpoint answers (401 on a bad signature, 404 for an unknown
 * `action_id`, 422 for a malformed body).
 */
import { timingSafeEqual } from 'node:crypto'
import { signCommerceLayer } from './sign.ts'
import type { ResourceStore } from './store.ts'

const UPDATABLE = ['message', 'error_code', 'error_detail', 'avs_code', 'avs_message', 'cvv_code', 'cvv_message', 'fraud_review']
const TRANSACTION_TYPES = ['authorizations', 'captures', 'voids', 'refunds']
const PAYMENT_STATUS: Record<string, string> = { authorizations: 'authorized', captures: 'paid', voids: 'voided', refunds: 'refunded' }

/**
 * Answers one signed update for gateway `gatewayId`: `[status, body]`.
 *
 * @example
 * const [status] = asyncPaymentUpdate(store, gatewayId, rawBody, request.headers['x-commercelayer-signature'])
 */
export function asyncPaymentUpdate(store: ResourceStore, gatewayId: string, raw: string, signature: string | undefined): [number, unknown] {
  const gateway = store.get('external_gateways', gatewayId)
  if (!gateway) return [404, { success: false, error: { code: 'NOT_FOUND', message: 'unknown gateway' } }]
  const expected = Buffer.from(signCommerceLayer(raw, String(gateway.attributes.shared_secret)))
  const given = Buffer.from(signature ?? '')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return [401, { success: false, error: { code: 'INVALID_SIGNATURE', message: 'signature mismatch' } }]
  let body: { success?: unknown; data?: Record<string, unknown> }
  try {
    body = JSON.parse(raw) as typeof body
  } catch {
    return [422, { success: false, error: { code: 'INVALID_BODY', message: 'the body is not JSON' } }]
  }
  const actionId = body?.data?.action_id
  if (typeof actionId !== 'string' || actionId === '') return [422, { success: false, error: { code: 'MISSING_ACTION_ID', message: 'data.action_id is required' } }]
  const transaction = TRANSACTION_TYPES.flatMap((type) => store.list(type)).find((entry) => entry.attributes.action_id === actionId)
  if (!transaction) return [404, { success: false, error: { code: 'NOT_FOUND', message: `no transaction with action_id ${actionId}` } }]
  if (body.success !== true && body.success !== 'true') return [200, { success: true, data: { id: transaction.id, succeeded: transaction.attributes.succeeded } }]
  const updates = Object.fromEntries(UPDATABLE.filter((name) => body.data?.[name] !== undefined).map((name) => [name, body.data?.[name]]))
  store.update(transaction, { ...updates, succeeded: true })
  const order = store.follow(transaction, 'order')[0]
  const status = PAYMENT_STATUS[transaction.type]
  if (order && status) store.update(order, { payment_status: status })
  return [200, { success: true, data: { id: transaction.id, succeeded: true } }]
}
