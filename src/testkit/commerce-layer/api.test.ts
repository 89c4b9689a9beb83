import { afterEach, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startCommerceLayerSimulator, type CommerceLayerSimulator } from '../commerce-layer-simulator.ts'

const JSON_API = 'application/vnd.api+json'
let cl: CommerceLayerSimulator
let now = 1_800_000_000_000

beforeEach(async () => {
  now = 1_800_000_000_000
  cl = await startCommerceLayerSimulator({ now: () => now })
})
afterEach(() => cl.close())

async function token(body: Record<string, string> = {}, contentType = 'application/json'): Promise<Response> {
  const params = { grant_type: 'client_credentials', client_id: cl.credentials.clientId, client_secret: cl.credentials.clientSecret, ...body }
  return fetch(cl.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: contentType === 'application/json' ? JSON.stringify(params) : new URLSearchParams(params).toString(),
  })
}

async function bearer(): Promise<string> {
  return ((await (await token()).json()) as { access_token: string }).access_token
}

async function api(method: string, path: string, options: { token?: string; body?: unknown; accept?: string; contentType?: string } = {}) {
  const headers: Record<string, string> = { accept: options.accept ?? JSON_API }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.body !== undefined) headers['content-type'] = options.contentType ?? JSON_API
  const response = await fetch(`${cl.url}/api/${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: (text === '' ? undefined : JSON.parse(text)) as any }
}

describe('commerce layer simulator: /oauth/token', () => {
  test('client credentials in a JSON or a form body; the documented answer', async () => {
    for (const contentType of ['application/json', 'application/x-www-form-urlencoded']) {
      const response = await token({ scope: `market:id:${cl.sample.market.id}` }, contentType)
      assert.equal(response.status, 200)
      const body = (await response.json()) as Record<string, unknown>
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'created_at', 'expires_in', 'scope', 'token_type'])
      assert.equal(body.token_type, 'bearer')
      assert.equal(body.expires_in, 7200)
      assert.equal(body.scope, `market:id:${cl.sample.market.id}`)
      const claims = JSON.parse(Buffer.from(String(body.access_token).split('.')[1] ?? '', 'base64url').toString()) as Record<string, any>
      assert.deepEqual([claims.organization.slug, claims.application.kind, claims.test], ['storehook-sim', 'integration', true])
    }
    assert.deepEqual(cl.tokenRequests.map((r) => r.status), [200, 200])
  })

  test('refusals: a wrong secret is 401 invalid_client, another grant 400, a malformed scope 400', async () => {
    const refused = await token({ client_secret: 'nope' })
    assert.equal(refused.status, 401)
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_client')
    assert.equal((await token({ grant_type: 'password' })).status, 400)
    assert.equal((await token({ scope: 'everything' })).status, 400)
    assert.deepEqual(cl.tokenRequests.map((r) => [r.status, r.secretMatched]), [[401, false], [400, true], [400, true]])
  })

  test('30 requests a minute, sliding', async () => {
    for (let i = 0; i < 30; i++) assert.equal((await token()).status, 200)
    const limited = await token()
    assert.equal(limited.status, 429)
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0')
    now += 60_000
    assert.equal((await token()).status, 200)
  })
})

describe('commerce layer simulator: /api', () => {
  test('406 without the JSON:API Accept, 401 without a valid token, 415 without the JSON:API Content-Type', async () => {
    const valid = await bearer()
    assert.equal((await api('GET', 'skus', { token: valid, accept: 'application/json' })).status, 406)
    const unauthorized = await api('GET', 'skus', { token: 'nope' })
    assert.equal(unauthorized.status, 401)
    assert.equal(unauthorized.body.errors[0].code, 'INVALID_TOKEN')
    const body = { data: { type: 'orders', id: cl.sample.order.id, attributes: { reference: 'r1' } } }
    assert.equal((await api('PATCH', `orders/${cl.sample.order.id}`, { token: valid, body, contentType: 'application/json' })).status, 415)
    assert.equal((await api('PATCH', `orders/${cl.sample.order.id}`, { token: valid, body })).status, 200)
    cl.expireTokens()
    assert.equal((await api('GET', 'skus', { token: valid })).status, 401)
  })

  test('lists with filter, sort and page; a resource with include and fields', async () => {
    const valid = await bearer()
    const list = await api('GET', 'skus?filter[q][code_eq]=CAPBKSUNFFFFFF000000XXXX', { token: valid })
    assert.equal(list.status, 200)
    assert.deepEqual(list.body.data.map((sku: { attributes: { code: string } }) => sku.attributes.code), ['CAPBKSUNFFFFFF000000XXXX'])
    assert.deepEqual(list.body.meta, { record_count: 1, page_count: 1 })
    const paged = await api('GET', 'prices?sort=-amount_cents&page[size]=1&page[number]=2', { token: valid })
    assert.deepEqual([paged.body.data.length, paged.body.data[0].attributes.amount_cents, paged.body.meta.page_count], [1, 1900, 2])
    const order = await api('GET', `orders/${cl.sample.order.id}?include=line_items,market&fields[orders]=number,status`, { token: valid })
    assert.deepEqual(Object.keys(order.body.data.attributes).sort(), ['number', 'status'])
    assert.equal(order.body.data.links.self, `${cl.url}/api/orders/${cl.sample.order.id}`)
    assert.deepEqual([...new Set(order.body.included.map((resource: { type: string }) => resource.type))].sort(), ['line_items', 'markets'])
    assert.equal((await api('GET', 'orders/doesnotexist', { token: valid })).status, 404)
  })

  test('rate-limit headers on every answer; a burst over the per-endpoint limit is a 429 whose headers still show room', async () => {
    const limited = await startCommerceLayerSimulator({ now: () => now, rateLimits: { uncacheable: { burst: { limit: 2, windowMs: 10_000 } } } })
    try {
      const valid = ((await (await fetch(limited.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials', client_id: limited.credentials.clientId, client_secret: limited.credentials.clientSecret }) })).json()) as { access_token: string }).access_token
      const get = (path: string) => fetch(`${limited.url}/api/${path}`, { headers: { accept: JSON_API, authorization: `Bearer ${valid}` } })
      const first = await get('orders')
      assert.deepEqual([first.headers.get('x-ratelimit-limit'), first.headers.get('x-ratelimit-interval'), first.headers.get('x-ratelimit-remaining')], ['100', '60', '99'])
      assert.equal((await get('orders')).status, 200)
      const third = await get('orders')
      assert.equal(third.status, 429)
      assert.equal(third.headers.get('x-ratelimit-remaining'), '98')
      assert.equal(third.headers.get('x-ratelimit-reset'), null)
      assert.equal((await get('customers')).status, 200, 'bursts count per endpoint')
      const skus = await get('skus')
      assert.equal(skus.headers.get('x-ratelimit-limit'), '500', 'skus are cacheable')
      now += 10_000
      assert.equal((await get('orders')).status, 200)
    } finally {
      await limited.close()
    }
  })

  test('PATCH triggers: _reset_circuit on breaker owners, _disable; an unknown trigger is 400; DELETE a line item is 204', async () => {
    const valid = await bearer()
    const gateway = cl.sample.externalGateway
    Object.assign(gateway.attributes, { circuit_state: 'open', circuit_failure_count: 31 })
    const reset = await api('PATCH', `external_gateways/${gateway.id}`, { token: valid, body: { data: { type: 'external_gateways', id: gateway.id, attributes: { _reset_circuit: true } } } })
    assert.equal(reset.status, 200)
    assert.deepEqual([reset.body.data.attributes.circuit_state, reset.body.data.attributes.circuit_failure_count], ['closed', 0])
    const disabled = await api('PATCH', `external_gateways/${gateway.id}`, { token: valid, body: { data: { type: 'external_gateways', id: gateway.id, attributes: { _disable: true } } } })
    assert.notEqual(disabled.body.data.attributes.disabled_at, null)
    const unknown = await api('PATCH', `skus/${cl.sample.skus[0]?.id}`, { token: valid, body: { data: { type: 'skus', id: cl.sample.skus[0]?.id, attributes: { _reset_circuit: true } } } })
    assert.equal(unknown.status, 400)
    const item = cl.sample.lineItems[1]
    assert.equal((await api('DELETE', `line_items/${item?.id}`, { token: valid })).status, 204)
    assert.equal((await api('GET', `line_items/${item?.id}`, { token: valid })).status, 404)
    assert.equal(cl.store.follow(cl.sample.order, 'line_items').length, 1)
  })

  test('scripted answers come before any check', async () => {
    cl.respondWith({ status: 503, headers: { 'retry-after': '3' } })
    const scripted = await api('GET', 'skus')
    assert.deepEqual([scripted.status, scripted.headers.get('retry-after')], [503, '3'])
    assert.equal((await api('GET', 'skus')).status, 401)
  })
})
