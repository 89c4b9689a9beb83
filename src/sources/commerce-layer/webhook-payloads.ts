/**
 * @module
 * What a Commerce Layer webhook delivers, typed by topic: the JSON:API document of the resource
 * (its `GET` plus the webhook's `include_resources`; shared/reference/commerce-layer.md §5), which
 * an action consuming a `commerce-layer` source gets as `event.payload`. Relationships are
 * identifiers there; `commerceLayer.parseJsonApi(event.payload)` resolves them through `included`
 * and knows the resource from the payload's type: `.data` is an {@link Order} for `orders.*`.
 */
import type { Resource, ResourceIdentifier } from './json-api.ts'
import type { Address, Customer, LineItem, Market, Order, Shipment, ShippingMethod, Sku, Transaction } from './resources.ts'

/** The typed resources (resources.ts), by JSON:API type. */
export interface CommerceLayerResources {
  orders: Order
  line_items: LineItem
  shipments: Shipment
  customers: Customer
  addresses: Address
  markets: Market
  skus: Sku
  shipping_methods: ShippingMethod
  authorizations: Transaction
  captures: Transaction
  voids: Transaction
  refunds: Transaction
}

/** A resource's attributes: its fields without `id`, `type` and the relationships. */
export type ResourceAttributes<R> = {
  [K in keyof R as K extends 'id' | 'type' ? never : NonNullable<R[K]> extends Resource | readonly Resource[] ? never : K]: R[K]
}

/** One resource object as JSON:API writes it. */
export interface JsonApiResourceObject<Type extends string = string, Attributes = Record<string, unknown>> {
  id: string
  type: Type
  attributes: Attributes
  relationships?: Record<string, { data?: ResourceIdentifier | ResourceIdentifier[] | null; links?: Record<string, string> }>
  links?: { self?: string }
  /** `{ mode: 'live' | 'test', organization_id }`. */
  meta?: { mode?: 'live' | 'test'; organization_id?: string; [key: string]: unknown }
}

/**
 * The body of a webhook about a resource of `Type`.
 *
 * @example
 * export default onEvent('orders.place', async (event) => {
 *   event.payload.data.attributes.number // the raw document, as stored
 *   const order = commerceLayer.parseJsonApi(event.payload).data // Order, relationships resolved
 *   order.line_items?.map((lineItem) => lineItem.sku_code)
 * })
 */
export interface CommerceLayerWebhookPayload<Type extends keyof CommerceLayerResources = keyof CommerceLayerResources> {
  data: JsonApiResourceObject<Type, ResourceAttributes<CommerceLayerResources[Type]>>
  /** The webhook's `include_resources`. */
  included?: JsonApiResourceObject[]
  meta?: { mode?: 'live' | 'test'; organization_id?: string; [key: string]: unknown }
}

type Topics<Type extends keyof CommerceLayerResources, Events extends string> = { [Topic in `${Type}.${Events}`]: CommerceLayerWebhookPayload<Type> }

/** The payload of each webhook topic (`X-CommerceLayer-Topic`, the event type), for the typed resources. */
export interface CommerceLayerWebhooks
  extends Topics<
      'orders',
      | 'create'
      | 'draft'
      | 'pending'
      | 'place'
      | 'approve'
      | 'cancel'
      | 'authorize'
      | 'void'
      | 'pay'
      | 'refund'
      | 'start_fulfilling'
      | 'cancel_fulfilling'
      | 'fulfill'
      | 'rebuild_shipments'
      | 'destroy'
    >,
    Topics<'shipments', 'create' | 'upcoming' | 'cancel' | 'on_hold' | 'picking' | 'packing' | 'ready_to_ship' | 'ship' | 'deliver' | 'destroy'>,
    Topics<'customers', 'create' | 'acquired' | 'repeat' | 'create_password' | 'metadata_update' | 'anonymization_completed' | 'destroy'>,
    Topics<'authorizations', 'create' | 'succeeded'>,
    Topics<'captures', 'create'>,
    Topics<'voids', 'create'>,
    Topics<'refunds', 'create' | 'succeeded' | 'failed'> {}
