/**
 * Inbound secrets never leak: with every kind of inbound secret configured (Standard Webhooks,
 * Commerce Layer webhook and external resource secrets, the I/O Events client secret, the admin
 * token) at known values, storehook is driven with good and bad requests — wrong signatures, a
 * secret sent as the signature, secrets in request headers, wrong admin tokens — and none of the
 * values appears in the logs (captured at debug level), in any answer (refusals included), in
 * `/metrics`, or in any admin API answer (every GET route, enumerated from the app).
 */
import assert from 'node:assert/strict'
import { createHmac, randomUUID } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { signCommerceLayer } from '../../src/sources/commerce-layer/signature.ts'
import { signStandardWebhook } from '../../src/sources/standard-webhooks/index.ts'
import { startIoEventsSimulator } from '../../src/testkit/io-events-simulator.ts'
import { eventually, makeProject, start } from '../helpers.ts'
import { concretePath, routesOf } from './routes.ts'

const SW_KEY = Buffer.from('sw-signing-key-8d1f3c0a9b7e').toString('base64')
const SECRETS = {
  SW_SECRET: `whsec_${SW_KEY}`,
  CL_WEBHOOK_SECRET: 'clwh-secret-4b9e07d2a6f1',
  CL_SHARED_SECRET: 'clext-secret-93c5f8e1d240',
  IO_CLIENT_SECRET: 'io-client-secret-7a2d6e9f0c3b',
  ADMIN_TOKEN: 'admin-token-1f6b3e8a5d92c4',
}
/** Every value that must never show: each secret, and the key inside the `whsec_` one. */
const NEVER = [...Object.values(SECRETS), SW_KEY]

const io = await startIoEventsSimulator()
after(() => io.close())
const project = makeProject({
  '.env': Object.entries(SECRETS).map(([name, value]) => `${name}=${value}`).join('\n'),
  'storehook.config.ts': `import { defineConfig, env } from 'storehook'
export default defineConfig({
  sources: {
    sw: { kind: 'standard-webhooks', secrets: env('SW_SECRET') },
    cl: { kind: 'commerce-layer', secrets: env('CL_WEBHOOK_SECRET') },
    io: { kind: 'adobe-io-events', clientId: '${io.clientId}', publicKeyBaseUrl: '${io.publicKeyBaseUrl}', legacySignature: true, clientSecret: env('IO_CLIENT_SECRET') },
  },
  worker: { pollIntervalMs: 50 },
})`,
  'actions/log-it.ts': `import { onEvent } from 'storehook'
export default onEvent('*', async (event, { logger }) => { logger.info({ headers: event.headers }, 'ran') })`,
  'external/price.ts': `import { commerceLayer, env } from 'storehook'
export default commerceLayer.price((li) => {
  if (li.sku_code === 'THROW') throw new Error('pricing failed')
  if (li.sku_code === 'INVALID') return { unit_amount_cents: -1 }
  return { unit_amount_cents: 100 }
}, { secrets: env('CL_SHARED_SECRET'), fallback: { lastGood: true } })`,
})
const storehook = await start({ project, adminToken: SECRETS.ADMIN_TOKEN })
const { url, runtime } = storehook
/** Every answer body seen, refusals included. */
const answers: string[] = []
async function send(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(`${url}${path}`, init)
  const text = await response.text()
  answers.push(`${init.method ?? 'GET'} ${path} → ${response.status} ${text}`)
  return new Response(text, { status: response.status, headers: response.headers })
}
const post = (path: string, headers: Record<string, string>, body: string | Uint8Array) => send(path, { method: 'POST', headers, body })
const admin = (path: string, token = SECRETS.ADMIN_TOKEN) => send(path, { headers: { authorization: `Bearer ${token}` } })
const ts = () => Math.floor(Date.now() / 1000)
const wrongLastChar = (value: string) => value.slice(0, -1) + (value.endsWith('x') ? 'y' : 'x')

function swHeaders(body: string, secret = SECRETS.SW_SECRET, id = `msg_${randomUUID()}`) {
  const t = ts()
  return { 'webhook-id': id, 'webhook-timestamp': String(t), 'webhook-signature': signStandardWebhook(secret, id, t, new TextEncoder().encode(body)) }
}

describe('secrets never leak from inbound traffic', () => {
  it('drives good and bad requests on every inbound surface', async () => {
    const event = JSON.stringify({ type: 'order.created', data: { n: 1 } })
    // Good, with credentials in headers a sender should not have sent (stored redacted).
    assert.equal((await post('/events/sw', { ...swHeaders(event), authorization: `Bearer ${SECRETS.ADMIN_TOKEN}`, 'x-shared-secret': SECRETS.CL_WEBHOOK_SECRET, 'x-api-key': SECRETS.CL_SHARED_SECRET }, event)).status, 200)
    // Bad: another secret, the secret itself as the signature, a broken body, a wrong-secret-shaped value.
    assert.equal((await post('/events/sw', swHeaders(event, 'whsec_Zm9yZ2VkLWtleQ=='), event)).status, 401)
    assert.equal((await post('/events/sw', { ...swHeaders(event), 'webhook-signature': `v1,${SW_KEY}` }, event)).status, 401)
    assert.equal((await post('/events/sw', { ...swHeaders(event), 'webhook-signature': SECRETS.SW_SECRET }, event)).status, 401)
    assert.equal((await post('/events/sw', swHeaders('{"type":'), '{"type":')).status, 400)

    const order = JSON.stringify({ data: { id: 'o1', type: 'orders', attributes: { updated_at: new Date().toISOString() } } })
    assert.equal((await post('/events/cl', { 'x-commercelayer-topic': 'orders.place', 'x-commercelayer-signature': signCommerceLayer(SECRETS.CL_WEBHOOK_SECRET, order) }, order)).status, 200)
    assert.equal((await post('/events/cl', { 'x-commercelayer-topic': 'orders.place', 'x-commercelayer-signature': SECRETS.CL_WEBHOOK_SECRET }, order)).status, 401)
    assert.equal((await post('/events/cl', { 'x-commercelayer-topic': 'orders.place', 'x-commercelayer-signature': signCommerceLayer(SECRETS.CL_SHARED_SECRET, order) }, order)).status, 401)

    const cloudEvent = new TextEncoder().encode(JSON.stringify(io.cloudEvent('com.adobe.commerce.observer.sales_order_save_after', { entity_id: '1' })))
    const legacy = (secret: string) => createHmac('sha256', secret).update(cloudEvent).digest('base64')
    assert.equal((await post('/events/io', { ...io.signedHeaders(cloudEvent), 'x-adobe-signature': legacy(SECRETS.IO_CLIENT_SECRET) }, cloudEvent)).status, 200)
    assert.equal((await post('/events/io', { ...io.signedHeaders(cloudEvent), 'x-adobe-signature': legacy('wrong') }, cloudEvent)).status, 401)
    assert.equal((await post('/events/io', { ...io.signedHeaders(cloudEvent), 'x-adobe-signature': SECRETS.IO_CLIENT_SECRET }, cloudEvent)).status, 401)

    for (const sku of ['OK', 'THROW', 'INVALID']) {
      const call = JSON.stringify({ data: { id: `li_${sku}`, type: 'line_items', attributes: { sku_code: sku } } })
      assert.ok((await post('/external/price', { 'x-commercelayer-signature': signCommerceLayer(SECRETS.CL_SHARED_SECRET, call) }, call)).status < 500)
      assert.equal((await post('/external/price', { 'x-commercelayer-signature': signCommerceLayer(SECRETS.CL_WEBHOOK_SECRET, call) }, call)).status, 401)
      assert.equal((await post('/external/price', { 'x-commercelayer-signature': SECRETS.CL_SHARED_SECRET }, call)).status, 401)
    }

    for (const token of [wrongLastChar(SECRETS.ADMIN_TOKEN), SECRETS.CL_SHARED_SECRET, '']) assert.equal((await admin('/admin/api/events', token)).status, 401)
    await eventually(async () => (await runtime.store.listRuns({ limit: 100 })).filter((run) => run.state === 'succeeded').length >= 3, 10_000, 'the runs to finish')
  })

  it('shows none in any admin API answer, every GET route included', async () => {
    const [event] = await runtime.store.listEvents({ source: 'sw', limit: 1 })
    const [run] = await runtime.store.listRuns({ limit: 1 })
    const params = { source: 'sw', id: event!.id }
    for (const route of routesOf(runtime).filter((r) => r.method === 'GET' && r.path.startsWith('/admin'))) {
      const { path } = concretePath(route.path, route.path.includes('/runs/') ? { id: String(run!.id) } : params)
      const response = await admin(path)
      assert.ok(response.status < 500, `${path}: ${response.status}`)
    }
    const stored = await (await admin(`/admin/api/events/sw/${encodeURIComponent(event!.id)}`)).json() as { event: { headers: Record<string, string> } }
    assert.equal(stored.event.headers.authorization, '[redacted]')
    assert.equal(stored.event.headers['x-shared-secret'], '[redacted]')
    assert.equal(stored.event.headers['x-api-key'], '[redacted]')
  })

  it('shows none in /metrics, /healthz, any answer, or any log line', async () => {
    await send('/metrics')
    await send('/healthz')
    // The capture works and holds request data: the action logged the stored (redacted) headers.
    assert.ok(storehook.logs.some((line) => line.includes('"msg":"ran"') && line.includes('"authorization":"[redacted]"')), 'the action log line')
    assert.ok(answers.length > 20, 'the answers were collected')
    for (const secret of NEVER) {
      for (const line of storehook.logs) assert.ok(!line.includes(secret), `a log line holds a secret: ${line.slice(0, 300)}`)
      for (const answer of answers) assert.ok(!answer.includes(secret), `an answer holds a secret: ${answer.slice(0, 300)}`)
    }
  })
})
