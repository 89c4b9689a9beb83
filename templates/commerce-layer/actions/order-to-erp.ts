// actions/order-to-erp.ts: orders.place from the Commerce Layer webhook (POST /events/cl) to the ERP.
// - The event is on disk before Commerce Layer gets its 2xx, well within its 5 s.
// - Commerce Layer sends no delivery id and retries up to 10 times: storehook derives the event id
//   from the topic, the order id and its updated_at, so a redelivery is a duplicate, never a new run.
// - The ERP gets the same Idempotency-Key on every retry and replay; runs of one order execute one
//   at a time (orderingKey).
// - event.payload is typed from the subscription: the webhook's JSON:API document of an order.
import { commerceLayer, onEvent, type HttpClient } from 'storehook'

export default onEvent(
  { types: 'orders.place', source: 'cl', orderingKey: 'data.id' },
  async (event, { connections, signal, idempotencyKey, logger }) => {
    const erp: HttpClient = connections.erp
    // The JSON:API document with its `included` resolved: an Order, with order.line_items, order.customer…
    const order = commerceLayer.parseJsonApi(event.payload).data
    await erp.post('orders', {
      json: {
        commerce_layer_id: order.id,
        number: order.number,
        customer_email: order.customer_email ?? null,
        currency: order.currency_code ?? null,
        total_cents: order.total_amount_with_taxes_cents ?? order.total_amount_cents ?? null,
        lines: (order.line_items ?? [])
          .filter((li) => li.item_type === 'skus')
          .map((li) => ({ sku: li.sku_code, quantity: li.quantity, unit_cents: li.unit_amount_cents })),
      },
      idempotencyKey,
      signal,
    })
    logger.info({ order: order.id, number: order.number }, 'placed order sent to the ERP')
  },
)
