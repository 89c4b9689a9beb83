import { after, afterEach, before, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { startCommerceLayerSimulator, type CommerceLayerSimulator } from '../commerce-layer-simulator.ts'
import { startTestEndpoint, type TestEndpoint } from './test-endpoint.ts'

let cl: CommerceLayerSimulator
let endpoint: TestEndpoint
const order = () => ({ type: 'orders', id: cl.sample.order.id })

before(async () => {
  endpoint = await startTestEndpoint()
})
after(() => endpoint.close())
beforeEach(async () => {
  cl = await startCommerceLayerSimulator({ webhookTimeoutMs: 200, webhookRetryDelayMs: () => 1 })
  endpoint.received.length = 0
  endpoint.answer = () => ({ status: 204 })
})
afterEach(() => cl.close())

describe('commerce layer simulator: webhooks', () => {
  test('POSTs the resource with include_resources, the topic header and the signature of the raw body', async () => {
    const { sharedSecret } = cl.createWebhook({ topic: 'orders.place', callbackUrl: `${endpoint.url}/events/cl`, includeResources: ['customer', 'line_items'] })
    cl.createWebhook({ topic: 'orders.cancel', callbackUrl: `${endpoint.url}/other` })
    const [delivery, ...others] = await cl.fire('orders.place', order())
    assert.equal(others.length, 0)
    assert.deepEqual([delivery?.delivered, delivery?.attempts.length], [true, 1])
    const [request] = endpoint.received
    assert.equal(request?.path, '/events/cl')
    assert.equal(request?.headers['x-commercelayer-topic'], 'orders.place')
    assert.equal(request?.headers['x-commercelayer-signature'], createHmac('sha256', sharedSecret).update(request?.body ?? '').digest('base64'))
    const body = JSON.parse(request?.body ?? '{}') as { data: { type: string; links: { self: string } }; included: { type: string }[] }
    assert.equal(body.data.type, 'orders')
    assert.equal(body.data.links.self, `/api/orders/${cl.sample.order.id}`)
    assert.deepEqual([...new Set(body.included.map((resource) => resource.type))].sort(), ['customers', 'line_items'])
    assert.equal(cl.eventCallbacks[0]?.response_code, 204)
    assert.equal(cl.store.list('event_callbacks').length, 1)
  })

  test('a failed delivery is retried up to 10 times; a timeout is a failure; a success ends it and resets the count', async () => {
    cl.createWebhook({ topic: 'orders.place', callbackUrl: endpoint.url })
    endpoint.answer = () => ({ status: 500 })
    const [failed] = await cl.fire('orders.place', order())
    assert.deepEqual([failed?.delivered, failed?.attempts.length], [false, 11])
    assert.deepEqual(failed?.attempts.map((attempt) => attempt.retry), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert.deepEqual(failed?.circuit, { state: 'closed', failureCount: 11 })

    let calls = 0
    endpoint.answer = () => (++calls === 1 ? { status: 200, delayMs: 1000 } : { status: 200 })
    const [recovered] = await cl.fire('orders.place', order())
    assert.deepEqual(recovered?.attempts.map((attempt) => attempt.response_code), [null, 200])
    assert.match(recovered?.attempts[0]?.response_message ?? '', /timed out after 200 ms/)
    assert.deepEqual(recovered?.circuit, { state: 'closed', failureCount: 0 })
  })

  test('after 30 consecutive failures, retries included, nothing more is sent until the circuit is reset', async () => {
    const { resource } = cl.createWebhook({ topic: 'orders.place', callbackUrl: endpoint.url })
    endpoint.answer = () => ({ status: 503 })
    const attempts = []
    for (let i = 0; i < 3; i++) attempts.push((await cl.fire('orders.place', order()))[0]?.attempts.length)
    assert.deepEqual(attempts, [11, 11, 8])
    assert.deepEqual(cl.circuit(resource), { state: 'open', failureCount: 30 })
    assert.deepEqual(cl.notifications.map((n) => [n.kind, n.failureCount]), [['warning', 5], ['open', 30]])
    const [skipped] = await cl.fire('orders.place', order())
    assert.deepEqual([skipped?.skipped, skipped?.attempts.length, endpoint.received.length], [true, 0, 30])

    cl.resetCircuit(resource)
    endpoint.answer = () => ({ status: 200 })
    const [resumed] = await cl.fire('orders.place', order())
    assert.equal(resumed?.delivered, true)
  })

  test('PATCH events/:id {_trigger: true} sends the last payload again', async () => {
    cl.createWebhook({ topic: 'orders.place', callbackUrl: endpoint.url })
    await cl.fire('orders.place', order())
    const event = cl.store.list('events').find((entry) => entry.attributes.name === 'orders.place')
    assert.ok(event)
    const token = await fetch(cl.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: cl.credentials.clientId, client_secret: cl.credentials.clientSecret }),
    }).then(async (response) => ((await response.json()) as { access_token: string }).access_token)
    const response = await fetch(`${cl.url}/api/events/${event.id}`, {
      method: 'PATCH',
      headers: { accept: 'application/vnd.api+json', 'content-type': 'application/vnd.api+json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ data: { type: 'events', id: event.id, attributes: { _trigger: true } } }),
    })
    assert.equal(response.status, 200)
    await cl.idle()
    assert.equal(endpoint.received.length, 2)
    assert.equal(endpoint.received[1]?.body, endpoint.received[0]?.body)
  })

  test('the documented defaults: 10 retries, a 5 s timeout', async () => {
    const defaults = await startCommerceLayerSimulator({ webhookRetryDelayMs: () => 1 })
    try {
      defaults.createWebhook({ topic: 'orders.place', callbackUrl: endpoint.url })
      let calls = 0
      endpoint.answer = () => (++calls === 1 ? { status: 200, delayMs: 4500 } : { status: 500 })
      const [delivery] = await defaults.fire('orders.place', { type: 'orders', id: defaults.sample.order.id })
      assert.equal(delivery?.attempts[0]?.response_code, 200, 'an answer after 4.5 s is in time')
      assert.equal(delivery?.attempts.length, 1)
      endpoint.answer = () => ({ status: 500 })
      const [failed] = await defaults.fire('orders.place', { type: 'orders', id: defaults.sample.order.id })
      assert.equal(failed?.attempts.length, 11)
    } finally {
      await defaults.close()
    }
  })
})
