import { onEvent, type AdobeCommerceClient, type HttpClient } from 'storehook'

// What the seed's App Builder action did, without its failure modes:
// - the event is on disk before I/O Events gets its 200, and the ERP call is awaited and retried
//   with backoff for days (the seed fired it without await and lost the order on any ERP error);
// - each run works on its own copy of the payload (the seed wrote an undeclared global, shared by
//   every event the container handled at once);
// - an event without entity_id is a PermanentError: dead at once, with a message, instead of
//   `orders/undefined` and a day of retries;
// - the ERP gets the same Idempotency-Key on every retry and replay, so it can drop repeats;
// - runs of one order execute one at a time, in event order (orderingKey);
// - each call is a durable step: a retry after an ERP failure does not fetch the order from
//   Commerce again (nor spend its rate limit), it goes straight to the ERP.
export default onEvent(
  { types: 'observer.sales_order_save_after', source: 'commerce', orderingKey: 'data.value.entity_id' },
  async (event, { connections, signal, idempotencyKey, logger, step }) => {
    const commerce: AdobeCommerceClient = connections.commerce
    const erp: HttpClient = connections.erp
    // The order as the subscription lists its fields (CommerceOrderData: entity_id, items, …).
    const order = { ...event.payload.data.value }
    if (order.extension_attributes === undefined) {
      // getOrder refuses a missing or non-numeric id with a PermanentError before any request.
      order.extension_attributes = await step('fetch extension_attributes', async () => {
        return (await commerce.getOrder(order.entity_id, { signal })).extension_attributes ?? null
      })
    }
    const status = await step('send to ERP', async () => (await erp.post('orders', { json: order, idempotencyKey, signal })).status)
    logger.info({ entityId: order.entity_id, status }, 'order sent to the ERP')
  },
)
