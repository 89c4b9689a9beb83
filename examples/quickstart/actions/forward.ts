import { onEvent, type HttpClient } from 'storehook'

// Every event, whatever its type, is POSTed to FORWARD_URL. The event id goes along as the
// Idempotency-Key so the receiver can drop the repeats that at-least-once delivery allows.
// A non-2xx answer throws: 4xx (but 408/409/425/429) makes the run dead at once, anything else is
// retried with backoff for days, then dead-lettered for replay.
export default onEvent('*', async (event, { connections, signal }) => {
  const forward: HttpClient = connections.forward
  await forward.post('', { json: event.payload, idempotencyKey: event.id, signal })
})
