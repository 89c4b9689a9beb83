import { after, before, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import OAuth from 'oauth-1.0a'
import { authorize, type AuthorizeOptions } from '../connections/adobe-commerce/oauth1.ts'
import { startCommerceSimulator, type CommerceSimulator } from './commerce-simulator.ts'

let commerce: CommerceSimulator

before(async () => {
  commerce = await startCommerceSimulator({ storeCodes: ['de'] })
})
after(() => commerce.close())
beforeEach(() => {
  commerce.requests.length = 0
  commerce.orders.clear()
  commerce.seedOrder({ entity_id: 42 })
})

/** A GET signed with our signer, optionally with a wrong secret or fixed values; answers status + JSON. */
async function signedGet(path: string, options: AuthorizeOptions & { consumerSecret?: string; authorization?: string } = {}) {
  const url = `${commerce.url}${path}`
  const credentials = { ...commerce.credentials, ...(options.consumerSecret ? { consumerSecret: options.consumerSecret } : {}) }
  const authorization = options.authorization ?? authorize('GET', url, credentials, options)
  return answer(await fetch(url, { headers: { authorization } }))
}

async function answer(res: Response) {
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> }
}

describe('commerce simulator: orders', () => {
  test('GET /rest/V1/orders/{id}, signed: the order with its extension_attributes', async () => {
    const { status, body } = await signedGet('/rest/V1/orders/42')
    assert.equal(status, 200)
    assert.equal(body.entity_id, 42)
    assert.equal(body.increment_id, '000000042')
    const extension = body.extension_attributes as Record<string, unknown>
    assert.ok(Array.isArray(extension.shipping_assignments))
    assert.deepEqual(extension.payment_additional_info, [{ key: 'method_title', value: 'Check / Money order' }])
    assert.equal(commerce.requests[0]?.auth, 'oauth1')
  })

  test('seeded fields win over the sample ones', async () => {
    commerce.seedOrder({ entity_id: 7, status: 'processing', extension_attributes: { erp_reference: 'SO-1' } })
    const { body } = await signedGet('/rest/V1/orders/7')
    assert.equal(body.status, 'processing')
    assert.deepEqual(body.extension_attributes, { erp_reference: 'SO-1' })
  })

  test('every base form: rest/V1, rest/<store>/V1 (default, all, configured), SaaS <tenant>/V1 and V1', async () => {
    for (const path of ['/rest/V1/orders/42', '/rest/default/V1/orders/42', '/rest/all/V1/orders/42', '/rest/de/V1/orders/42', '/tenant123/V1/orders/42', '/V1/orders/42']) {
      assert.equal((await signedGet(path)).status, 200, path)
    }
    assert.deepEqual(
      commerce.requests.map((r) => [r.form, r.store, r.resource]),
      [
        ['rest', 'default', 'orders/42'],
        ['rest-store', 'default', 'orders/42'],
        ['rest-store', 'all', 'orders/42'],
        ['rest-store', 'de', 'orders/42'],
        ['saas', 'default', 'orders/42'],
        ['saas', 'default', 'orders/42'],
      ],
    )
  })

  test('an unknown order is 404 with Magento\'s message; so is orders/undefined', async () => {
    for (const path of ['/rest/V1/orders/404', '/rest/V1/orders/undefined']) {
      const { status, body } = await signedGet(path)
      assert.equal(status, 404)
      assert.deepEqual(body, { message: "The entity that was requested doesn't exist. Verify the entity and try again." })
    }
  })

  test('an unknown route or store code is 404 "Request does not match any route.", before any auth check', async () => {
    for (const path of ['/rest/V1/products/MJ01', '/rest/nostore/V1/orders/42', '/elsewhere']) {
      const res = await answer(await fetch(`${commerce.url}${path}`))
      assert.equal(res.status, 404, path)
      assert.deepEqual(res.body, { message: 'Request does not match any route.' })
    }
  })

  test('searchCriteria: filters, natural-order indexes, sort and pages', async () => {
    for (let id = 1; id <= 12; id++) commerce.seedOrder({ entity_id: id, status: id % 3 === 0 ? 'processing' : 'pending' })
    const filters = Array.from({ length: 11 }, (_, i) => `searchCriteria[filter_groups][0][filters][${i}][field]=entity_id&searchCriteria[filter_groups][0][filters][${i}][value]=${i + 1}`)
    const path = `/rest/V1/orders?${filters.join('&')}&searchCriteria[filter_groups][1][filters][0][field]=status&searchCriteria[filter_groups][1][filters][0][value]=pending&searchCriteria[sortOrders][0][field]=entity_id&searchCriteria[sortOrders][0][direction]=DESC&searchCriteria[pageSize]=3&searchCriteria[currentPage]=2`
    const { status, body } = await signedGet(path)
    assert.equal(status, 200)
    // Ids 1–11 that are pending (3, 6 and 9 are processing), newest first, second page of three.
    assert.equal(body.total_count, 8)
    assert.deepEqual((body.items as { entity_id: number }[]).map((order) => order.entity_id), [7, 5, 4])
  })

  test('a list without searchCriteria is 400, as Magento answers', async () => {
    const { status, body } = await signedGet('/rest/V1/orders')
    assert.equal(status, 400)
    assert.deepEqual(body, { message: '"%fieldName" is required. Enter and try again.', parameters: { fieldName: 'searchCriteria' } })
  })
})

describe('commerce simulator: OAuth 1.0a as Magento checks it', () => {
  test('a wrong signature gets Magento\'s 401', async () => {
    const { status, body, headers } = await signedGet('/rest/V1/orders/42', { consumerSecret: 'not-the-secret' })
    assert.equal(status, 401)
    assert.deepEqual(body, { message: 'The signature is invalid. Verify and try again.' })
    assert.match(headers.get('content-type') ?? '', /^application\/json/)
    assert.equal(commerce.requests[0]?.auth, 'rejected')
  })

  test('a replayed nonce is refused, even when its first use had a bad signature', async () => {
    const url = `${commerce.url}/rest/V1/orders/42`
    const header = authorize('GET', url, commerce.credentials)
    assert.equal((await answer(await fetch(url, { headers: { authorization: header } }))).status, 200)
    const replay = await answer(await fetch(url, { headers: { authorization: header } }))
    assert.equal(replay.status, 401)
    assert.deepEqual(replay.body, { message: 'The nonce is already being used by the consumer with ID %1', parameters: ['1'] })

    const nonce = 'B'.repeat(32)
    assert.equal((await signedGet('/rest/V1/orders/42', { nonce, consumerSecret: 'wrong' })).status, 401)
    const second = await signedGet('/rest/V1/orders/42', { nonce })
    assert.equal(second.body.message, 'The nonce is already being used by the consumer with ID %1')
  })

  test('timestamps: up to 600 s ahead accepted, beyond refused, old ones accepted (Magento has no lower bound)', async () => {
    const now = Math.floor(Date.now() / 1000)
    assert.equal((await signedGet('/rest/V1/orders/42', { timestamp: now + 590 })).status, 200)
    const ahead = await signedGet('/rest/V1/orders/42', { timestamp: now + 700 })
    assert.equal(ahead.status, 401)
    assert.deepEqual(ahead.body, { message: 'Incorrect timestamp value in the oauth_timestamp parameter' })
    assert.equal((await signedGet('/rest/V1/orders/42', { timestamp: now - 86_400 })).status, 200)
  })

  test('the shop\'s clock is settable: a shop an hour behind refuses our current timestamps', async () => {
    const behind = await startCommerceSimulator({ now: () => Date.now() - 3_600_000 })
    try {
      const url = `${behind.url}/rest/V1/orders/1`
      const res = await answer(await fetch(url, { headers: { authorization: authorize('GET', url, behind.credentials) } }))
      assert.equal(res.status, 401)
      assert.deepEqual(res.body, { message: 'Incorrect timestamp value in the oauth_timestamp parameter' })
    } finally {
      await behind.close()
    }
  })

  test('query parameters are signed in strnatcmp order: a byte-sorted signature is refused', async () => {
    const filters = Array.from({ length: 11 }, (_, i) => `searchCriteria[filter_groups][0][filters][${i}][field]=entity_id&searchCriteria[filter_groups][0][filters][${i}][value]=${i + 1}`)
    const path = `/rest/V1/orders?${filters.join('&')}`
    assert.equal((await signedGet(path)).status, 200, 'natural order: [2] before [10]')

    const client = new OAuth({
      consumer: { key: commerce.credentials.consumerKey, secret: commerce.credentials.consumerSecret },
      signature_method: 'HMAC-SHA256',
      hash_function: (base, key) => createHmac('sha256', key).update(base).digest('base64'),
    })
    const token = { key: commerce.credentials.accessToken, secret: commerce.credentials.accessTokenSecret }
    const byteSorted = client.toHeader(client.authorize({ method: 'GET', url: `${commerce.url}${path}` }, token)).Authorization
    const { status, body } = await signedGet(path, { authorization: byteSorted })
    assert.equal(status, 401)
    assert.deepEqual(body, { message: 'The signature is invalid. Verify and try again.' })

    // With fewer than ten filters both orders agree, and Adobe's samples' signer is accepted.
    const short = `/rest/V1/orders?${filters.slice(0, 3).join('&')}`
    const samples = client.toHeader(client.authorize({ method: 'GET', url: `${commerce.url}${short}` }, token)).Authorization
    assert.equal((await signedGet(short, { authorization: samples })).status, 200)
  })

  test('signatureHelper "hmac" (Magento\'s newer helper): ksort order, and a dotted name signed twice', async () => {
    const newer = await startCommerceSimulator({ signatureHelper: 'hmac' })
    try {
      newer.seedOrder({ entity_id: 1 })
      const get = async (path: string, options: AuthorizeOptions = {}) => {
        const url = `${newer.url}${path}`
        return (await fetch(url, { headers: { authorization: authorize('GET', url, newer.credentials, options) } })).status
      }
      const filters = Array.from({ length: 11 }, (_, i) => `searchCriteria[filter_groups][0][filters][${i}][field]=entity_id&searchCriteria[filter_groups][0][filters][${i}][value]=${i + 1}`)
      const long = `/rest/V1/orders?${filters.join('&')}`
      assert.equal(await get(long), 401, 'natural order is refused by ksort')
      assert.equal(await get(long, { parameterOrder: 'bytes' }), 200)
      const short = `/rest/V1/orders?${filters.slice(0, 3).join('&')}&fields=items[entity_id]`
      assert.equal(await get(short), 200, 'below ten the orders agree')
      assert.equal(await get('/rest/V1/orders/1?a.b=1', { parameterOrder: 'bytes' }), 401, 'parse_str adds a_b to what it signs')
      assert.equal((await signedGet('/rest/V1/orders/42?a.b=1')).status, 200, 'the Laminas helper has no such quirk')
    } finally {
      await newer.close()
    }
  })

  test('HMAC-SHA1 is accepted unless the shop allows HMAC-SHA256 only; other methods are 400', async () => {
    assert.equal((await signedGet('/rest/V1/orders/42', { signatureMethod: 'HMAC-SHA1' })).status, 200)
    const plaintext = await signedGet('/rest/V1/orders/42', {
      authorization: authorize('GET', `${commerce.url}/rest/V1/orders/42`, commerce.credentials).replace('HMAC-SHA256', 'PLAINTEXT'),
    })
    assert.equal(plaintext.status, 400)
    assert.deepEqual(plaintext.body, { message: 'Signature method %1 is not supported', parameters: ['PLAINTEXT'] })

    const strict = await startCommerceSimulator({ signatureMethods: ['HMAC-SHA256'] })
    try {
      strict.seedOrder({ entity_id: 1 })
      const url = `${strict.url}/rest/V1/orders/1`
      const sha1 = await fetch(url, { headers: { authorization: authorize('GET', url, strict.credentials, { signatureMethod: 'HMAC-SHA1' }) } })
      assert.equal(sha1.status, 400)
      const sha256 = await fetch(url, { headers: { authorization: authorize('GET', url, strict.credentials) } })
      assert.equal(sha256.status, 200)
    } finally {
      await strict.close()
    }
  })

  test('no credentials, or the access token as a Bearer: the ACL\'s 401', async () => {
    const expected = { message: "The consumer isn't authorized to access %resources.", parameters: { resources: 'Magento_Sales::actions_view' } }
    const none = await answer(await fetch(`${commerce.url}/rest/V1/orders/42`))
    assert.equal(none.status, 401)
    assert.deepEqual(none.body, expected)
    const bearer = await signedGet('/rest/V1/orders/42', { authorization: `Bearer ${commerce.credentials.accessToken}` })
    assert.equal(bearer.status, 401)
    assert.deepEqual(bearer.body, expected)

    const allowing = await startCommerceSimulator({ integrationAsBearer: true })
    try {
      allowing.seedOrder({ entity_id: 1 })
      const res = await fetch(`${allowing.url}/rest/V1/orders/1`, { headers: { authorization: `Bearer ${allowing.credentials.accessToken}` } })
      assert.equal(res.status, 200)
      assert.equal(allowing.requests[0]?.auth, 'bearer')
    } finally {
      await allowing.close()
    }
  })

  test('Magento\'s other checks, in its order and words', async () => {
    const url = `${commerce.url}/rest/V1/orders/42`
    const valid = authorize('GET', url, commerce.credentials)
    const cases: [string, number, unknown][] = [
      [valid.replace(/, oauth_nonce="[^"]*"/, ''), 400, { message: '"%fieldName" is required. Enter and try again.', parameters: { fieldName: 'oauth_nonce' } }],
      [valid.replace(/oauth_version="1.0"/, 'oauth_version="2.0"'), 400, { message: 'The "%1" Oauth version isn\'t supported.', parameters: ['2.0'] }],
      [valid.replace(/oauth_token="[^"]*"/, 'oauth_token="short"'), 400, { message: 'The token length is invalid. Check the length and try again.' }],
      [valid.replace(/oauth_consumer_key="[^"]*"/, 'oauth_consumer_key="short"'), 401, { message: 'Consumer key is not the correct length' }],
      [valid.replace(/oauth_consumer_key="[^"]*"/, `oauth_consumer_key="${'x'.repeat(32)}"`), 401, { message: 'A consumer having the specified key does not exist' }],
      [authorize('GET', url, { ...commerce.credentials, accessToken: 'y'.repeat(32) }), 401, { message: 'Specified token does not exist' }],
    ]
    for (const [authorization, status, body] of cases) {
      const res = await signedGet('/rest/V1/orders/42', { authorization })
      assert.equal(res.status, status, authorization)
      assert.deepEqual(res.body, body)
    }
  })

  test('a revoked access token is refused', async () => {
    const revoked = await startCommerceSimulator()
    try {
      revoked.revokeAccessToken()
      const url = `${revoked.url}/rest/V1/orders/1`
      const res = await answer(await fetch(url, { headers: { authorization: authorize('GET', url, revoked.credentials) } }))
      assert.equal(res.status, 401)
      assert.deepEqual(res.body, { message: 'Access token has been revoked' })
    } finally {
      await revoked.close()
    }
  })
})

describe('commerce simulator: scripted failures', () => {
  test('500, then 429 with Retry-After, then the real answer; all recorded', async () => {
    commerce.respondWith(500, { status: 429, retryAfter: 3 })
    const first = await signedGet('/rest/V1/orders/42')
    assert.equal(first.status, 500)
    assert.match(String(first.body.message), /^Internal Error\. Details are available in Magento log file\. Report ID: webapi-/)
    const second = await signedGet('/rest/V1/orders/42')
    assert.equal(second.status, 429)
    assert.equal(second.headers.get('retry-after'), '3')
    assert.equal((await signedGet('/rest/V1/orders/42')).status, 200)
    assert.deepEqual(commerce.requests.map((r) => r.status), [500, 429, 200])
  })

  test('a slow answer arrives late, and is still a real one', async () => {
    commerce.respondWith({ delayMs: 300 })
    const started = performance.now()
    const { status } = await signedGet('/rest/V1/orders/42')
    assert.equal(status, 200)
    assert.ok(performance.now() - started >= 290)
  })

  test('a scripted body and a slow error', async () => {
    commerce.respondWith({ status: 503, body: { message: 'maintenance' }, delayMs: 100 })
    const { status, body } = await signedGet('/rest/V1/orders/42')
    assert.equal(status, 503)
    assert.deepEqual(body, { message: 'maintenance' })
  })
})
