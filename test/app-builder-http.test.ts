/**
 * The OpenWhisk HTTP contracts over real HTTP on 127.0.0.1: the `openwhisk` npm client invoking
 * actions (blocking, with and without `result`, non-blocking, refused keys), web actions (status,
 * headers, body, raw-http bodies, require-adobe-auth, CORS, limits), activation records and the
 * admin view. The runtime side is a small in-process host running plain functions: this layer's
 * job is the HTTP mapping, which does not depend on how `main` is isolated.
 */
import assert from 'node:assert/strict'
import { Buffer } from 'node:buffer'
import { randomUUID } from 'node:crypto'
import type { Server } from 'node:http'
import { after, describe, it } from 'node:test'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import openwhisk from 'openwhisk'
import { HttpError } from '../src/core/errors.ts'
import type { Activation, AppBuilderAction } from '../src/runtime/app-builder/types.ts'
import { mountAppBuilderRoutes, type AppBuilderHost } from '../src/server/app-builder.ts'
import { listenOnLoopback } from './loopback.ts'

type Main = (params: Record<string, any>) => unknown

function action(fullName: string, flags: Partial<AppBuilderAction> = {}): AppBuilderAction {
  const [pkg, name] = fullName.split('/') as [string, string]
  return {
    package: pkg, name, fullName, file: `/fake/${fullName}.js`, runtime: 'nodejs:22', inputs: {}, web: false, rawHttp: false,
    final: false, requireAdobeAuth: false, timeoutMs: 60_000, declaredIn: 'app.config.yaml', ...flags,
  }
}

/** Holds an action until the test lets it go: no timing guesses. */
function gate() {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { open, opened }
}

/** A host that runs plain functions in-process and keeps activations in memory. */
function fakeHost(definitions: [AppBuilderAction, Main][], namespace = 'storehook-test') {
  const mains = new Map(definitions.map(([a, main]) => [a.fullName, main]))
  const records = new Map<string, Activation>()
  const calls: { action: string; params: Record<string, unknown>; cause: string }[] = []
  const host: AppBuilderHost = {
    namespace,
    apiKey: `${randomUUID()}:${Buffer.from(randomUUID()).toString('base64url')}`,
    action: (name) => definitions.find(([a]) => a.fullName === name)?.[0],
    async invoke(a, params, options) {
      calls.push({ action: a.fullName, params, cause: options.cause })
      const start = Date.now()
      const logs = [`${new Date(start).toISOString()} stdout: invoked ${a.fullName}`]
      let result: Record<string, unknown>
      let status: Activation['status']
      try {
        const value = await mains.get(a.fullName)!(params)
        const dictionary = typeof value === 'object' && value !== null && !Array.isArray(value)
        result = dictionary ? (value as Record<string, unknown>) : { error: 'The action did not return a dictionary.' }
        status = !dictionary ? 'action developer error' : 'error' in result ? 'application error' : 'success'
      } catch (error) {
        result = { error: (error as Error).message }
        status = 'action developer error'
      }
      const activation: Activation = { activationId: options.activationId ?? randomUUID().replaceAll('-', ''), action: a.fullName, cause: options.cause, start, end: Date.now(), status, result, logs, leftWork: false }
      records.set(activation.activationId, activation)
      return activation
    },
    activation: async (id) => records.get(id),
    activations: async ({ action: name, limit, before }) =>
      [...records.values()]
        .filter((r) => (!name || r.action === name) && (before === undefined || r.start < before))
        .sort((x, y) => y.start - x.start)
        .slice(0, limit ?? 50),
  }
  return { host, calls, records }
}

async function startServer(host: AppBuilderHost, options: { bodyLimitBytes?: number; maxBlockingWaitMs?: number } = {}) {
  const app = new Hono()
  // As app.ts answers the admin routes' HttpErrors.
  app.onError((error, c) => (error instanceof HttpError ? c.json({ error: error.message }, error.status as 400) : c.json({ error: 'internal error' }, 500)))
  mountAppBuilderRoutes(app, host, { bodyLimitBytes: options.bodyLimitBytes ?? 64 * 1024, ...(options.maxBlockingWaitMs ? { maxBlockingWaitMs: options.maxBlockingWaitMs } : {}) })
  return listenOnLoopback(createAdaptorServer({ fetch: app.fetch }) as Server)
}

async function poll<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const slow = gate()
after(() => slow.open())
const { host, calls, records } = fakeHost([
  [action('my-app/greet', { inputs: { greeting: 'Hello', name: 'nobody' } }), (p) => ({ message: `${p.greeting}, ${p.name}!`, keys: Object.keys(p).sort() })],
  [action('my-app/locked', { final: true, inputs: { apiKey: 'bound' } }), (p) => ({ apiKey: p.apiKey })],
  [action('my-app/fails', { web: true }), (p) => ({ error: { statusCode: 404, body: { error: `order ${p.id} not found` } } })],
  [action('my-app/throws', { web: true }), () => { throw new Error('main exploded') }],
  [action('my-app/slow', { web: true }), async () => { await slow.opened; return { body: 'finally' } }],
  [action('my-app/page', { web: true, inputs: { site: 'shop' } }), (p) => ({
    statusCode: 201,
    headers: { 'X-Site': p.site, 'Set-Cookie': ['a=1', 'b=2'] },
    body: { name: p.name, method: p.__ow_method, path: p.__ow_path, agent: p.__ow_headers['x-agent'], body: p.__ow_body ?? null },
  })],
  [action('my-app/echo-raw', { web: true, rawHttp: true }), (p) => ({ body: { body: p.__ow_body, query: p.__ow_query, name: p.name ?? null } })],
  [action('my-app/admin', { web: true, requireAdobeAuth: true }), (p) => ({ body: { who: p.__ow_headers.authorization } })],
  [action('default/bare'), () => ({ bare: true })],
])
const url = await startServer(host, { bodyLimitBytes: 1024 })
const ow = openwhisk({ apihost: url, api_key: host.apiKey, namespace: '_' })

describe('the invoke API through the openwhisk client', () => {
  it('blocking with result: the result, params = inputs under the request', async () => {
    const result = await ow.actions.invoke({ name: 'my-app/greet', blocking: true, result: true, params: { name: 'Ada' } })
    assert.equal(result.message, 'Hello, Ada!')
    assert.deepEqual(calls.at(-1), { action: 'my-app/greet', params: { greeting: 'Hello', name: 'Ada' }, cause: 'invoke' })
  })

  it('blocking without result: the activation record, also readable afterwards', async () => {
    const record: any = await ow.actions.invoke({ name: 'my-app/greet', blocking: true, params: { name: 'Grace' } })
    assert.match(record.activationId, /^[0-9a-f]{32}$/)
    assert.equal(record.name, 'greet')
    assert.equal(record.namespace, 'storehook-test')
    assert.deepEqual(record.response.result.message, 'Hello, Grace!')
    assert.equal(record.response.success, true)
    assert.equal(record.response.status, 'success')
    const again: any = await ow.activations.get({ name: record.activationId })
    assert.deepEqual(again, record)
    assert.deepEqual(((await ow.activations.result({ name: record.activationId })) as any).result, record.response.result)
    assert.deepEqual(((await ow.activations.logs({ name: record.activationId })) as any).logs, record.logs)
    const listed: any[] = await ow.activations.list({ name: 'my-app/greet', limit: 1 } as any)
    assert.deepEqual([listed.length, listed[0].activationId, listed[0].statusCode], [1, record.activationId, 0])
  })

  it('the host namespace works as well as _, a default-package action by its bare name', async () => {
    const mine = openwhisk({ apihost: url, api_key: host.apiKey, namespace: host.namespace })
    assert.deepEqual(await mine.actions.invoke({ name: 'bare', blocking: true, result: true }), { bare: true })
  })

  it('an application error is a 502 carrying the record', async () => {
    const error: any = await ow.actions.invoke({ name: 'my-app/fails', blocking: true, result: true, params: { id: 7 } }).then(() => assert.fail('resolved'), (e) => e)
    assert.equal(error.statusCode, 502)
    assert.deepEqual(error.error.response.result.error.body, { error: 'order 7 not found' })
    assert.equal(error.error.response.status, 'application error')
    const thrown: any = await ow.actions.invoke({ name: 'my-app/throws', blocking: true }).then(() => assert.fail('resolved'), (e) => e)
    assert.deepEqual([thrown.statusCode, thrown.error.response.status, thrown.error.response.result.error], [502, 'action developer error', 'main exploded'])
  })

  it('a wrong key, no key or another namespace is refused before anything runs', async () => {
    const before = calls.length
    const wrong = openwhisk({ apihost: url, api_key: `${randomUUID()}:nope`, namespace: '_' })
    const error: any = await wrong.actions.invoke({ name: 'my-app/greet', blocking: true }).then(() => assert.fail('resolved'), (e) => e)
    assert.equal(error.statusCode, 401)
    assert.equal(error.error.error, 'The supplied authentication is invalid')
    const bare = await fetch(`${url}/api/v1/namespaces/_/actions/my-app/greet?blocking=true`, { method: 'POST' })
    assert.equal(bare.status, 401)
    assert.equal(bare.headers.get('www-authenticate'), 'Basic realm="OpenWhisk secure realm"')
    assert.equal(((await bare.json()) as any).error, 'The resource requires authentication, which was not supplied with the request')
    const other = openwhisk({ apihost: url, api_key: host.apiKey, namespace: 'someone-else' })
    const forbidden: any = await other.actions.invoke({ name: 'my-app/greet', blocking: true }).then(() => assert.fail('resolved'), (e) => e)
    assert.equal(forbidden.statusCode, 403)
    assert.equal(calls.length, before)
  })

  it('final inputs cannot be overridden; unknown actions are 404', async () => {
    const error: any = await ow.actions.invoke({ name: 'my-app/locked', blocking: true, params: { apiKey: 'mine' } }).then(() => assert.fail('resolved'), (e) => e)
    assert.equal(error.statusCode, 400)
    assert.equal(error.error.error, 'Request defines parameters that are not allowed (e.g., reserved properties).')
    assert.deepEqual(await ow.actions.invoke({ name: 'my-app/locked', blocking: true, result: true }), { apiKey: 'bound' })
    const missing: any = await ow.actions.invoke({ name: 'my-app/nope', blocking: true }).then(() => assert.fail('resolved'), (e) => e)
    assert.deepEqual([missing.statusCode, missing.error.error], [404, 'The requested resource does not exist.'])
  })

  it('direct ?result=true answers only the result', async () => {
    const response = await fetch(`${url}/api/v1/namespaces/_/actions/my-app/greet?blocking=true&result=true`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(host.apiKey).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Lin' }),
    })
    assert.equal(response.status, 200)
    assert.match(response.headers.get('x-openwhisk-activation-id') ?? '', /^[0-9a-f]{32}$/)
    assert.equal(((await response.json()) as any).message, 'Hello, Lin!')
  })
})

describe('non-blocking and over-long invocations', () => {
  it('non-blocking answers 202 at once; the record is 404 until the action ends', async () => {
    const held = gate()
    const local = fakeHost([[action('my-app/held'), async () => (await held.opened, { done: true })]])
    const localUrl = await startServer(local.host)
    const client = openwhisk({ apihost: localUrl, api_key: local.host.apiKey, namespace: '_' })
    const { activationId } = await client.actions.invoke({ name: 'my-app/held' })
    assert.match(activationId, /^[0-9a-f]{32}$/)
    const early: any = await client.activations.get({ name: activationId }).then(() => assert.fail('resolved'), (e) => e)
    assert.equal(early.statusCode, 404)
    held.open()
    const record: any = await poll(() => client.activations.get({ name: activationId }).catch(() => undefined), 'the activation record')
    assert.deepEqual(record.response.result, { done: true })
  })

  it('a blocking wait past the limit answers 202 with the id (invoke and web); the record comes later', async () => {
    const local = await startServer(host, { maxBlockingWaitMs: 200 })
    const client = openwhisk({ apihost: local, api_key: host.apiKey, namespace: '_' })
    const pending: any = await client.actions.invoke({ name: 'my-app/slow', blocking: true }).then(
      (value) => value,
      (e) => assert.fail(e),
    )
    assert.match(pending.activationId, /^[0-9a-f]{32}$/)
    assert.equal(pending.response, undefined)
    const web = await fetch(`${local}/api/v1/web/my-app/slow`)
    assert.equal(web.status, 202)
    assert.equal(((await web.json()) as any).error, 'Response not yet ready.')
    const webId = web.headers.get('x-openwhisk-activation-id')!
    slow.open()
    const record: any = await poll(() => client.activations.get({ name: pending.activationId }).catch(() => undefined), 'the slow record')
    assert.equal(record.response.result.body, 'finally')
    await poll(async () => records.get(webId), 'the web activation')
  })
})

describe('web actions', () => {
  it('answer with status, headers and body per the result, and name the activation', async () => {
    const response = await fetch(`${url}/api/v1/web/my-app/page/orders/7?name=Ada`, { headers: { 'X-Agent': 'tester' } })
    assert.equal(response.status, 201)
    assert.equal(response.headers.get('x-site'), 'shop')
    assert.deepEqual(response.headers.getSetCookie(), ['a=1', 'b=2'])
    assert.equal(response.headers.get('content-type'), 'application/json')
    assert.equal(response.headers.get('access-control-allow-origin'), '*')
    assert.deepEqual(await response.json(), { name: 'Ada', method: 'get', path: '/orders/7', agent: 'tester', body: null })
    const id = response.headers.get('x-openwhisk-activation-id')!
    assert.equal(records.get(id)?.cause, 'web')
    // The namespaced form and a .json extension.
    const json = await fetch(`${url}/api/v1/web/${host.namespace}/my-app/page.json?name=Bo`)
    assert.equal(json.status, 200)
    assert.equal(((await json.json()) as any).body.name, 'Bo')
  })

  it("merges a JSON body; passes other bodies as __ow_body; refuses __ow_ overrides", async () => {
    const posted = await fetch(`${url}/api/v1/web/my-app/page`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Body"}' })
    assert.equal(((await posted.json()) as any).name, 'Body')
    const textual = await fetch(`${url}/api/v1/web/my-app/page`, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'hello' })
    assert.deepEqual(((await textual.json()) as any).body, 'hello')
    const refused = await fetch(`${url}/api/v1/web/my-app/page?__ow_method=delete`)
    assert.equal(refused.status, 400)
    const body = (await refused.json()) as any
    assert.equal(body.error, 'Request defines parameters that are not allowed (e.g., reserved properties).')
    assert.equal(typeof body.code, 'string')
  })

  it('a raw-http action sees the exact bytes, base64 for binary and JSON, and the raw query', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i))
    const binary = await fetch(`${url}/api/v1/web/my-app/echo-raw?name=Ada&x=%20y`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes })
    assert.deepEqual(await binary.json(), { body: bytes.toString('base64'), query: 'name=Ada&x=%20y', name: null })
    const json = '{ "name" : "Jane" ,\n "n":1}'
    const sentJson = await fetch(`${url}/api/v1/web/my-app/echo-raw`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json })
    assert.equal(((await sentJson.json()) as any).body, Buffer.from(json).toString('base64'))
  })

  it('application and developer errors answer as OpenWhisk does', async () => {
    const failed = await fetch(`${url}/api/v1/web/my-app/fails?id=9`)
    assert.equal(failed.status, 404)
    assert.deepEqual(await failed.json(), { error: 'order 9 not found' })
    const thrown = await fetch(`${url}/api/v1/web/my-app/throws`)
    assert.equal(thrown.status, 400)
    assert.equal(((await thrown.json()) as any).error, 'There was an error processing your request.')
    const id = thrown.headers.get('x-openwhisk-activation-id')!
    assert.deepEqual(records.get(id)?.result, { error: 'main exploded' })
  })

  it('an action that is not a web action, or does not exist, is 404', async () => {
    for (const path of ['my-app/greet', 'my-app/nope', 'nope']) {
      const response = await fetch(`${url}/api/v1/web/${path}`)
      assert.equal(response.status, 404, path)
      assert.equal(((await response.json()) as any).error, 'The requested resource does not exist.')
    }
  })

  it('require-adobe-auth refuses a request without a bearer token and IMS org, and runs with them', async () => {
    const before = calls.length
    const none = await fetch(`${url}/api/v1/web/my-app/admin`)
    assert.equal(none.status, 401)
    assert.deepEqual(await none.json(), { error: 'cannot authorize request, reason: missing authorization header' })
    const noOrg = await fetch(`${url}/api/v1/web/my-app/admin`, { headers: { authorization: 'Bearer abc' } })
    assert.deepEqual([noOrg.status, await noOrg.json()], [401, { error: 'cannot authorize request, reason: missing x-gw-ims-org-id header' }])
    assert.equal(calls.length, before)
    const ok = await fetch(`${url}/api/v1/web/my-app/admin`, { headers: { authorization: 'Bearer abc', 'x-gw-ims-org-id': 'ORG@AdobeOrg' } })
    assert.deepEqual([ok.status, await ok.json()], [200, { who: 'Bearer abc' }])
  })

  it('a CORS preflight is answered without running the action; an oversized body is 413', async () => {
    const before = calls.length
    const preflight = await fetch(`${url}/api/v1/web/my-app/page`, { method: 'OPTIONS', headers: { 'access-control-request-headers': 'x-custom' } })
    assert.equal(preflight.status, 200)
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'x-custom')
    const big = await fetch(`${url}/api/v1/web/my-app/page`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(2048) })
    assert.equal(big.status, 413)
    assert.equal(((await big.json()) as any).error, 'Request larger than allowed: 2048 > 1024 bytes.')
    assert.equal(calls.length, before)
  })
})

describe('admin activation routes', () => {
  it('list by action with logs, and show one', async () => {
    await ow.actions.invoke({ name: 'my-app/greet', blocking: true, result: true, params: { name: 'Admin' } })
    const listed = await fetch(`${url}/admin/api/activations?action=my-app/greet&limit=1`)
    const { activations } = (await listed.json()) as any
    assert.equal(activations.length, 1)
    assert.equal(activations[0].result.message, 'Hello, Admin!')
    assert.match(activations[0].start, /^\d{4}-\d\d-\d\dT/)
    assert.equal(activations[0].logs[0].includes('invoked my-app/greet'), true)
    const one = await fetch(`${url}/admin/api/activations/${activations[0].activationId}`)
    assert.equal(((await one.json()) as any).activation.activationId, activations[0].activationId)
    assert.equal((await fetch(`${url}/admin/api/activations/${'0'.repeat(32)}`)).status, 404)
    assert.equal((await fetch(`${url}/admin/api/activations?limit=x`)).status, 400)
  })
})
