/**
 * Adobe I/O Events deliveries through a real storehook over HTTP on 127.0.0.1: the handshake, a
 * signed Commerce event reaching the action subscribed to its unprefixed name, batches,
 * redeliveries, and refusals that store nothing.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { startIoEventsSimulator } from '../src/testkit/io-events-simulator.ts'
import { makeProject, start } from './helpers.ts'

const io = await startIoEventsSimulator()
const erp = await startErpSimulator()
after(() => Promise.all([io.close(), erp.close()]))

const project = makeProject({
  'storehook.config.ts': `import { defineConfig } from 'storehook'
export default defineConfig({
  sources: { commerce: { kind: 'adobe-io-events', clientId: '${io.clientId}', publicKeyBaseUrl: '${io.publicKeyBaseUrl}' } },
  connections: { erp: { kind: 'http', baseUrl: '${erp.url}/orders' } },
  worker: { pollIntervalMs: 50 },
})`,
  'actions/order-to-erp.ts': `import { onEvent } from 'storehook'
export default onEvent('observer.sales_order_save_after', async (event, { connections }) => {
  await connections.erp.post('', { json: event.payload.data.value, idempotencyKey: event.id })
})`,
})
const storehook = await start({ project })
const endpoint = `${storehook.url}/events/commerce`
const admin = async (path: string) => (await fetch(`${storehook.url}/admin/api${path}`)).json() as Promise<any>

describe('adobe-io-events over HTTP', () => {
  it('answers the challenge handshake as text and as JSON', async () => {
    const text = await fetch(`${endpoint}?challenge=abc-123`)
    assert.equal(text.status, 200)
    assert.match(text.headers.get('content-type')!, /^text\/plain/)
    assert.equal(await text.text(), 'abc-123')
    const json = await fetch(`${endpoint}?challenge=abc-123`, { headers: { accept: 'application/json' } })
    assert.deepEqual(await json.json(), { challenge: 'abc-123' })
    assert.equal((await fetch(endpoint)).status, 400)
  })

  it('runs the action on observer.x for a prefixed code, once however often Adobe redelivers', async () => {
    const order = io.cloudEvent('com.adobe.commerce.my_app.observer.sales_order_save_after', { entity_id: '42', increment_id: '000000042' })
    for (let i = 0; i < 3; i++) assert.equal((await io.deliver(endpoint, order)).status, 200)
    const [delivered] = await erp.waitForAccepted(1)
    assert.deepEqual(JSON.parse(delivered!.body), { entity_id: '42', increment_id: '000000042' })
    assert.equal(delivered!.idempotencyKey, order.eventid)
    const { event } = await admin(`/events/commerce/${order.eventid}`)
    assert.equal(event.type, 'observer.sales_order_save_after')
    assert.equal(event.duplicateDeliveries, 2)
    const { runs } = await admin(`/events/commerce/${order.eventid}`)
    assert.equal(runs.length, 1)
    assert.equal(erp.accepted().filter((d) => d.idempotencyKey === order.eventid).length, 1)
  })

  it('stores every event of a batch', async () => {
    const batch = [1, 2, 3].map((n) => io.cloudEvent('com.adobe.commerce.observer.sales_order_save_after', { entity_id: String(n) }))
    const response = await io.deliver(endpoint, batch)
    assert.equal(response.status, 200)
    assert.equal(((await response.json()) as { received: number }).received, 3)
    for (const cloudEvent of batch) assert.equal((await fetch(`${storehook.url}/admin/api/events/commerce/${cloudEvent.eventid}`)).status, 200)
  })

  it('refuses a forged delivery and one for another client with 401, storing nothing', async () => {
    const forged = io.cloudEvent('com.adobe.commerce.observer.sales_order_save_after', { entity_id: '666' })
    assert.equal((await io.deliver(endpoint, forged, { signWith: 'forged' })).status, 401)
    const misaddressed = io.cloudEvent('com.adobe.commerce.observer.sales_order_save_after', {}, { recipientClientId: 'other' })
    assert.equal((await io.deliver(endpoint, misaddressed)).status, 401)
    for (const cloudEvent of [forged, misaddressed]) {
      assert.equal((await fetch(`${storehook.url}/admin/api/events/commerce/${cloudEvent.eventid}`)).status, 404)
    }
  })

  it('shows a POSTed validationUrl in the admin API for the user to open', async () => {
    const validationUrl = 'https://csm.adobe.io/csm/registrations/validate?id=r1&challenge=c1'
    assert.equal((await io.deliver(endpoint, { validationUrl } as Record<string, unknown>)).status, 200)
    const { sources } = await admin('/sources')
    assert.equal(sources[0].pendingValidations[0].validationUrl, validationUrl)
  })
})
