/**
 * @module
 * External order validation (shared/reference/commerce-layer.md §3.1): Commerce Layer sends the
 * order on `PATCH /api/orders/:id {"_validate": true}` and takes `{"success": true, "data": {}}`
 * for a valid order, or a status ≥ 400 with attribute-keyed errors in `data` plus `error`, which
 * it returns to the caller as a 422. A timeout or a 5xx is ignored (200, no errors attached), so
 * an order validation that cannot run in time lets the order through.
 */
import { z } from 'zod'
import { defineExternal, type ExternalHandler, type ExternalResourceDefinition, type ExternalResourceOptions } from '../../external.ts'
import type { Order } from '../resources.ts'
import { commerceLayerKind, errorEnvelope, lineItemsKey, metadata, steadyAttributes, type CommerceLayerContext } from './kind.ts'

const schema = z.strictObject({
  /**
   * Attribute-keyed errors (`{ customer_email: 'is blocked' }`); none (or an empty object) means
   * valid. Where errors not tied to an attribute go is UNVERIFIED; `base` is the Rails convention.
   */
  errors: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  code: z.string().min(1).optional(),
  message: z.string().min(1).optional(),
  status: z.number().int().min(400).max(499).optional(),
  metadata: metadata.optional(),
})

/** Nothing (or `{}`) for a valid order; `{ errors: { attribute: message } }` for an invalid one. */
export type OrderValidationAnswer = void | undefined | z.input<typeof schema>

export const orderValidationKind = commerceLayerKind<Order, z.output<typeof schema>>({
  kind: 'order-validation',
  dataTypes: ['orders'],
  schema,
  allowEmpty: true,
  success(answer) {
    const errors = answer.errors ?? {}
    const first = Object.entries(errors)[0]
    if (!first) return { status: 200, body: { success: true, data: answer.metadata ? { metadata: answer.metadata } : {} } }
    const [attribute, message] = first
    return errorEnvelope({
      status: answer.status ?? 422,
      code: answer.code ?? 'VALIDATION_FAILED',
      message: answer.message ?? `${attribute} ${Array.isArray(message) ? message.join(', ') : message}`,
      data: errors,
    })
  },
  sameInput: (order) => ({
    order: steadyAttributes(order),
    line_items: lineItemsKey(order.line_items),
    customer: order.customer?.id ?? null,
    shipping_address: steadyAttributes(order.shipping_address),
    billing_address: steadyAttributes(order.billing_address),
  }),
})

/**
 * An external order validation: answers the market's `external_order_validation_url`.
 *
 * @example
 * // external/order-validation.ts  →  POST /external/order-validation
 * export default commerceLayer.orderValidation(
 *   (order) => (order.customer_email?.endsWith('@example.invalid') ? { errors: { customer_email: 'is not deliverable' } } : undefined),
 *   { secrets: env('CL_SHARED_SECRET') },
 * )
 */
export function orderValidation(
  handler: ExternalHandler<Order, OrderValidationAnswer, CommerceLayerContext>,
  options: ExternalResourceOptions<Order, OrderValidationAnswer>,
): ExternalResourceDefinition<Order, OrderValidationAnswer, CommerceLayerContext> {
  return defineExternal(orderValidationKind, handler, options)
}
