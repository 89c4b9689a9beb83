// orders.place from Commerce Layer's webhook (POST /events/cl) to ${ERP_URL}/orders.
// - The event is on disk before Commerce Layer gets its 2xx, well within its 5 s.
// - Commerce Layer retries up to 10 times and sends no delivery id: storehook derives the event id
//   from the topic, the order id and its updated_at, so a redelivery is a duplicate, never a new run.
// - The ERP gets the same Idempotency-Key on every retry and replay of this run, and runs of one
//   order execute one at a time (orderingKey).
import { commerceLayer, onEvent, type HttpClient } from 'storehook'

export default onEvent(
  { types: 'orders.place', source: 'cl', orderingKey: 'data.id' },
  async (event, { connections, signal, idempotencyKey, logger }) => {
    const erp: HttpClient = connections.erp
    // An Order (typed from the topic), with what the webhook's include_resources brought; anything not included is simply absent.
    const order = commerceLayer.parseJsonApi(event.payload).data
    await erp.post('orders', {
      json: {
        commerce_layer_id: order.id,
        number: order.number,
        placed_at: order.placed_at ?? null,
        customer_email: order.customer_email ?? null,
        currency: order.currency_code ?? null,
        total_cents: order.total_amount_with_taxes_cents ?? order.total_amount_cents ?? null,
        lines: (order.line_items ?? [])
          .filter((li) => li.item_type === 'skus')
          .map((li) => ({ sku: li.sku_code, quantity: li.quantity, unit_cents: li.unit_amount_cents, total_cents: li.total_amount_cents })),
        ship_to: order.shipping_address
          ? { name: order.shipping_address.full_name ?? null, city: order.shipping_address.city, country: order.shipping_address.country_code }
          : null,
      },
      idempotencyKey,
      signal,
    })
    logger.info({ order: order.id, number: order.number }, 'placed order sent to the ERP')
  },
)
