/**
 * Type-level tests of the public SDK, never run: `tsc -p .` (the first step of `npm test`) fails
 * when a payload type stops flowing from the subscription to the handler (a field that is no
 * longer typed, a payload that became `any`), because each `@ts-expect-error` below then has no
 * error to expect, or a typed assignment stops compiling.
 */
import {
  commerceLayer,
  type AdobeCommerceClient,
  env,
  onEvent,
  type ActionEvent,
  type CommerceCloudEvent,
  type CommerceNumber,
  type CommerceOrderData,
  type CommerceProductData,
  type CommerceShipmentData,
  type JsonApiDocument,
  type LineItem,
  type Order,
  type PayloadOf,
} from 'storehook'

/** true when A and B are the same type (any is only equal to any). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const expect = <T extends true>(): T => true as T

// An event type the project declares for itself, by augmenting EventPayloads.
declare module 'storehook' {
  interface EventPayloads {
    'sdk-types.ticket_opened': { type: 'sdk-types.ticket_opened'; data: { ticket_id: string; priority: 1 | 2 | 3 } }
  }
}

export const adobeCommerceOrder = onEvent('observer.sales_order_save_after', (event) => {
  expect<Equal<typeof event.payload, CommerceCloudEvent<CommerceOrderData>>>()
  const order = event.payload.data.value
  const entityId: CommerceNumber | undefined = order.entity_id
  const incrementId: string | undefined = order.increment_id
  const skus: (string | undefined)[] | undefined = order.items?.map((item) => item.sku)
  const method: string | undefined = order.payment?.method
  // @ts-expect-error entity_id is a number or a numeric string, never a boolean
  const wrong: boolean = order.entity_id
  // @ts-expect-error a field the order does not have is unknown, not any
  const misspelled: string = order.incremnt_id
  return [entityId, incrementId, skus, method, wrong, misspelled]
})

// The README's pattern: an event's entity_id goes to getOrder as it comes (it refuses a missing one at run time).
export const fetchOrder = onEvent('observer.sales_order_save_after', (event, ctx) =>
  (ctx.connections.commerce as AdobeCommerceClient).getOrder(event.payload.data.value.entity_id, { signal: ctx.signal }),
)

export const withOptions = onEvent(
  {
    types: 'observer.sales_order_shipment_save_after',
    source: 'commerce',
    // The options' functions get the typed event too.
    orderingKey: (event) => event.payload.data.value.order_id,
    version: 'data.value.updated_at',
  },
  (event) => {
    expect<Equal<typeof event.payload.data.value, CommerceShipmentData>>()
    const tracks: (string | undefined)[] | undefined = event.payload.data.value.tracks?.map((track) => track.track_number)
    return tracks
  },
)

export const severalTypes = onEvent(['observer.catalog_product_save_after', 'observer.sales_order_save_after'], (event) => {
  expect<Equal<typeof event.payload.data.value, CommerceProductData | CommerceOrderData>>()
})

// A pattern, a type of nobody's, or a plain string: `any`, as before typed payloads.
export const pattern = onEvent('order.*', (event) => expect<Equal<typeof event.payload, any>>())
export const untyped = onEvent({ types: ['observer.sales_order_save_after', 'erp.order_acknowledged'] }, (event) => expect<Equal<typeof event.payload, any>>())
const someType: string = 'order.created'
export const fromString = onEvent(someType, (event) => expect<Equal<typeof event.payload, any>>())

// An explicit payload type wins, as it always did.
export const explicit = onEvent<{ data: { order_id: string } }>('order.created', (event) => {
  const id: string = event.payload.data.order_id
  return id
})

export const augmented = onEvent('sdk-types.ticket_opened', (event) => {
  const priority: 1 | 2 | 3 = event.payload.data.priority
  // @ts-expect-error the declared payload has no such field
  return [priority, event.payload.data.ticket_title.length]
})

export const commerceLayerWebhook = onEvent('orders.place', (event) => {
  const number: string | undefined = event.payload.data.attributes.number
  expect<Equal<typeof event.payload.data.type, 'orders'>>()
  // parseJsonApi knows the resource from the payload: an order, relationships resolved.
  const document = commerceLayer.parseJsonApi(event.payload)
  expect<Equal<typeof document, JsonApiDocument<Order>>>()
  const lineItem = document.data.line_items?.[0]
  const sku: string | null | undefined = lineItem?.sku_code
  const quantity: number | undefined = lineItem?.quantity
  // @ts-expect-error sku_code is a string (or null), not a number
  const wrong: number | undefined = lineItem?.sku_code
  return [number, sku, quantity, wrong]
})

export const shipped = onEvent('shipments.ship', (event) => {
  const shipment = commerceLayer.parseJsonApi(event.payload).data
  const method: string | undefined = shipment.shipping_method?.name
  return method
})

export const price = commerceLayer.price(
  (lineItem) => {
    expect<Equal<typeof lineItem, LineItem>>()
    const sku: string | null | undefined = lineItem.sku_code
    // @ts-expect-error unit_amount_cents is a number (or null)
    const cents: string = lineItem.unit_amount_cents
    return { unit_amount_cents: sku === 'FREE' ? 0 : Number(cents) }
  },
  { secrets: env('CL_SHARED_SECRET') },
)

// The building blocks, for a handler written apart from its onEvent.
export function handleOrder(event: ActionEvent<PayloadOf<'observer.sales_order_save_after'>>): CommerceNumber | undefined {
  return event.payload.data.value.entity_id
}
export const separate = onEvent('observer.sales_order_save_after', handleOrder)
