/**
 * @module
 * The six kinds of external resource (reference/commerce-layer.md §3): which resource a call
 * sends as `data`, which resource holds its URL, shared secret and `external_includes`, which
 * one holds its circuit breaker, and the documented default `included` set.
 */
import type { ResourceStore, StoredResource } from './store.ts'

export type ExternalKind = 'order-validation' | 'price' | 'shipping' | 'promotion' | 'tax' | 'payment'
export type PaymentAction = 'authorize' | 'capture' | 'void' | 'refund' | 'token'

export const EXTERNAL_KINDS: readonly ExternalKind[] = ['order-validation', 'price', 'shipping', 'promotion', 'tax', 'payment']
export const PAYMENT_ACTIONS: readonly PaymentAction[] = ['authorize', 'capture', 'void', 'refund', 'token']

/** The default `included` of each kind, newest documented version (reference §3.1–§3.7). */
export const DEFAULT_INCLUDES: Readonly<Record<ExternalKind, readonly string[]>> = {
  'order-validation': ['billing_address', 'shipping_address', 'line_items', 'line_items.item', 'market', 'customer', 'shipments', 'shipments.shipping_method'],
  price: ['order', 'order.customer', 'order.customer.tags', 'order.line_items', 'order.market', 'item'],
  shipping: ['shipping_method', 'order'],
  promotion: ['market', 'customer', 'customer.tags', 'line_items', 'line_items.item', 'shipping_address', 'billing_address'],
  tax: ['market', 'line_items', 'line_items.item', 'shipping_address', 'billing_address'],
  payment: ['order', 'order.market', 'order.line_items', 'order.line_items.item', 'order.shipping_address', 'order.billing_address', 'order.customer', 'order.order_subscriptions'],
}

/** Where one call's pieces live. */
export interface CallTarget {
  /** Sent as `data`. */
  data: StoredResource
  /** Holds the URL (`urlAttribute`), `shared_secret` and `external_includes`. */
  config: StoredResource
  urlAttribute: string
  /** Holds `circuit_state` and `circuit_failure_count`. */
  owner: StoredResource
}

/** The resource the `data` of a payment action is (reference §3.4). */
const PAYMENT_DATA: Record<PaymentAction, string> = {
  authorize: 'external_payments',
  capture: 'authorizations',
  void: 'authorizations',
  refund: 'captures',
  // UNVERIFIED: the customer-token call's payload is not documented; the external payment is the likeliest.
  token: 'external_payments',
}

export class TargetError extends Error {}

/**
 * Finds the pieces of a call. `id` picks the `data` resource (default: the sample's), `ownerId`
 * the external promotion (the only kind with several owners for one order).
 */
export function resolveTarget(
  store: ResourceStore,
  kind: ExternalKind,
  options: { action?: PaymentAction; id?: string; ownerId?: string; sample: { order: StoredResource; lineItem: StoredResource; shipment: StoredResource; promotion: StoredResource; authorization: StoredResource; capture: StoredResource } },
): CallTarget {
  const { sample } = options
  const find = (type: string, id: string | undefined, fallback: StoredResource): StoredResource => {
    if (id === undefined) return fallback
    const found = store.get(type, id)
    if (!found) throw new TargetError(`no ${type} ${id}`)
    return found
  }
  const one = (from: StoredResource, name: string): StoredResource => {
    const found = store.follow(from, name)[0]
    if (!found) throw new TargetError(`${from.type} ${from.id} has no ${name}`)
    return found
  }
  switch (kind) {
    case 'order-validation': {
      const order = find('orders', options.id, sample.order)
      return { data: order, config: one(order, 'market'), urlAttribute: 'external_order_validation_url', owner: order }
    }
    case 'price': {
      const lineItem = find('line_items', options.id, sample.lineItem)
      return { data: lineItem, config: one(one(lineItem, 'order'), 'market'), urlAttribute: 'external_prices_url', owner: lineItem }
    }
    case 'shipping': {
      const shipment = find('shipments', options.id, sample.shipment)
      const method = one(shipment, 'shipping_method')
      return { data: shipment, config: method, urlAttribute: 'external_prices_url', owner: method }
    }
    case 'promotion': {
      const promotion = find('external_promotions', options.ownerId, sample.promotion)
      return { data: find('orders', options.id, sample.order), config: promotion, urlAttribute: 'promotion_url', owner: promotion }
    }
    case 'tax': {
      const order = find('orders', options.id, sample.order)
      const calculator = one(one(order, 'market'), 'tax_calculator')
      return { data: order, config: calculator, urlAttribute: 'tax_calculator_url', owner: calculator }
    }
    case 'payment': {
      const action = options.action ?? 'authorize'
      const type = PAYMENT_DATA[action]
      const fallback = type === 'authorizations' ? sample.authorization : type === 'captures' ? sample.capture : one(sample.order, 'payment_source')
      const data = find(type, options.id, fallback)
      const gateway = type === 'external_payments' ? one(data, 'payment_gateway') : one(one(one(data, 'order'), 'payment_source'), 'payment_gateway')
      return { data, config: gateway, urlAttribute: `${action}_url`, owner: gateway }
    }
  }
}

/** The includes of a call: the owner's `external_includes` when set, else the kind's defaults. */
export function includesFor(kind: ExternalKind, config: StoredResource): readonly string[] {
  const configured = config.attributes.external_includes
  return Array.isArray(configured) ? configured.filter((entry): entry is string => typeof entry === 'string') : DEFAULT_INCLUDES[kind]
}
