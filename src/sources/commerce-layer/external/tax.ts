/**
 * @module
 * External tax calculators (shared/reference/commerce-layer.md §3.7): Commerce Layer sends the
 * order (market, line items, SKUs, addresses included) to `tax_calculator_url` and takes:
 * - `{ tax_rate }` for the whole order;
 * - `{ tax_rate?, line_items: [{ id, tax_rate }] }` per line item;
 * - with a breakdown: `freight_taxable`, and per line item `tax_collectable`,
 *   `country_tax_collectable`, `country_tax_rate`, `country_taxable_amount`, `special_tax_rate`,
 *   `taxable_amount`, … (any further numeric breakdown field is passed through).
 * Per line item, `tax_collectable` (a float in MAJOR units: 9.0 → 900 cents) wins over its
 * `tax_rate`, which wins over the order's `tax_rate`. Rates are fractions from 0 to 1.
 * What Commerce Layer does on a timeout or a 5xx is UNVERIFIED (the general rule is 200 and skip).
 */
import { z } from 'zod'
import { defineExternal, type ExternalHandler, type ExternalResourceDefinition, type ExternalResourceOptions } from '../../external.ts'
import type { Order } from '../resources.ts'
import { addressKey, commerceLayerKind, lineItemsKey, majorUnits, metadata, rate, type CommerceLayerContext } from './kind.ts'

const taxLine = z
  .object({
    id: z.string({ error: 'expected the line item id' }).min(1),
    tax_rate: rate.optional(),
    tax_collectable: majorUnits.optional(),
    country_tax_collectable: majorUnits.optional(),
    country_tax_rate: rate.optional(),
    country_taxable_amount: majorUnits.optional(),
    special_tax_rate: rate.optional(),
    taxable_amount: majorUnits.optional(),
  })
  // Breakdowns vary by tax engine (state, county, city…): more fields pass, but only as scalars.
  .catchall(z.union([z.number().nonnegative(), z.string(), z.boolean(), z.null()]))

const schema = z
  .strictObject({
    tax_rate: rate.optional(),
    freight_taxable: z.boolean().optional(),
    line_items: z.array(taxLine).optional(),
    metadata: metadata.optional(),
  })
  .check((ctx) => {
    const { tax_rate, line_items } = ctx.value
    if (tax_rate === undefined && (!line_items || line_items.length === 0)) {
      ctx.issues.push({ code: 'custom', message: 'expected tax_rate for the order, or line_items with their own', input: ctx.value })
    }
    const ids = new Set<string>()
    line_items?.forEach((line, i) => {
      if (tax_rate === undefined && line.tax_rate === undefined && line.tax_collectable === undefined) {
        ctx.issues.push({
          code: 'custom',
          path: ['line_items', i],
          message: `line item ${line.id} has neither tax_rate nor tax_collectable, and the order has no tax_rate to fall back on`,
          input: line,
        })
      }
      if (ids.has(line.id)) ctx.issues.push({ code: 'custom', path: ['line_items', i, 'id'], message: `line item ${line.id} is listed twice`, input: line })
      ids.add(line.id)
    })
  })

export type TaxAnswer = z.input<typeof schema>

export const taxKind = commerceLayerKind<Order, z.output<typeof schema>>({
  kind: 'tax',
  dataTypes: ['orders'],
  schema,
  sameInput: (order) => ({
    order: order.id,
    currency_code: order.currency_code ?? null,
    market: order.market?.id ?? null,
    shipping_amount_cents: order.shipping_amount_cents ?? null,
    line_items: lineItemsKey(order.line_items),
    shipping_address: addressKey(order.shipping_address),
    billing_address: addressKey(order.billing_address),
  }),
})

/**
 * An external tax calculator: answers `tax_calculator_url`.
 *
 * @example
 * // external/tax.ts  →  POST /external/tax
 * export default commerceLayer.tax(
 *   (order) => ({
 *     line_items: (order.line_items ?? []).filter((li) => li.item_type === 'skus').map((li) => ({
 *       id: li.id, tax_rate: 0.22, tax_collectable: ((li.total_amount_cents ?? 0) * 0.22) / 100,
 *     })),
 *   }),
 *   { secrets: env('CL_SHARED_SECRET'), fallback: { answer: { tax_rate: 0.22 } } },
 * )
 */
export function tax(
  handler: ExternalHandler<Order, TaxAnswer, CommerceLayerContext>,
  options: ExternalResourceOptions<Order, TaxAnswer>,
): ExternalResourceDefinition<Order, TaxAnswer, CommerceLayerContext> {
  return defineExternal(taxKind, handler, options)
}
