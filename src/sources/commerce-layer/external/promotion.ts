/**
 * @module
 * External promotions (shared/reference/commerce-layer.md §3.6): when an external promotion's
 * rules match, Commerce Layer sends the order (market, customer, tags, line items, addresses
 * included) to its `promotion_url` and takes one of three shapes:
 * 1. `{ name, discount_cents }`: spread over all taxable items;
 * 2. `{ name, discount_cents, line_items: [{ id }] }`: spread over those items only;
 * 3. `{ name, line_items: [{ id, discount_cents }] }`: per item, and then for every item listed
 *    (all or none: one item with an amount means all need one).
 * Shapes 2 and 3 are reconstructed from the documentation's prose. On a timeout or a 5xx no
 * promotion is added. To apply no discount, answer `discount_cents: 0` rather than an error: an
 * error may count toward the breaker.
 */
import { z } from 'zod'
import { defineExternal, type ExternalHandler, type ExternalResourceDefinition, type ExternalResourceOptions } from '../../external.ts'
import type { Order } from '../resources.ts'
import { cents, commerceLayerKind, lineItemsKey, metadata, type CommerceLayerContext } from './kind.ts'

const schema = z
  .strictObject({
    name: z.string({ error: 'expected the promotion name shown on the order' }).min(1),
    discount_cents: cents.optional(),
    line_items: z.array(z.strictObject({ id: z.string().min(1), discount_cents: cents.optional() })).optional(),
    metadata: metadata.optional(),
  })
  .check((ctx) => {
    const items = ctx.value.line_items ?? []
    const withAmount = items.filter((item) => item.discount_cents !== undefined).length
    if (withAmount > 0 && withAmount < items.length) {
      ctx.issues.push({
        code: 'custom',
        path: ['line_items'],
        message: `discount_cents is given for ${withAmount} of ${items.length} line items: give it for all of them or for none`,
        input: ctx.value,
      })
    }
    if (withAmount === 0 && ctx.value.discount_cents === undefined) {
      ctx.issues.push({ code: 'custom', path: ['discount_cents'], message: 'expected discount_cents, on the promotion or on every line item', input: ctx.value })
    }
    const ids = new Set<string>()
    for (const item of items) {
      if (ids.has(item.id)) ctx.issues.push({ code: 'custom', path: ['line_items'], message: `line item ${item.id} is listed twice`, input: ctx.value })
      ids.add(item.id)
    }
  })

export type PromotionAnswer = z.input<typeof schema>

export const promotionKind = commerceLayerKind<Order, z.output<typeof schema>>({
  kind: 'promotion',
  dataTypes: ['orders'],
  schema,
  sameInput: (order) => ({
    order: order.id,
    currency_code: order.currency_code ?? null,
    coupon_code: order.coupon_code ?? null,
    market: order.market?.id ?? null,
    customer: order.customer?.id ?? order.customer_email ?? null,
    line_items: lineItemsKey(order.line_items),
  }),
})

/**
 * An external promotion: answers an external promotion's `promotion_url`.
 *
 * @example
 * // external/promotion.ts  →  POST /external/promotion
 * export default commerceLayer.promotion(
 *   (order) => ({ name: 'Ten off over 100', discount_cents: (order.subtotal_amount_cents ?? 0) >= 10_000 ? 1000 : 0 }),
 *   { secrets: env('CL_SHARED_SECRET') },
 * )
 */
export function promotion(
  handler: ExternalHandler<Order, PromotionAnswer, CommerceLayerContext>,
  options: ExternalResourceOptions<Order, PromotionAnswer>,
): ExternalResourceDefinition<Order, PromotionAnswer, CommerceLayerContext> {
  return defineExternal(promotionKind, handler, options)
}
