/**
 * The seed's flow end to end, with `examples/order-to-erp` exactly as shipped and the three
 * simulators: Adobe I/O Events delivers signed order events, the action calls Adobe Commerce back
 * with OAuth 1.0a for the order's extension_attributes, and the ERP receives the order — once per
 * event, through an ERP outage, duplicated deliveries and Commerce rate limiting.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { startCommerceSimulator } from '../src/testkit/commerce-simulator.ts'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { startIoEventsSimulator } from '../src/testkit/io-events-simulator.ts'
import { eventually, makeProject, REPO_ROOT, start } from './helpers.ts'

const io = await startIoEventsSimulator({ timeScale: 0.001 })
const commerce = await startCommerceSimulator()
const erp = await startErpSimulator()
after(() => Promise.all([io.close(), commerce.close(), erp.close()]))

// The example reads everything from the environment, as it would in production.
Object.assign(process.env, {
  IO_CLIENT_ID: io.clientId,
  IO_EVENTS_PUBLIC_KEY_BASE_URL: io.publicKeyBaseUrl,
  COMMERCE_BASE_URL: `${commerce.url}/`,
  COMMERCE_CONSUMER_KEY: commerce.credentials.consumerKey,
  COMMERCE_CONSUMER_SECRET: commerce.credentials.consumerSecret,
  COMMERCE_ACCESS_TOKEN: commerce.credentials.accessToken,
  COMMERCE_ACCESS_TOKEN_SECRET: commerce.credentials.accessTokenSecret,
  ERP_URL: erp.url,
})
const storehook = await start({ project: join(REPO_ROOT, 'examples/order-to-erp'), db: `sqlite:${join(makeProject({}), 'store.db')}` })
const endpoint = `${storehook.url}/events/commerce`
const admin = async (path: string) => (await fetch(`${storehook.url}/admin/api${path}`)).json() as Promise<any>

const ORDER_SAVED = 'com.adobe.commerce.observer.sales_order_save_after'
let nextEntityId = 100

/** A new order in the shop, and the event Commerce emits for it (without extension_attributes). */
function newOrder() {
  const entityId = nextEntityId++
  commerce.seedOrder({ entity_id: entityId, extension_attributes: { erp_customer_code: `C-${entityId}` } } as never)
  return { entityId, event: io.cloudEvent(ORDER_SAVED, { entity_id: entityId, increment_id: `0000${entityId}`, grand_total: 42.5 }) }
}

const erpOrders = (entityId: number) => erp.accepted().filter((d) => JSON.parse(d.body).entity_id === entityId)

describe('examples/order-to-erp', () => {
  it('enriches the order from Commerce with a signed callback and delivers it to the ERP once', async () => {
    const { entityId, event } = newOrder()
    assert.equal(await io.publish(endpoint, event).outcome, 'delivered')
    await eventually(() => erpOrders(entityId).length === 1, 10_000, 'the ERP to receive the order')
    const [delivery] = erpOrders(entityId)
    assert.equal(delivery!.path, '/orders')
    assert.deepEqual(JSON.parse(delivery!.body).extension_attributes, { erp_customer_code: `C-${entityId}` })
    assert.equal(delivery!.idempotencyKey, `order-to-erp:commerce:${event.eventid}`)
    const callback = commerce.requests.find((r) => r.resource === `orders/${entityId}`)!
    assert.equal(callback.auth, 'oauth1')
    assert.equal(callback.status, 200)
    assert.equal(callback.form, 'rest', 'the seed URL form: rest/V1/orders/<id>')
  })

  it('turns duplicated deliveries from I/O Events into one ERP order', async () => {
    const { entityId, event } = newOrder()
    assert.equal(await io.publish(endpoint, event, { duplicates: 3 }).outcome, 'delivered')
    await eventually(() => erpOrders(entityId).length >= 1, 10_000, 'the ERP to receive the order')
    const { runs } = await admin(`/events/commerce/${event.eventid}`)
    await eventually(async () => (await admin(`/runs/${runs[0].id}`)).run.state === 'succeeded', 10_000, 'the run to succeed')
    assert.equal(runs.length, 1)
    assert.equal(erpOrders(entityId).length, 1)
  })

  it('retries a Commerce 429 no sooner than its Retry-After', async () => {
    const { entityId, event } = newOrder()
    commerce.respondWith({ status: 429, retryAfter: 1 })
    assert.equal(await io.publish(endpoint, event).outcome, 'delivered')
    await eventually(() => erpOrders(entityId).length === 1, 30_000, 'the ERP to receive the throttled order')
    const calls = commerce.requests.filter((r) => r.resource === `orders/${entityId}` || r.status === 429)
    const throttled = calls.find((r) => r.status === 429)!
    const accepted = calls.find((r) => r.status === 200 && r.resource === `orders/${entityId}`)!
    assert.ok(accepted.at - throttled.at >= 1000, `retried after ${accepted.at - throttled.at} ms`)
  })

  it('delivers every order that arrived while the ERP was down, and none goes dead', { timeout: 90_000 }, async () => {
    erp.setDown(true)
    const orders = [newOrder(), newOrder(), newOrder()]
    for (const { event } of orders) assert.equal(await io.publish(endpoint, event).outcome, 'delivered')
    await eventually(() => orders.every(({ entityId }) => erp.deliveries.some((d) => d.status === 503 && JSON.parse(d.body).entity_id === entityId)), 10_000, 'each order to meet the outage')
    await new Promise((resolve) => setTimeout(resolve, 500))
    erp.setDown(false)
    // The default policy's first retries wait up to 10 s and 20 s (full jitter).
    await eventually(() => orders.every(({ entityId }) => erpOrders(entityId).length === 1), 60_000, 'every order after the outage')
    assert.equal((await admin('/runs?state=dead')).runs.length, 0)
    // Durable steps: the ERP's failures were retried without fetching the order again.
    for (const { entityId } of orders) assert.equal(commerce.requests.filter((r) => r.resource === `orders/${entityId}`).length, 1)
  })

  it('makes an event without entity_id dead at once, with a message that says why', async () => {
    const event = io.cloudEvent(ORDER_SAVED, { increment_id: '000000999' })
    assert.equal(await io.publish(endpoint, event).outcome, 'delivered')
    const run = await eventually(async () => {
      const { runs } = await admin(`/events/commerce/${event.eventid}`)
      const { run } = await admin(`/runs/${runs[0].id}`)
      return run.state === 'dead' ? run : null
    }, 10_000, 'the run to go dead')
    assert.equal(run.attempts, 1)
    assert.match(run.lastError, /entity_id|order id/i)
  })
})
