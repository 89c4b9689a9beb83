// actions/forward.ts: the file's path names the action, "forward".
// Every order.* event from the webhooks source is POSTed to ${ERP_URL}/orders.
// - The event is on disk before the sender gets its 200; this run is retried with backoff until
//   the ERP accepts it (a 5xx, 429 or no answer), or goes dead at once when retrying cannot help
//   (a 4xx, or the PermanentError below). Dead runs wait in the dashboard to be replayed.
// - The ERP gets the same Idempotency-Key on every retry and replay, so it can drop repeats.
// - Events of one order run one at a time, in the order they arrived (orderingKey).
import { onEvent, PermanentError, type HttpClient } from 'storehook'

export default onEvent(
  { types: 'order.*', source: 'webhooks', orderingKey: 'data.order_id' },
  async (event, { connections, idempotencyKey, signal, logger }) => {
    const erp: HttpClient = connections.erp
    const order = event.payload.data
    if (!order?.order_id) throw new PermanentError('the event has no data.order_id: retrying cannot help')
    const response = await erp.post('orders', { json: { event: event.type, ...order }, idempotencyKey, signal })
    logger.info({ orderId: order.order_id, status: response.status }, 'order sent to the ERP')
  },
)
