/**
 * @module
 * What `event.payload` holds, by event type, so that `onEvent` types its handler from the
 * subscription: `onEvent('observer.sales_order_save_after', (event) => …)` gets the Adobe Commerce
 * CloudEvent with the order in `data.value`, `onEvent('orders.place', …)` the Commerce Layer
 * webhook's JSON:API document of an order. A type not listed here (`order.*`, your own) keeps
 * `any`, as before.
 */
import type { CommerceEvents } from '../sources/adobe-io-events/commerce-events.ts'
import type { CommerceLayerWebhooks } from '../sources/commerce-layer/webhook-payloads.ts'

/**
 * `event.payload` by event type: the common Adobe Commerce events (from an `adobe-io-events`
 * source) and Commerce Layer webhook topics (from a `commerce-layer` source). Add your own
 * event types by augmenting it.
 *
 * @example
 * // anywhere in the project, e.g. types.d.ts
 * declare module 'storehook' {
 *   interface EventPayloads {
 *     'order.created': { type: 'order.created'; data: { order_id: string; total_cents: number } }
 *   }
 * }
 * // actions/forward.ts: event.payload.data.order_id is a string
 * export default onEvent('order.created', async (event) => console.log(event.payload.data.order_id))
 */
export interface EventPayloads extends CommerceEvents, CommerceLayerWebhooks {}

/**
 * The payload of events of `Type`: a union of them for several types, and `any` as soon as one
 * type (a pattern such as `order.*`, a type of your own) is not in {@link EventPayloads}.
 */
export type PayloadOf<Type extends string> = Type extends keyof EventPayloads ? EventPayloads[Type] : any
