// actions/order-to-erp.ts: every saved order, enriched from Commerce, to the ERP.
// - The event is on disk before I/O Events gets its 200; the run is retried with backoff for days
//   while Commerce or the ERP fails, then waits in the dead list to be replayed.
// - Each call is a durable step: a retry after an ERP failure does not call Commerce again.
// - The ERP gets the same Idempotency-Key on every retry and replay; runs of one order execute
//   one at a time, in event order (orderingKey).
// - An event without entity_id is dead at once (getOrder refuses it before any request), with
//   the reason in the dashboard, instead of calling orders/undefined for a day.
// - event.payload is typed from the subscription: the CloudEvent I/O Events delivers, the order
//   in data.value (entity_id, increment_id, items, … as CommerceOrderData; only the fields the
//   Commerce subscription lists are sent).
import { onEvent, type AdobeCommerceClient, type HttpClient } from 'storehook'

export default onEvent(
  { types: 'observer.sales_order_save_after', source: 'commerce', orderingKey: 'data.value.entity_id' },
  async (event, { connections, signal, idempotencyKey, logger, step }) => {
    const commerce: AdobeCommerceClient = connections.commerce
    const erp: HttpClient = connections.erp
    // Commerce sends the fields the subscription lists (event.payload.data.value); not extension_attributes.
    const order = { ...event.payload.data.value }
    if (order.extension_attributes === undefined) {
      order.extension_attributes = await step('fetch extension_attributes', async () => {
        return (await commerce.getOrder(order.entity_id, { signal })).extension_attributes ?? null
      })
    }
    const status = await step('send to ERP', async () => (await erp.post('orders', { json: order, idempotencyKey, signal })).status)
    logger.info({ entityId: order.entity_id, status }, 'order sent to the ERP')
  },
)
