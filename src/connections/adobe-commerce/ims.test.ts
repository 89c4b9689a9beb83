import { after, before, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { classifyFailure } from '../../core/outcome.ts'
import { startCommerceSimulator, type CommerceSimulator } from '../../testkit/commerce-simulator.ts'
import { ACCS_SCOPES, startImsSimulator, type ImsSimulator } from '../../testkit/ims-simulator.ts'
import type { OutboundCall } from '../connection.ts'
import { TargetResponseError, TargetUnreachableError } from '../http/index.ts'
import { createImsAuth, DEFAULT_IMS_TOKEN_URL, imsConfigSchema, ImsTokenError, type ImsConfig } from './ims.ts'
import { adobeCommerceConfigSchema, adobeCommerceConnection, type AdobeCommerceConnectionConfig } from './index.ts'

let ims: ImsSimulator
let commerce: CommerceSimulator

before(async () => {
  ims = await startImsSimulator()
  commerce = await startCommerceSimulator({ ims })
})
after(async () => {
  await commerce.close()
  await ims.close()
})
beforeEach(() => {
  ims.tokenRequests.length = 0
  ims.expiresIn = 86_399
  commerce.requests.length = 0
  commerce.orders.clear()
  commerce.seedOrder({ entity_id: 42 })
})

function imsOptions(extra: Partial<ImsConfig> = {}): ImsConfig {
  return { ...ims.credentials, tokenUrl: ims.tokenUrl, ...extra }
}

function client(ims: Partial<ImsConfig> = {}, config: Partial<AdobeCommerceConnectionConfig> = {}, onCall?: (call: OutboundCall) => void) {
  const parsed = adobeCommerceConfigSchema.parse({ baseUrl: `${commerce.url}/tenant123/V1/`, ims: imsOptions(ims), ...config })
  return adobeCommerceConnection.create('commerce', parsed, onCall ? { onCall } : {})
}

const bearerOf = (request: { headers: Record<string, unknown> } | undefined): string =>
  String(request?.headers.authorization).replace(/^Bearer /, '')

describe('adobe-commerce connection with ims: configuration', () => {
  test('exactly one of oauth1 and ims, the error naming the field', () => {
    const oauth1 = { consumerKey: 'ck', consumerSecret: 'secret-value-1', accessToken: 'at', accessTokenSecret: 'secret-value-2' }
    const credential = { clientId: 'id', clientSecret: 'secret-value-3', scopes: 'commerce.accs' }
    const issues = (config: unknown) => adobeCommerceConfigSchema.safeParse(config).error?.issues ?? []
    const neither = issues({ baseUrl: 'https://shop.example.com/' })
    assert.deepEqual(neither.map((issue) => [issue.path.join('.'), issue.message]), [
      ['oauth1', "give `oauth1` (an integration's OAuth 1.0a credentials) or `ims` (an IMS OAuth server-to-server credential)"],
    ])
    const both = issues({ baseUrl: 'https://shop.example.com/', oauth1, ims: credential })
    assert.deepEqual(both.map((issue) => [issue.path.join('.'), issue.message]), [['ims', 'give either `oauth1` or `ims`, not both']])

    const bad: [unknown, string][] = [
      [{ ...credential, clientSecret: '' }, 'ims.clientSecret'],
      [{ ...credential, clientId: undefined }, 'ims.clientId'],
      [{ ...credential, scopes: '' }, 'ims.scopes'],
      [{ ...credential, scopes: ['openid AdobeID'] }, 'ims.scopes.0'],
      [{ ...credential, tokenUrl: 'ftp://ims.example.com/' }, 'ims.tokenUrl'],
      [{ ...credential, tokenUrl: 'https://ims.example.com/token?client_secret=x' }, 'ims.tokenUrl'],
    ]
    for (const [value, field] of bad) {
      const found = issues({ baseUrl: 'https://na1.api.commerce.adobe.com/T1/', ims: value })
      assert.ok(found.some((issue) => issue.path.join('.') === field), `${field} in ${JSON.stringify(found)}`)
      assert.doesNotMatch(JSON.stringify(found), /secret-value/)
    }
  })

  test('defaults, and scopes as a list or a comma-separated string', () => {
    const parsed = imsConfigSchema.parse({ clientId: 'id', clientSecret: 's', scopes: ' openid, AdobeID,commerce.accs ' })
    assert.deepEqual(parsed, {
      clientId: 'id',
      clientSecret: 's',
      scopes: ['openid', 'AdobeID', 'commerce.accs'],
      tokenUrl: DEFAULT_IMS_TOKEN_URL,
      refreshSkewSeconds: 300,
      maxTokenLifetimeSeconds: 86_400,
      sendApiKey: true,
    })
    assert.equal(DEFAULT_IMS_TOKEN_URL, 'https://ims-na1.adobelogin.com/ims/token/v3')
    assert.deepEqual(imsConfigSchema.parse({ clientId: 'id', clientSecret: 's', scopes: ['openid', 'commerce.accs'] }).scopes, ['openid', 'commerce.accs'])
  })
})

describe('simulators: IMS token endpoint and the SaaS shop', () => {
  const form = (params: Record<string, string>) =>
    fetch(ims.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) })
  const good = () => ({ client_id: ims.credentials.clientId, client_secret: ims.credentials.clientSecret, grant_type: 'client_credentials', scope: ACCS_SCOPES.join(',') })

  test('a token for the credential, as IMS answers; refusals as RFC 6749 words them', async () => {
    const res = await form(good())
    assert.equal(res.status, 200)
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number }
    assert.deepEqual(Object.keys(body), ['access_token', 'token_type', 'expires_in'])
    assert.equal(body.token_type, 'bearer')
    assert.equal(body.expires_in, 86_399)
    const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1] as string, 'base64url').toString()) as Record<string, string>
    assert.equal(claims.client_id, ims.credentials.clientId)
    assert.equal(claims.expires_in, '86399000')
    assert.deepEqual(ims.validate(body.access_token), { valid: true, clientId: ims.credentials.clientId, orgId: ims.credentials.orgId, scopes: ACCS_SCOPES })

    const refusals: [Record<string, string>, string][] = [
      [{ ...good(), client_secret: 'wrong' }, 'invalid_client'],
      [{ ...good(), client_id: 'someone-else' }, 'invalid_client'],
      [{ ...good(), scope: ACCS_SCOPES.join(' ') }, 'invalid_scope'],
      [{ ...good(), scope: 'openid,photoshop_api' }, 'invalid_scope'],
      [{ ...good(), grant_type: 'authorization_code' }, 'unsupported_grant_type'],
    ]
    for (const [params, error] of refusals) {
      const refused = await form(params)
      assert.equal(refused.status, 400)
      assert.equal(((await refused.json()) as { error: string }).error, error)
    }
    assert.deepEqual(ims.tokenRequests.map((r) => [r.parametersIn, r.status, r.error ?? null]).slice(0, 2), [['body', 200, null], ['body', 400, 'invalid_client']])
    assert.equal(JSON.stringify(ims.tokenRequests).includes(ims.credentials.clientSecret), false)

    ims.expireTokens()
    assert.deepEqual(ims.validate(body.access_token), { valid: false, reason: 'expired' })
    ims.revokeTokens()
    assert.deepEqual(ims.validate(body.access_token), { valid: false, reason: 'revoked' })
    assert.deepEqual(ims.validate('nonsense'), { valid: false, reason: 'unknown' })
  })

  test('the SaaS form takes IMS tokens only: 401 without or with a dead token, 403 without x-api-key', async () => {
    const { access_token: token } = (await (await form(good())).json()) as { access_token: string }
    const get = async (path: string, headers: Record<string, string>) => {
      const res = await fetch(`${commerce.url}${path}`, { headers })
      return [res.status, await res.json()]
    }
    const invalid = { error_code: '401013', message: 'Oauth token is not valid' }
    assert.deepEqual(await get('/tenant123/V1/orders/42', {}), [401, invalid])
    assert.deepEqual(await get('/tenant123/V1/orders/42', { authorization: `Bearer ${token}` }), [403, { error_code: '403000', message: 'Api Key is required' }])
    assert.deepEqual(await get('/tenant123/V1/orders/42', { authorization: `Bearer ${token}`, 'x-api-key': 'other' }), [403, { error_code: '403003', message: 'Api Key is invalid' }])
    const ok = await get('/tenant123/V1/orders/42', { authorization: `Bearer ${token}`, 'x-api-key': ims.credentials.clientId })
    assert.equal(ok[0], 200)
    assert.equal((ok[1] as { entity_id: number }).entity_id, 42)
    assert.deepEqual(await get('/tenant123/V1/nothing', { authorization: `Bearer ${token}`, 'x-api-key': ims.credentials.clientId }), [404, { message: 'Request does not match any route.' }])
    ims.expireTokens()
    assert.deepEqual(await get('/tenant123/V1/orders/42', { authorization: `Bearer ${token}`, 'x-api-key': ims.credentials.clientId }), [401, invalid])
    assert.deepEqual(commerce.requests.map((r) => r.auth), ['none', 'rejected', 'rejected', 'ims', 'ims', 'rejected'])
  })
})

describe('adobe-commerce connection with ims: calls', () => {
  test('getOrder on the SaaS form: a form-encoded client_credentials request, then Bearer, x-api-key and x-gw-ims-org-id', async () => {
    const calls: OutboundCall[] = []
    const order = await client({}, {}, (call) => calls.push(call)).getOrder(42)
    assert.equal(order.entity_id, 42)
    assert.deepEqual(ims.tokenRequests.map((r) => [r.method, r.contentType, r.parametersIn, r.grantType, r.clientId, r.scopes, r.secretMatched]), [
      ['POST', 'application/x-www-form-urlencoded', 'body', 'client_credentials', ims.credentials.clientId, ACCS_SCOPES, true],
    ])
    const [request] = commerce.requests
    assert.equal(request?.url, '/tenant123/V1/orders/42')
    assert.equal(request?.auth, 'ims')
    assert.match(String(request?.headers.authorization), /^Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+$/)
    assert.equal(request?.headers['x-api-key'], ims.credentials.clientId)
    assert.equal(request?.headers['x-gw-ims-org-id'], ims.credentials.orgId)
    assert.deepEqual(calls.map((c) => [c.method, c.url, c.status]), [
      ['POST', ims.tokenUrl, 200],
      ['GET', `${commerce.url}/tenant123/V1/orders/42`, 200],
    ])
  })

  test('without orgId no x-gw-ims-org-id; sendApiKey: false sends no x-api-key', async () => {
    const { orgId: _, ...withoutOrg } = imsOptions()
    const parsed = adobeCommerceConfigSchema.parse({ baseUrl: `${commerce.url}/tenant123/V1/`, ims: withoutOrg })
    await adobeCommerceConnection.create('commerce', parsed, {}).getOrder(42)
    assert.equal(commerce.requests[0]?.headers['x-gw-ims-org-id'], undefined)
    const error = await client({ sendApiKey: false }).getOrder(42).catch((e: unknown) => e)
    assert.equal((error as TargetResponseError).status, 403)
    assert.equal(commerce.requests[1]?.headers['x-api-key'], undefined)
  })

  test('one token request for fifty concurrent calls, then the cached token', async () => {
    const connection = client()
    const orders = await Promise.all(Array.from({ length: 50 }, () => connection.getOrder(42)))
    assert.equal(orders.length, 50)
    for (let i = 0; i < 5; i++) await connection.get('orders', { searchCriteria: { pageSize: 1 } })
    assert.equal(ims.tokenRequests.length, 1)
    assert.equal(new Set(commerce.requests.map(bearerOf)).size, 1)
    assert.equal(commerce.requests.length, 55)
    assert.ok(commerce.requests.every((r) => r.status === 200))
  })

  test('a token near its expiry is replaced before use: no call goes out with a dying token', async () => {
    ims.expiresIn = 1 // with the default skew capped at half the lifetime: replaced after 0.5 s
    const connection = client()
    await connection.getOrder(42)
    await connection.getOrder(42)
    assert.equal(ims.tokenRequests.length, 1)
    await new Promise((resolve) => setTimeout(resolve, 600))
    await connection.getOrder(42)
    assert.equal(ims.tokenRequests.length, 2)
    assert.deepEqual(commerce.requests.map((r) => r.status), [200, 200, 200])
    assert.notEqual(bearerOf(commerce.requests[1]), bearerOf(commerce.requests[2]))
  })

  test('a token Commerce refuses (expired or revoked early): one refresh and one retry, shared by concurrent calls', async () => {
    const connection = client()
    await connection.getOrder(42)
    ims.expireTokens()
    const orders = await Promise.all(Array.from({ length: 20 }, () => connection.getOrder(42)))
    assert.equal(orders.length, 20)
    assert.equal(ims.tokenRequests.length, 2)
    const statuses = commerce.requests.slice(1).map((r) => r.status)
    assert.equal(statuses.filter((s) => s === 401).length, 20)
    assert.equal(statuses.filter((s) => s === 200).length, 20)

    ims.revokeTokens()
    assert.equal((await connection.getOrder(42)).entity_id, 42)
    assert.equal(ims.tokenRequests.length, 3)
  })

  test('a 401 that a new token does not cure: thrown after one retry (no loop), and the run goes dead', async () => {
    const connection = client()
    commerce.respondWith(401, 401)
    const error = await connection.getOrder(42).catch((e: unknown) => e)
    assert.ok(error instanceof TargetResponseError)
    assert.equal(error.status, 401)
    assert.equal(classifyFailure(error).retry, false)
    assert.equal(commerce.requests.length, 2)
    assert.equal(ims.tokenRequests.length, 2)
    commerce.respondWith(403)
    assert.equal(((await connection.getOrder(42).catch((e: unknown) => e)) as TargetResponseError).status, 403)
    assert.equal(ims.tokenRequests.length, 2, 'only a 401 asks for a new token')
  })

  test('a wrong client secret: ImsTokenError 400 invalid_client, the run goes dead, Commerce never called', async () => {
    const error = await client({ clientSecret: 'p8e-not-the-secret' }).getOrder(42).catch((e: unknown) => e)
    assert.ok(error instanceof ImsTokenError)
    assert.equal(error.status, 400)
    assert.equal(error.oauthError, 'invalid_client')
    assert.match(error.message, /^commerce: could not get an IMS access token: http:\/\/127\.0\.0\.1:\d+\/ims\/token\/v3 answered 400: invalid_client \(invalid client_secret parameter\); check ims\.clientId and ims\.clientSecret$/)
    assert.deepEqual(classifyFailure(error), { retry: false, reason: 'target answered 400' })
    assert.equal(commerce.requests.length, 0)

    ims.respondWith({ status: 401, body: { error: 'invalid_client', error_description: 'invalid client_secret parameter' } })
    assert.equal(classifyFailure(await client().getOrder(42).catch((e: unknown) => e)).retry, false)
    const scope = await client({ scopes: ['openid', 'photoshop_api'] }).getOrder(42).catch((e: unknown) => e)
    assert.match((scope as Error).message, /invalid_scope .*check ims\.scopes/)
    assert.equal(classifyFailure(scope).retry, false)
  })

  test('the token endpoint down (503 with Retry-After, no answer, a 200 without a token): retried; failures are not cached', async () => {
    const connection = client()
    ims.respondWith({ status: 503, retryAfter: 30 })
    const unavailable = await connection.getOrder(42).catch((e: unknown) => e)
    assert.ok(unavailable instanceof ImsTokenError)
    assert.equal(unavailable.status, 503)
    assert.deepEqual(classifyFailure(unavailable), { retry: true, reason: 'retryable', notBeforeMs: 30_000 })

    ims.respondWith({ status: 200, body: { token_type: 'bearer', expires_in: 86_399 } })
    const empty = await connection.getOrder(42).catch((e: unknown) => e)
    assert.ok(empty instanceof ImsTokenError)
    assert.match(empty.message, /answered 200 without a usable access_token$/)
    assert.equal(classifyFailure(empty).retry, true)

    assert.equal((await connection.getOrder(42)).entity_id, 42)
    assert.equal(ims.tokenRequests.length, 3)

    const closed = await startImsSimulator()
    await closed.close()
    const unreachable = await client({ tokenUrl: closed.tokenUrl }).getOrder(42).catch((e: unknown) => e)
    assert.ok(unreachable instanceof ImsTokenError)
    assert.equal(unreachable.status, undefined)
    assert.match(unreachable.message, /did not answer: connection refused/)
    assert.equal(classifyFailure(unreachable).retry, true)

    ims.respondWith({ delayMs: 500 })
    const slow = await client({}, { timeoutMs: 100 }).getOrder(42).catch((e: unknown) => e)
    assert.match((slow as Error).message, /did not answer: timed out after 100 ms/)
  })

  test('a caller giving up on its wait does not cancel the token request the others wait on', async () => {
    const connection = client()
    ims.respondWith({ delayMs: 200 })
    const controller = new AbortController()
    const impatient = connection.getOrder(42, { signal: controller.signal })
    const patient = connection.getOrder(42)
    setTimeout(() => controller.abort(new Error('deadline')), 50)
    await assert.rejects(impatient, /deadline/)
    assert.equal((await patient).entity_id, 42)
    assert.equal(ims.tokenRequests.length, 1)
    assert.equal(commerce.requests.length, 1)
  })

  test('neither the client secret nor any token appears in an error message, a stack or an onCall report', async () => {
    const calls: OutboundCall[] = []
    const report = (call: OutboundCall) => calls.push(call)
    const connection = client({}, {}, report)
    await connection.getOrder(42)
    const token = bearerOf(commerce.requests[0])
    const { clientSecret } = ims.credentials
    const errors: unknown[] = []
    const collect = (promise: Promise<unknown>) => promise.then(() => assert.fail('expected a failure'), (e: unknown) => errors.push(e))

    commerce.respondWith({ status: 500, body: { message: `token ${token} secret ${clientSecret}` } })
    await collect(connection.getOrder(42))
    commerce.respondWith({ status: 401, body: { message: `refused ${token}` } }, { status: 401, body: { message: `refused again, secret ${clientSecret}` } })
    await collect(connection.getOrder(42))
    const fresh = commerce.requests.map(bearerOf).filter((value) => value !== token)
    ims.respondWith({ status: 400, body: { error: 'invalid_request', error_description: `bad client_secret ${clientSecret}` } })
    await collect(client({}, {}, report).getOrder(42))
    ims.respondWith({ status: 502, body: `<html>upstream said ${clientSecret}</html>` })
    await collect(client({}, {}, report).getOrder(42))
    await collect(client({ clientSecret: `${clientSecret}-old` }, {}, report).getOrder(42))

    assert.equal(errors.length, 5)
    const seen = JSON.stringify([
      errors.map((e) => [String(e), (e as Error).stack, (e as TargetResponseError).responseText, String((e as Error).cause)]),
      calls,
    ])
    for (const secret of [clientSecret, token, ...fresh]) assert.ok(!seen.includes(secret), `a secret in ${seen}`)
    assert.match(seen, /\[redacted\]/)
    assert.ok(fresh.length >= 1)
    assert.ok(calls.some((c) => c.url === ims.tokenUrl && c.status === 400))
  })
})

describe('createImsAuth: the cache on a clock', () => {
  test('expires_in minus the skew, capped by maxTokenLifetimeSeconds', async () => {
    let clock = 1_000_000
    const auth = (extra: Partial<ImsConfig>) =>
      createImsAuth('commerce', imsConfigSchema.parse(imsOptions(extra)), { timeoutMs: 5_000, now: () => clock })
    ims.expiresIn = 3_600
    const hourly = auth({})
    const first = (await hourly.authorize()).token
    clock += 3_299_000
    assert.equal((await hourly.authorize()).token, first)
    clock += 1_000 // 3300 s: 300 s before IMS's expiry
    assert.notEqual((await hourly.authorize()).token, first)
    assert.equal(ims.tokenRequests.length, 2)

    ims.expiresIn = 86_399_996 // what IMS's older token endpoints meant in ms
    const capped = auth({ maxTokenLifetimeSeconds: 7_200, refreshSkewSeconds: 0 })
    const long = (await capped.authorize()).token
    clock += 7_199_000
    assert.equal((await capped.authorize()).token, long)
    clock += 1_000
    assert.notEqual((await capped.authorize()).token, long)

    const dropped = auth({})
    const token = (await dropped.authorize()).token
    dropped.invalidate('some older token')
    assert.equal((await dropped.authorize()).token, token, 'only the cached token is dropped')
    dropped.invalidate(token)
    assert.notEqual((await dropped.authorize()).token, token)
  })
})
