// Delivers one `observer.sales_order_save_after` event to storehook, built and signed exactly as
// Adobe I/O Events delivers it (storehook's testkit simulator: CloudEvent, headers, RSA signatures
// whose public keys it serves on 127.0.0.1 for the time of the delivery).
// Start storehook with IO_CLIENT_ID=demo and IO_EVENTS_PUBLIC_KEY_BASE_URL=http://127.0.0.1:4100, then:
//   node examples/app-builder/send-order-event.mts 42
// STOREHOOK_URL (default http://127.0.0.1:3000), IO_CLIENT_ID (default demo) and
// IO_EVENTS_KEY_PORT (default 4100) change where it sends, whom it addresses and where its keys are.
import { startIoEventsSimulator } from '../../src/testkit/io-events-simulator.ts'

const [entityId = '42'] = process.argv.slice(2)
if (!/^\d+$/.test(entityId)) throw new Error(`usage: node send-order-event.mts <entity_id>; "${entityId}" is not an order's entity_id`)
const url = `${process.env.STOREHOOK_URL ?? 'http://127.0.0.1:3000'}/events/io-events`
const io = await startIoEventsSimulator({ port: Number(process.env.IO_EVENTS_KEY_PORT ?? 4100), clientId: process.env.IO_CLIENT_ID || 'demo' })
try {
  // Commerce sends the fields subscribed; extension_attributes is not among them, so the action fetches them.
  const event = io.cloudEvent('com.adobe.commerce.observer.sales_order_save_after', {
    entity_id: Number(entityId),
    increment_id: entityId.padStart(9, '0'),
    status: 'pending',
  })
  const response = await io.deliver(url, event)
  console.log(`${response.status} ${await response.text()}  (eventid ${String(event.eventid)})`)
  if (!response.ok) process.exitCode = 1
} finally {
  await io.close()
}
