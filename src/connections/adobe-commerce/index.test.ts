import { after, before, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import OAuth from 'oauth-1.0a'
import { PermanentError } from '../../core/errors.ts'
import { classifyFailure } from '../../core/outcome.ts'
import { startCommerceSimulator, type CommerceSimulator } from '../../testkit/commerce-simulator.ts'
import type { OutboundCall } from '../connection.ts'
import { connectionKinds } from '../index.ts'
import { TargetResponseError, TargetUnreachableError } from '../http/index.ts'
import { adobeCommerceConfigSchema, adobeCommerceConnection, restRoot, type AdobeCommerceConnectionConfig } from './index.ts'

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

function client(config: Partial<AdobeCommerceConnectionConfig> = {}, onCall?: (call: OutboundCall) => void) {
  const parsed = adobeCommerceConfigSchema.parse({ baseUrl: `${commerce.url}/`, oauth1: commerce.credentials, ...config })
  return adobeCommerceConnection.create('commerce', parsed, onCall ? { onCall } : {})
}

describe('adobe-commerce connection: configuration', () => {
  test('is registered as the adobe-commerce kind', () => {
    assert.equal(connectionKinds['adobe-commerce'], adobeCommerceConnection)
  })

  test('every base URL form Adobe documents resolves to its REST root', () => {
    const cases: [string, string | undefined, string][] = [
      ['https://shop.example.com/', undefined, 'https://shop.example.com/rest/V1/'],
      ['https://shop.example.com', undefined, 'https://shop.example.com/rest/V1/'],
      ['https://shop.example.com/magento/', undefined, 'https://shop.example.com/magento/rest/V1/'],
      ['https://shop.example.com/rest/', undefined, 'https://shop.example.com/rest/V1/'],
      ['https://shop.example.com/rest', undefined, 'https://shop.example.com/rest/V1/'],
      ['https://shop.example.com/', 'all', 'https://shop.example.com/rest/all/V1/'],
      ['https://shop.example.com/rest/', 'default', 'https://shop.example.com/rest/default/V1/'],
      ['https://shop.example.com/rest/de/V1', undefined, 'https://shop.example.com/rest/de/V1/'],
      ['https://shop.example.com/rest/all/V1/', undefined, 'https://shop.example.com/rest/all/V1/'],
      ['https://na1-sandbox.api.commerce.adobe.com/Tenant123/', undefined, 'https://na1-sandbox.api.commerce.adobe.com/Tenant123/V1/'],
      ['https://na1.api.commerce.adobe.com/Tenant123/V1', undefined, 'https://na1.api.commerce.adobe.com/Tenant123/V1/'],
    ]
    for (const [baseUrl, storeCode, expected] of cases) assert.equal(restRoot(baseUrl, storeCode), expected, `${baseUrl} + ${storeCode}`)
  })

  test('refuses what cannot work, naming the field and never echoing a secret', () => {
    const oauth1 = { consumerKey: 'ck', consumerSecret: 'secret-value-1', accessToken: 'at', accessTokenSecret: 'secret-value-2' }
    const bad: [unknown, RegExp][] = [
      [{ baseUrl: 'ftp://shop.example.com/', oauth1 }, /baseUrl/],
      [{ baseUrl: 'https://user:pw@shop.example.com/', oauth1 }, /credentials/],
      [{ baseUrl: 'https://shop.example.com/?store=de', oauth1 }, /query string/],
      [{ baseUrl: 'https://shop.example.com/rest/de/V1', storeCode: 'all', oauth1 }, /storeCode cannot be combined/],
      [{ baseUrl: 'https://shop.example.com/', storeCode: 'de/V1', oauth1 }, /store view code/],
      [{ baseUrl: 'https://shop.example.com/', oauth1: { ...oauth1, accessTokenSecret: '' } }, /accessTokenSecret/],
      [{ baseUrl: 'https://shop.example.com/', oauth1: { ...oauth1, signatureMethod: 'PLAINTEXT' } }, /signatureMethod/],
    ]
    for (const [config, message] of bad) {
      const result = adobeCommerceConfigSchema.safeParse(config)
      assert.equal(result.success, false)
      const text = JSON.stringify(result.error?.issues)
      assert.match(text, message)
      assert.doesNotMatch(text, /secret-value/)
    }
    const defaults = adobeCommerceConfigSchema.parse({ baseUrl: 'https://shop.example.com/', oauth1 })
    assert.equal(defaults.oauth1?.signatureMethod, 'HMAC-SHA256')
    assert.equal(defaults.oauth1?.parameterOrder, 'natural')
    assert.equal(defaults.timeoutMs, 30_000)
  })
})

describe('adobe-commerce connection: calls a Magento-exact shop', () => {
  test('getOrder: the seed\'s URL (${COMMERCE_BASE_URL}rest/V1/orders/<id>), signed and accepted', async () => {
    const order = await client().getOrder(42)
    assert.equal(order.entity_id, 42)
    assert.ok(order.extension_attributes?.shipping_assignments)
    const [request] = commerce.requests
    assert.equal(request?.url, '/rest/V1/orders/42')
    assert.equal(request?.auth, 'oauth1')
    assert.match(String(request?.headers.authorization), /^OAuth oauth_consumer_key="[a-z0-9]{32}", oauth_nonce="[A-Za-z0-9]{32}", .*oauth_signature_method="HMAC-SHA256"/)
    assert.equal(request?.headers.accept, 'application/json')
  })

  test('every base form reaches the shop, and HMAC-SHA1 works too', async () => {
    const configs: Partial<AdobeCommerceConnectionConfig>[] = [
      { baseUrl: `${commerce.url}/rest/` },
      { baseUrl: `${commerce.url}/`, storeCode: 'all' },
      { baseUrl: `${commerce.url}/rest/de/V1` },
      { baseUrl: `${commerce.url}/tenant123/V1/` },
      { oauth1: { ...commerce.credentials, signatureMethod: 'HMAC-SHA1' } },
    ]
    for (const config of configs) assert.equal((await client(config).getOrder(42)).entity_id, 42, JSON.stringify(config.baseUrl))
    assert.deepEqual(
      commerce.requests.map((r) => [r.form, r.store, r.status]),
      [['rest', 'default', 200], ['rest-store', 'all', 200], ['rest-store', 'de', 200], ['saas', 'default', 200], ['rest', 'default', 200]],
    )
  })

  test('searchCriteria with ten and more filters: signed in Magento\'s order and accepted', async () => {
    for (let id = 1; id <= 12; id++) commerce.seedOrder({ entity_id: id })
    const filters = Array.from({ length: 12 }, (_, i) => ({ field: 'entity_id', value: i + 1 }))
    const page = await client().get<{ items: { entity_id: number }[]; total_count: number }>('orders', {
      searchCriteria: { filterGroups: [filters], sortOrders: [{ field: 'entity_id', direction: 'DESC' }], pageSize: 5 },
    })
    assert.equal(page.total_count, 12)
    assert.deepEqual(page.items.map((order) => order.entity_id), [12, 11, 10, 9, 8])
    assert.match(commerce.requests[0]?.url ?? '', /searchCriteria%5Bfilter_groups%5D%5B0%5D%5Bfilters%5D%5B10%5D%5Bfield%5D=entity_id/)
  })

  test('a percent-encoded query in the path is signed once: accepted, where oauth-1.0a gets 401', async () => {
    const path = 'orders?searchCriteria%5BpageSize%5D=1&searchCriteria%5BcurrentPage%5D=1'
    const page = await client().get<{ items: unknown[] }>(path)
    assert.equal(page.items.length, 1)

    const samples = new OAuth({
      consumer: { key: commerce.credentials.consumerKey, secret: commerce.credentials.consumerSecret },
      signature_method: 'HMAC-SHA256',
      hash_function: (base, key) => createHmac('sha256', key).update(base).digest('base64'),
    })
    const url = `${commerce.url}/rest/V1/${path}`
    const token = { key: commerce.credentials.accessToken, secret: commerce.credentials.accessTokenSecret }
    const res = await fetch(url, { headers: { authorization: samples.toHeader(samples.authorize({ method: 'GET', url }, token)).Authorization } })
    assert.equal(res.status, 401)
    assert.deepEqual(await res.json(), { message: 'The signature is invalid. Verify and try again.' })
  })

  test('property: any query names and values (brackets, digits, spaces, +, =, &, ~, unicode) are accepted', async () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 10 })
    const name = fc.oneof(text, fc.stringMatching(/^[a-z]{1,6}(\[[a-z0-9_]{0,3}\]){0,3}$/)).filter((key) => !/oauth_[a-z_-]+/.test(key))
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.tuple(name, text), { selector: ([key]) => key, maxLength: 6 }), async (pairs) => {
        const result = await client().get<{ entity_id: number }>('orders/42', { query: Object.fromEntries(pairs) })
        assert.equal(result.entity_id, 42)
      }),
      { numRuns: 60 },
    )
  })

  test('paths go out as Magento normalises them, so both of its signature helpers accept them', async () => {
    const paths: [string, string][] = [
      ['orders/%34%32', '/rest/V1/orders/42'],
      ["orders/4(2)!*'[x]", '/rest/V1/orders/4%282%29%21%2A%27%5Bx%5D'],
      ['orders/%7e42', '/rest/V1/orders/~42'],
      ['orders/a%2fb', '/rest/V1/orders/a%2Fb'],
    ]
    const newer = await startCommerceSimulator({ signatureHelper: 'hmac' })
    try {
      for (const shop of [commerce, newer]) {
        const connection = adobeCommerceConnection.create('commerce', adobeCommerceConfigSchema.parse({ baseUrl: `${shop.url}/`, oauth1: shop.credentials }), {})
        for (const [path] of paths) await connection.get(path).catch(() => undefined)
        assert.deepEqual(shop.requests.map((r) => [r.url, r.auth]), paths.map(([, sent]) => [sent, 'oauth1']))
      }
    } finally {
      await newer.close()
    }
  })

  test('parameterOrder "bytes" for shops on Magento\'s newer signature helper (ksort)', async () => {
    const newer = await startCommerceSimulator({ signatureHelper: 'hmac' })
    try {
      newer.seedOrder({ entity_id: 1 })
      const make = (parameterOrder: 'natural' | 'bytes') =>
        adobeCommerceConnection.create('commerce', adobeCommerceConfigSchema.parse({ baseUrl: `${newer.url}/`, oauth1: { ...newer.credentials, parameterOrder } }), {})
      const searchCriteria = { filterGroups: [Array.from({ length: 12 }, (_, i) => ({ field: 'entity_id', value: i + 1 }))] }
      await assert.rejects(make('natural').get('orders', { searchCriteria }), (error: TargetResponseError) => error.status === 401)
      assert.equal((await make('bytes').get<{ total_count: number }>('orders', { searchCriteria })).total_count, 1)

      const name = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.stringMatching(/^[a-z]{1,6}(\[[a-z0-9_]{0,3}\]){0,3}$/))
        // What parse_str would rename or renumber there (see magento-oauth.ts), and what we never sign.
        .filter((key) => !/[ .\[\]]/.test(key) || /^[a-z]+(\[[a-z0-9_]*\])+$/.test(key))
        .filter((key) => key !== '' && !/^\s*[+-]?[\d.]/.test(key) && !/oauth_[a-z_-]+/.test(key))
      const client = make('bytes')
      await fc.assert(
        fc.asyncProperty(fc.uniqueArray(fc.tuple(name, fc.string({ unit: 'grapheme', maxLength: 8 })), { selector: ([key]) => key, maxLength: 6 }), async (pairs) => {
          assert.equal((await client.get<{ entity_id: number }>('orders/1', { query: Object.fromEntries(pairs) })).entity_id, 1)
        }),
        { numRuns: 40 },
      )
    } finally {
      await newer.close()
    }
  })

  test('post, put and delete are signed over method and URL, with the JSON body left out', async () => {
    // The simulator serves only GETs: a signed write reaches routing and gets Magento's 404, not a 401.
    for (const call of [
      () => client().post('orders/42/comments', { json: { statusHistory: { comment: 'sent' } } }),
      () => client().put('orders/42', { json: { entity: {} } }),
      () => client().delete('orders/42'),
    ]) {
      await assert.rejects(call(), (error: TargetResponseError) => error.status === 404)
    }
    assert.deepEqual(commerce.requests.map((r) => [r.method, r.body !== '']), [['POST', true], ['PUT', true], ['DELETE', false]])
    assert.equal(commerce.requests[0]?.headers['content-type'], 'application/json')
  })

  test('a repeated or OAuth-looking query name is refused before sending', async () => {
    await assert.rejects(client().get('orders?a=1', { query: { a: '2' } }), /"a" is given twice/)
    await assert.rejects(client().get('orders', { query: { oauth_x: '1' } }), /looks like an OAuth parameter/)
    assert.equal(commerce.requests.length, 0)
  })
})

describe('adobe-commerce connection: failures as the worker classifies them', () => {
  test('getOrder without an entity_id: PermanentError, no request', async () => {
    for (const id of [undefined, null, '', 'undefined', 0, -1, 1.5, '42abc']) {
      await assert.rejects(client().getOrder(id as never), (error: Error) => {
        assert.ok(error instanceof PermanentError)
        assert.match(error.message, /getOrder needs the order's entity_id/)
        // An event that lacks the field altogether: the fix is in the Commerce subscription.
        assert.equal(/add entity_id to the Commerce event subscription's fields/.test(error.message), id === undefined)
        return true
      })
    }
    assert.equal(commerce.requests.length, 0)
    assert.equal((await client().getOrder('42')).entity_id, 42)
  })

  test('404: the run goes dead', async () => {
    const error = await client().getOrder(404).catch((e: unknown) => e)
    assert.ok(error instanceof TargetResponseError)
    assert.equal(error.status, 404)
    assert.match(error.message, /commerce answered 404 to GET \/rest\/V1\/orders\/404: .*doesn't exist/)
    assert.equal(classifyFailure(error).retry, false)
  })

  test('429 with Retry-After, and 500: retried, no sooner than asked', async () => {
    commerce.respondWith({ status: 429, retryAfter: 2 }, 500)
    const throttled = await client().getOrder(42).catch((e: unknown) => e)
    assert.deepEqual(classifyFailure(throttled), { retry: true, reason: 'retryable', notBeforeMs: 2000 })
    const crashed = await client().getOrder(42).catch((e: unknown) => e)
    assert.equal((crashed as TargetResponseError).status, 500)
    assert.equal(classifyFailure(crashed).retry, true)
    assert.equal((await client().getOrder(42)).entity_id, 42)
  })

  test('a slow shop: TargetUnreachableError after timeoutMs, retried', async () => {
    commerce.respondWith({ delayMs: 1000 })
    const error = await client({ timeoutMs: 100 }).getOrder(42).catch((e: unknown) => e)
    assert.ok(error instanceof TargetUnreachableError)
    assert.match(error.message, /timed out after 100 ms/)
    assert.equal(classifyFailure(error).retry, true)
  })

  test('a bad credential: 401 with Magento\'s message, dead', async () => {
    const error = await client({ oauth1: { ...commerce.credentials, consumerSecret: 'wrong' } }).getOrder(42).catch((e: unknown) => e)
    assert.equal((error as TargetResponseError).status, 401)
    assert.match((error as Error).message, /The signature is invalid/)
    assert.equal(classifyFailure(error).retry, false)
  })

  test('no credential ever appears in an error or an onCall report', async () => {
    const calls: OutboundCall[] = []
    const { consumerKey, consumerSecret, accessToken, accessTokenSecret } = commerce.credentials
    commerce.respondWith({ status: 500, body: { message: `token ${accessToken} key ${consumerKey}` } })
    const error = (await client({}, (call) => calls.push(call)).getOrder(42, {}).catch((e: unknown) => e)) as TargetResponseError
    assert.equal(error.status, 500)
    await client({}, (call) => calls.push(call)).get('orders', { searchCriteria: { pageSize: 1 } })
    const seen = JSON.stringify([error.message, error.responseText, String(error.stack), calls])
    for (const secret of [consumerKey, consumerSecret, accessToken, accessTokenSecret]) assert.ok(!seen.includes(secret), `${secret} in ${seen}`)
    assert.match(error.message, /\[redacted\]/)
    assert.deepEqual(calls.map((c) => [c.connection, c.url, c.status]), [
      ['commerce', `${commerce.url}/rest/V1/orders/42`, 500],
      ['commerce', `${commerce.url}/rest/V1/orders?searchCriteria%5BpageSize%5D=1`, 200],
    ])
  })

  test('maxConcurrency holds requests in a queue', async () => {
    const commerceClient = client({ maxConcurrency: 1 })
    commerce.respondWith({ delayMs: 150 }, { delayMs: 150 })
    const started = performance.now()
    await Promise.all([commerceClient.getOrder(42), commerceClient.getOrder(42)])
    assert.ok(performance.now() - started >= 290)
  })
})
