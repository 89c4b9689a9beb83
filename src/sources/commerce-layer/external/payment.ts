/**
 * @module
 * External payment gateways (shared/reference/commerce-layer.md §3.4): one URL per action on the
 * `external_gateways` resource, so one file per action in `external/`:
 *
 * | action | gateway field | `data` received | file, e.g. |
 * |---|---|---|---|
 * | authorize | `authorize_url` | `external_payments` | `external/payment/authorize.ts` |
 * | capture | `capture_url` | `authorizations` | `external/payment/capture.ts` |
 * | void | `void_url` | `authorizations` | `external/payment/void.ts` |
 * | refund | `refund_url` | `captures` | `external/payment/refund.ts` |
 * | customer token | `token_url` | UNVERIFIED | `external/payment/token.ts` |
 *
 * Success: `{"success": true, "data": {"transaction_token", "amount_cents"?, "metadata"?, …}}`;
 * with an `action_id` the answer is asynchronous and goes out as 202 (the transaction stays
 * pending until `sendPaymentUpdate` completes it). Errors go under `data.error`, next to the
 * token and the amount. On a timeout or a 5xx Commerce Layer records a failed transaction and
 * answers its own caller 200.
 */
import { z } from 'zod'
import {
  defineExternal,
  type ExternalHandler,
  type ExternalReply,
  type ExternalResourceDefinition,
  type ExternalResourceOptions,
  type Refusal,
} from '../../external.ts'
import type { CustomerPaymentSource, ExternalPayment, Transaction } from '../resources.ts'
import { cents, commerceLayerKind, metadata, type CommerceLayerContext } from './kind.ts'

const text = z.string().optional()
/** The transaction fields a gateway may fill in (`@commercelayer/sdk` authorizations). */
const transactionFields = {
  message: text,
  error_code: text,
  error_detail: text,
  avs_code: text,
  avs_message: text,
  cvv_code: text,
  cvv_message: text,
  // Its type is not documented for gateways: a flag or a provider's verdict.
  fraud_review: z.union([z.boolean(), z.string()]).optional(),
  gateway_transaction_id: text,
}

const transactionSchema = z.strictObject({
  transaction_token: z.string({ error: 'expected the gateway\'s transaction_token' }).min(1),
  amount_cents: cents.optional(),
  /** Marks the answer asynchronous (202); must be unique. */
  action_id: z.string().min(1).optional(),
  metadata: metadata.optional(),
  ...transactionFields,
})

export type PaymentAnswer = z.input<typeof transactionSchema>

/** The token and amount an error envelope carries when the handler gave none. */
function transactionDefaults(input: (Transaction & ExternalPayment) | undefined): Record<string, unknown> {
  if (!input) return {}
  const token = input.token ?? input.payment_source_token ?? input.gateway_transaction_id
  const amount = input.amount_cents ?? input.order?.total_amount_with_taxes_cents
  return { ...(typeof token === 'string' ? { transaction_token: token } : {}), ...(typeof amount === 'number' ? { amount_cents: amount } : {}) }
}

/** `{"success": false, "data": {"transaction_token", "amount_cents", "error": {code, message}}}`. */
function paymentRefusal(refusal: Refusal, input: (Transaction & ExternalPayment) | undefined): ExternalReply {
  const { error: _, ...data } = refusal.data ?? {}
  return {
    status: refusal.status,
    body: { success: false, data: { ...transactionDefaults(input), ...data, error: { code: refusal.code, message: refusal.message } } },
  }
}

type PaymentAction = 'authorize' | 'capture' | 'void' | 'refund'
const DATA_TYPES: Record<PaymentAction, string[]> = {
  authorize: ['external_payments'],
  capture: ['authorizations'],
  void: ['authorizations'],
  refund: ['captures'],
}

function transactionKind(action: PaymentAction) {
  return commerceLayerKind<Transaction & ExternalPayment, z.output<typeof transactionSchema>>({
    kind: `payment.${action}`,
    dataTypes: DATA_TYPES[action],
    schema: transactionSchema,
    success: (answer) => ({ status: answer.action_id ? 202 : 200, body: { success: true, data: answer } }),
    refusal: paymentRefusal,
    // Keyed on the resource itself: a last good answer is a replay of this very transaction
    // (Commerce Layer calling again), never another payment's token.
    sameInput: (resource) => ({ action, type: resource.type, id: resource.id }),
  })
}

const customerTokenSchema = z
  .object({ customer_token: z.string().min(1).optional(), payment_source_token: z.string().min(1).optional(), metadata: metadata.optional() })
  .catchall(z.union([z.string(), z.number(), z.boolean(), z.null()]))
  .check((ctx) => {
    if (!ctx.value.customer_token && !ctx.value.payment_source_token) {
      ctx.issues.push({ code: 'custom', message: 'expected customer_token or payment_source_token', input: ctx.value })
    }
  })

export type CustomerTokenAnswer = Record<string, unknown>

export interface CustomerTokenOptions extends ExternalResourceOptions<CustomerPaymentSource, CustomerTokenAnswer> {
  /** Replaces the default check (UNVERIFIED shape: `{ customer_token?, payment_source_token? }`). */
  schema?: z.ZodType<Record<string, unknown>>
}

type TransactionHandler<Input> = ExternalHandler<Input, PaymentAnswer, CommerceLayerContext>
type TransactionDefinition<Input> = ExternalResourceDefinition<Input, PaymentAnswer, CommerceLayerContext>

const kinds = {
  authorize: transactionKind('authorize'),
  capture: transactionKind('capture'),
  void: transactionKind('void'),
  refund: transactionKind('refund'),
}

/**
 * The external payment gateway actions.
 *
 * @example
 * // external/payment/authorize.ts  →  POST /external/payment/authorize (the gateway's authorize_url)
 * export default commerceLayer.payment.authorize(
 *   async (payment, { signal }) => {
 *     const result = await psp.authorize(payment.payment_source_token!, payment.order!.total_amount_with_taxes_cents!, { signal })
 *     if (!result.ok) throw new ExternalResourceError('DECLINED', result.reason)
 *     return { transaction_token: result.id, amount_cents: result.amount }
 *   },
 *   { secrets: env('CL_GATEWAY_SECRET'), fallback: { error: { code: 'GATEWAY_UNAVAILABLE' } } },
 * )
 */
export const payment = {
  authorize(handler: TransactionHandler<ExternalPayment>, options: ExternalResourceOptions<ExternalPayment, PaymentAnswer>): TransactionDefinition<ExternalPayment> {
    return defineExternal(kinds.authorize, handler as TransactionHandler<Transaction & ExternalPayment>, options) as never
  },
  capture(handler: TransactionHandler<Transaction>, options: ExternalResourceOptions<Transaction, PaymentAnswer>): TransactionDefinition<Transaction> {
    return defineExternal(kinds.capture, handler as TransactionHandler<Transaction & ExternalPayment>, options) as never
  },
  void(handler: TransactionHandler<Transaction>, options: ExternalResourceOptions<Transaction, PaymentAnswer>): TransactionDefinition<Transaction> {
    return defineExternal(kinds.void, handler as TransactionHandler<Transaction & ExternalPayment>, options) as never
  },
  refund(handler: TransactionHandler<Transaction>, options: ExternalResourceOptions<Transaction, PaymentAnswer>): TransactionDefinition<Transaction> {
    return defineExternal(kinds.refund, handler as TransactionHandler<Transaction & ExternalPayment>, options) as never
  },
  /** The gateway's `token_url` (customer payment tokens). Request and answer shapes are UNVERIFIED. */
  customerToken(
    handler: ExternalHandler<CustomerPaymentSource, CustomerTokenAnswer, CommerceLayerContext>,
    options: CustomerTokenOptions,
  ): ExternalResourceDefinition<CustomerPaymentSource, CustomerTokenAnswer, CommerceLayerContext> {
    const { schema, ...rest } = options ?? ({} as CustomerTokenOptions)
    const kind = commerceLayerKind<CustomerPaymentSource, Record<string, unknown>>({
      kind: 'payment.customer-token',
      dataTypes: null,
      schema: schema ?? customerTokenSchema,
      refusal: paymentRefusal as (refusal: Refusal, input: CustomerPaymentSource | undefined) => ExternalReply,
      sameInput: (resource) => ({ action: 'customer-token', type: resource.type, id: resource.id }),
    })
    return defineExternal(kind, handler, rest as ExternalResourceOptions<CustomerPaymentSource, CustomerTokenAnswer>)
  },
}
