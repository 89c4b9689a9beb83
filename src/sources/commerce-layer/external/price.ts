/**
 * @module
 * External prices (shared/reference/commerce-layer.md §3.2): Commerce Layer sends the line item
 * (`_external_price: true`) with its order, market and SKU included, and takes
 * `{"success": true, "data": {"sku_code", "unit_amount_cents", "compare_at_amount_cents"?, "metadata"?}}`.
 * On a timeout, a 5xx or an open circuit the line item is NOT created or updated (422 to the
 * shopper's API call): the fallback matters most here.
 */
import { z } from 'zod'
import { defineExternal, type ExternalHandler, type ExternalResourceDefinition, type ExternalResourceOptions } from '../../external.ts'
import type { LineItem } from '../resources.ts'
import { cents, commerceLayerKind, metadata, type CommerceLayerContext } from './kind.ts'

const schema = z.strictObject({
  sku_code: z.string({ error: 'expected the SKU code (defaults to the line item\'s)' }).min(1),
  unit_amount_cents: cents,
  /** Optional; Commerce Layer sets it to the unit amount when missing or lower. */
  compare_at_amount_cents: cents.optional(),
  metadata: metadata.optional(),
})

/** What a price handler returns; `sku_code` defaults to the line item's. */
export interface PriceAnswer {
  sku_code?: string
  unit_amount_cents: number
  compare_at_amount_cents?: number
  metadata?: Record<string, unknown>
}

export const priceKind = commerceLayerKind<LineItem, z.output<typeof schema>>({
  kind: 'price',
  dataTypes: ['line_items'],
  schema,
  prepare(answer, lineItem) {
    if (answer.sku_code === undefined && typeof lineItem?.sku_code === 'string') answer.sku_code = lineItem.sku_code
    return answer
  },
  // The unit price of one SKU in one currency and market; quantity is left out on purpose (give
  // `fallback.lastGood.key` when prices depend on quantity tiers or the customer).
  sameInput: (lineItem) => ({
    sku_code: lineItem.sku_code ?? null,
    currency_code: lineItem.order?.currency_code ?? lineItem.currency_code ?? null,
    market: lineItem.order?.market?.id ?? null,
  }),
})

/**
 * An external price: answers Commerce Layer's `external_prices_url` for line items.
 *
 * @example
 * // external/price.ts  →  POST /external/price
 * import { commerceLayer, env } from 'storehook'
 * export default commerceLayer.price(
 *   async (lineItem, { signal }) => {
 *     const res = await fetch(`${process.env.PRICING_URL}/${lineItem.sku_code}`, { signal })
 *     return { unit_amount_cents: (await res.json()).cents }
 *   },
 *   { secrets: env('CL_SHARED_SECRET'), deadlineMs: 2500, fallback: { lastGood: true } },
 * )
 */
export function price(
  handler: ExternalHandler<LineItem, PriceAnswer, CommerceLayerContext>,
  options: ExternalResourceOptions<LineItem, PriceAnswer>,
): ExternalResourceDefinition<LineItem, PriceAnswer, CommerceLayerContext> {
  return defineExternal(priceKind, handler, options)
}
