/**
 * @module
 * External shipping costs (shared/reference/commerce-layer.md §3.3): a shipping method with
 * `scheme: "external"` calls its `external_prices_url` with the shipment (shipping method and,
 * lately, order included) when the method is selected. On a timeout or a 5xx Commerce Layer
 * answers 200 and uses the method's default price.
 *
 * The success shape is UNVERIFIED: the documentation's response block could not be retrieved. The
 * default expects `{ shipping_amount_cents, metadata? }`; `amountField` renames the amount and
 * `schema` replaces the whole check, so a confirmed shape needs no storehook release.
 */
import { z } from 'zod'
import { defineExternal, type ExternalHandler, type ExternalResourceDefinition, type ExternalResourceOptions } from '../../external.ts'
import type { Shipment } from '../resources.ts'
import { addressKey, cents, commerceLayerKind, metadata, type CommerceLayerContext } from './kind.ts'

export const DEFAULT_SHIPPING_AMOUNT_FIELD = 'shipping_amount_cents'

export type ShippingAnswer = Record<string, unknown>

export interface ShippingOptions extends ExternalResourceOptions<Shipment, ShippingAnswer> {
  /** The name of the amount in the answer (UNVERIFIED); default `shipping_amount_cents`. */
  amountField?: string
  /** Replaces the default check of the answer (`data`) entirely. */
  schema?: z.ZodType<Record<string, unknown>>
}

function shippingKind(options: Pick<ShippingOptions, 'amountField' | 'schema'>) {
  const field = options.amountField ?? DEFAULT_SHIPPING_AMOUNT_FIELD
  const schema = options.schema ?? z.strictObject({ [field]: cents, metadata: metadata.optional() })
  return commerceLayerKind<Shipment, Record<string, unknown>>({
    kind: 'shipping',
    dataTypes: ['shipments'],
    schema,
    sameInput: (shipment) => ({
      shipping_method: shipment.shipping_method?.id ?? null,
      currency_code: shipment.currency_code ?? null,
      skus_count: shipment.skus_count ?? null,
      // A shipment's contents are its stock line items, rarely included; the order stands in.
      order: shipment.order?.id ?? null,
      subtotal: shipment.order?.subtotal_amount_cents ?? null,
      address: addressKey(shipment.shipping_address ?? shipment.order?.shipping_address),
    }),
  })
}

/**
 * An external shipping cost: answers a shipping method's `external_prices_url`.
 *
 * @example
 * // external/shipping.ts  →  POST /external/shipping
 * export default commerceLayer.shipping(
 *   (shipment) => ({ shipping_amount_cents: shipment.skus_count! > 3 ? 0 : 700 }),
 *   { secrets: env('CL_SHARED_SECRET'), fallback: { answer: { shipping_amount_cents: 900 } } },
 * )
 */
export function shipping(
  handler: ExternalHandler<Shipment, ShippingAnswer, CommerceLayerContext>,
  options: ShippingOptions,
): ExternalResourceDefinition<Shipment, ShippingAnswer, CommerceLayerContext> {
  const { amountField, schema, ...rest } = options ?? ({} as ShippingOptions)
  return defineExternal(shippingKind({ amountField, schema } as ShippingOptions), handler, rest as ExternalResourceOptions)
}
