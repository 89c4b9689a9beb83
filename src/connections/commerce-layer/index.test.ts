import { after, afterEach, before, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { classifyFailure } from '../../core/outcome.ts'
import { startCommerceLayerSimulator, type CommerceLayerSimulator } from '../../testkit/commerce-layer-simulator.ts'
import { startTestEndpoint, type TestEndpoint } from '../../testkit/commerce-layer/test-endpoint.ts'
import type { OutboundCall } from '../connection.ts'
import { connectionKinds } from '../index.ts'
import { TargetUnreachableError } from '../http/index.ts'
import {
  CommerceLayerApiError,
  commerceLayerConfigSchema,
  CommerceLayerTokenError,
  createCommerceLayerClient,
  DEFAULT_TOKEN_URL,
  type CommerceLayerConnectionConfig,
  type JsonApiResource,
} from './index.ts'

let cl: CommerceLayerSimulator
let endpoint: TestEndpoint
let now = 1_800_000_000_000
let calls: OutboundCall[] = []
const clock = () => now

before(async () => {
  endpoint = await startTestEndpoint()
})
after(() => endpoint.close())
beforeEach(async () => {
  now = 1_800_000_000_000
  calls = []
  cl = await startCommerceLayerSimulator({ now: clock, externalTimeoutMs: 300, webhookRetryDelayMs: () => 1 })
  endpoint.received.length = 0
  endpoint.answer = () => ({ status: 200, body: { success: true, data: {} } })
})
afterEach(() => cl.close())

function client(config: Partial<CommerceLayerConnectionConfig> = {}, simulator = cl) {
  const parsed = commerceLayerConfigSchema.parse({ baseUrl: simulator.url, tokenUrl: simulator.tokenUrl, ...simulator.credentials, ...config })
  return createCommerceLayerClient('cl', parsed, { onCall: (call) => calls.push(call) }, { now: clock })
}

type Order = JsonApiResource<{ number: number; status: string; validations_count: number }>

describe('commerce-layer connection: configuration', () => {
  test('registered, with documented defaults', () => {
    assert.ok(connectionKinds['commerce-layer'])
    const parsed = commerceLayerConfigSchema.parse({ baseUrl: 'https://my-org.commercelayer.io', clientId: 'id', clientSecret: 'secret', scope: 'market:id:xYZ  market:code:europe' })
    assert.deepEqual(parsed, {
      baseUrl: 'https://my-org.commercelayer.io',
      clientId: 'id',
      clientSecret: 'secret',
      scope: ['market:id:xYZ', 'market:code:europe'],
      tokenUrl: DEFAULT_TOKEN_URL,
      refreshSkewSeconds: 300,
      defaultTokenLifetimeSeconds: 7200,
      timeoutMs: 30_000,
      burstBackoffMs: 10_000,
    })
    assert.equal(DEFAULT_TOKEN_URL, 'https://auth.commercelayer.io/oauth/token')
  })

  test('baseUrl is the organization domain (a trailing /api accepted); errors never quote the secret', () => {
    const issues = (config: Record<string, unknown>) => commerceLayerConfigSchema.safeParse({ clientId: 'id', clientSecret: 'secret-value-1', ...config }).error?.issues ?? []
    assert.deepEqual(issues({ baseUrl: 'https://my-org.commercelayer.io/api/' }), [])
    for (const baseUrl of ['https://my-org.commercelayer.io/api/orders', 'https://u:p@my-org.commercelayer.io', 'https://my-org.commercelayer.io?x=1', 'ftp://my-org.commercelayer.io']) {
      assert.deepEqual(issues({ baseUrl }).map((issue) => issue.path.join('.')), ['baseUrl'], baseUrl)
    }
    const missing = issues({ baseUrl: 'https://my-org.commercelayer.io', clientSecret: '', tokenUrl: 'https://auth.commercelayer.io/oauth/token?client_secret=secret-value-1' })
    assert.deepEqual(missing.map((issue) => issue.path.join('.')).sort(), ['clientSecret', 'tokenUrl'])
    assert.doesNotMatch(JSON.stringify(missing), /secret-value/)
  })
})

describe('commerce-layer connection: tokens', () => {
  test('one token for fifty concurrent calls, sent as a bearer with the JSON:API media type', async () => {
    const api = client({ scope: `market:id:${cl.sample.market.id}` })
    await Promise.all(Array.from({ length: 50 }, () => api.get('skus')))
    assert.equal(cl.tokenRequests.length, 1)
    assert.equal(cl.tokenRequests[0]?.contentType, 'application/json')
    assert.equal(cl.tokenRequests[0]?.scope, `market:id:${cl.sample.market.id}`)
    const [first] = cl.apiRequests
    assert.equal(first?.authorization, `Bearer ${cl.tokens()[0]}`)
    assert.equal(cl.apiRequests.length, 50)
  })

  test('reused until expires_in minus the skew, then refreshed once', async () => {
    const api = client()
    await api.get('skus')
    now += (7200 - 300) * 1000 - 1
    await api.get('skus')
    assert.equal(cl.tokenRequests.length, 1)
    now += 1
    await Promise.all([api.get('skus'), api.get('prices')])
    assert.equal(cl.tokenRequests.length, 2)
  })

  test('a short-lived token is refreshed at half its lifetime at the latest', async () => {
    cl.tokenExpiresIn = 60
    const api = client()
    await api.get('skus')
    now += 29_999
    await api.get('skus')
    now += 1
    await api.get('skus')
    assert.equal(cl.tokenRequests.length, 2)
  })

  test('a 401 drops the token: one new token, one more try', async () => {
    const api = client()
    await api.get('skus')
    cl.expireTokens() // the server's clock disagrees with ours
    const { data } = await api.get<Order>(`orders/${cl.sample.order.id}`)
    assert.equal(data.attributes.number, 12345)
    assert.equal(cl.tokenRequests.length, 2)
    assert.deepEqual(cl.apiRequests.map((r) => r.status), [200, 401, 200])
    assert.deepEqual(calls.filter((call) => call.url.endsWith('/oauth/token')).length, 2)
  })

  test('a second 401 is the answer: thrown, dead, no loop', async () => {
    const api = client()
    cl.respondWith(401, 401)
    const error = await api.get('skus').catch((thrown: unknown) => thrown)
    assert.ok(error instanceof CommerceLayerApiError)
    assert.equal(error.status, 401)
    assert.equal(cl.apiRequests.length, 2)
    assert.equal(cl.tokenRequests.length, 2)
    assert.deepEqual(classifyFailure(error), { retry: false, reason: 'target answered 401' })
  })

  test('token failures: a wrong secret is permanent; a 429 from the token endpoint waits a minute', async () => {
    const wrong = await client({ clientSecret: 'not-the-secret' }).get('skus').catch((thrown: unknown) => thrown)
    assert.ok(wrong instanceof CommerceLayerTokenError)
    assert.equal(wrong.status, 401)
    assert.equal(wrong.oauthError, 'invalid_client')
    assert.match(wrong.message, /check clientId and clientSecret/)
    assert.equal(classifyFailure(wrong).retry, false)
    cl.respondToTokenWith({ status: 429, body: { error: 'too_many_requests' } })
    const limited = await client().get('skus').catch((thrown: unknown) => thrown)
    assert.ok(limited instanceof CommerceLayerTokenError)
    assert.deepEqual(classifyFailure(limited), { retry: true, reason: 'retryable', notBeforeMs: 60_000 })
  })
})

describe('commerce-layer connection: JSON:API requests', () => {
  test('get with include and fields, post, patch and delete, typed', async () => {
    const api = client()
    const { data: order, included } = await api.get<Order>(`orders/${cl.sample.order.id}`, { include: ['line_items'], fields: { orders: ['number', 'status'] } })
    assert.deepEqual(order.attributes, { number: 12345, status: 'pending' })
    assert.equal(included?.length, 2)
    const { data: skus } = await api.get<JsonApiResource<{ code: string }>[]>('skus', { filter: { code_in: ['CAPBKSUNFFFFFF000000XXXX'] }, page: { size: 5 }, sort: '-code' })
    assert.deepEqual(skus.map((sku) => sku.attributes.code), ['CAPBKSUNFFFFFF000000XXXX'])
    const created = await api.post<JsonApiResource<{ quantity: number }>>('/line_items', {
      data: { type: 'line_items', attributes: { sku_code: 'CAPBKSUNFFFFFF000000XXXX', quantity: 2 }, relationships: { order: { data: { type: 'orders', id: cl.sample.order.id } } } },
    })
    const updated = await api.patch<JsonApiResource<{ quantity: number }>>(`line_items/${created.data.id}`, { data: { type: 'line_items', id: created.data.id, attributes: { quantity: 3 } } })
    assert.equal(updated.data.attributes.quantity, 3)
    assert.equal(await api.delete(`line_items/${created.data.id}`), undefined)
    const writes = cl.apiRequests.filter((request) => request.method !== 'GET')
    assert.deepEqual(writes.map((request) => request.status), [201, 200, 204])
    assert.ok(calls.every((call) => !call.url.includes('?')), 'reports carry no query string')
  })

  test('a 422 carries the JSON:API errors; a 404 is permanent; a path may not leave /api/', async () => {
    const api = client()
    const invalid = await api.post('line_items', { data: { type: 'line_items', attributes: { sku_code: 'NOPE', quantity: 1 }, relationships: { order: { data: { type: 'orders', id: cl.sample.order.id } } } } }).catch((thrown: unknown) => thrown)
    assert.ok(invalid instanceof CommerceLayerApiError)
    assert.equal(invalid.status, 422)
    assert.deepEqual(invalid.errors[0]?.source, { pointer: '/data/attributes/sku_code' })
    assert.match(invalid.message, /^cl answered 422 to POST \/api\/line_items: is invalid: sku_code - is invalid$/)
    const missing = await api.get('orders/nope').catch((thrown: unknown) => thrown)
    assert.equal(classifyFailure(missing).retry, false)
    await assert.rejects(api.get('../oauth/token'), /leaves \/api\//)
  })

  test('429: retryAfterMs is the burst window, or the whole interval once the average window is used up', async () => {
    const limited = await startCommerceLayerSimulator({ now: clock, rateLimits: { uncacheable: { burst: { limit: 1, windowMs: 10_000 }, average: { limit: 3, windowMs: 60_000 } } } })
    try {
      const api = client({}, limited)
      await api.get('orders')
      const burst = await api.get('orders').catch((thrown: unknown) => thrown)
      assert.ok(burst instanceof CommerceLayerApiError)
      assert.deepEqual([burst.status, burst.retryAfterMs, burst.rateLimit], [429, 10_000, { limit: 3, intervalSeconds: 60, remaining: 2 }])
      assert.deepEqual(classifyFailure(burst), { retry: true, reason: 'retryable', notBeforeMs: 10_000 })
      await api.get('customers')
      await api.get('addresses')
      assert.deepEqual(api.rateLimit, { limit: 3, intervalSeconds: 60, remaining: 0 })
      const average = await api.get('shipments').catch((thrown: unknown) => thrown)
      assert.deepEqual([(average as CommerceLayerApiError).status, (average as CommerceLayerApiError).retryAfterMs], [429, 60_000])
      limited.respondWith({ status: 429, headers: { 'retry-after': '7' } })
      const told = await api.get('skus').catch((thrown: unknown) => thrown)
      assert.equal((told as CommerceLayerApiError).retryAfterMs, 7000)
    } finally {
      await limited.close()
    }
  })
})

describe('commerce-layer connection: triggers', () => {
  test('resetCircuit closes the breaker the simulator opened', async () => {
    const { resource } = cl.configure('payment', { url: endpoint.url })
    endpoint.answer = () => ({ status: 500 })
    for (let i = 0; i < 31; i++) await cl.call('payment')
    assert.deepEqual(cl.circuit(resource), { state: 'open', failureCount: 31 })
    const reset = await client().resetCircuit(resource)
    assert.deepEqual([reset.type, reset.attributes.circuit_state, reset.attributes.circuit_failure_count], ['external_gateways', 'closed', 0])
    assert.deepEqual(cl.circuit(resource), { state: 'closed', failureCount: 0 })
    const sent = JSON.parse(cl.apiRequests.at(-1)?.body ?? '{}') as unknown
    assert.deepEqual(sent, { data: { type: 'external_gateways', id: resource.id, attributes: { _reset_circuit: true } } })
  })

  test('trigger: _validate runs the external validation; its refusal is a 422; _trigger re-sends an event', async () => {
    cl.configure('order-validation', { url: endpoint.url })
    const api = client()
    const validated = await api.trigger<Order['attributes']>('orders', cl.sample.order.id, 'validate')
    assert.equal(validated.attributes.validations_count, 1)
    endpoint.answer = () => ({ status: 400, body: { success: false, data: { customer_email: 'is blocked' }, error: { code: 'BLOCKED', message: 'refused' } } })
    const refused = await api.trigger('orders', cl.sample.order.id, '_validate').catch((thrown: unknown) => thrown)
    assert.ok(refused instanceof CommerceLayerApiError)
    assert.equal(refused.errors[0]?.source?.pointer, '/data/attributes/customer_email')

    endpoint.answer = () => ({ status: 200 })
    cl.createWebhook({ topic: 'orders.place', callbackUrl: endpoint.url })
    await cl.fire('orders.place', { type: 'orders', id: cl.sample.order.id })
    const event = cl.store.list('events')[0]
    await api.trigger('events', event?.id as string, 'trigger')
    await cl.idle()
    assert.equal(cl.eventCallbacks.length, 2)
    await assert.rejects(api.trigger('orders', 'x', 'Drop Table'), /not a trigger name/)
  })
})

describe('commerce-layer connection: secrets', () => {
  test('neither the client secret nor a token appears in any error or onCall report', async () => {
    const api = client()
    const errors: unknown[] = []
    await api.get('skus')
    const [token] = cl.tokens()
    assert.ok(token)
    const secret = cl.credentials.clientSecret
    const echo = { errors: [{ title: 'echo', detail: `you sent Bearer ${token} and ${secret}` }] }
    cl.respondWith({ status: 500, body: echo })
    errors.push(await api.get('skus').catch((thrown: unknown) => thrown))
    cl.respondWith({ status: 503, body: `plain text ${token} ${secret}` })
    errors.push(await api.get('skus').catch((thrown: unknown) => thrown))
    cl.respondToTokenWith({ status: 400, body: { error: 'invalid_request', error_description: `bad ${secret}` } })
    cl.expireTokens()
    errors.push(await api.get('skus').catch((thrown: unknown) => thrown))
    const closed = await startCommerceLayerSimulator()
    const unreachable = client({ clientId: closed.credentials.clientId, clientSecret: closed.credentials.clientSecret }, closed)
    await closed.close()
    errors.push(await unreachable.get('skus').catch((thrown: unknown) => thrown))
    errors.push(await client({ clientSecret: `${secret}-wrong` }).get('skus').catch((thrown: unknown) => thrown))

    assert.equal(errors.length, 5)
    assert.ok(errors.every((error) => error instanceof Error))
    assert.ok(errors[3] instanceof TargetUnreachableError || errors[3] instanceof CommerceLayerTokenError)
    const everything = JSON.stringify([...errors.map((error) => ({ ...(error as object), message: (error as Error).message, stack: (error as Error).stack })), calls])
    assert.ok(everything.includes('[redacted]'), 'the echoed values were there to hide')
    for (const value of [secret, ...cl.tokens()]) assert.ok(!everything.includes(value), `leaked ${value.slice(0, 8)}…`)
    assert.ok(calls.some((call) => call.error !== undefined))
  })
})
