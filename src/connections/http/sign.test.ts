/**
 * Signed outbound deliveries: what the `http` connection sends with `sign.standardWebhooks` is
 * verified, at a real receiving server on 127.0.0.1, by the `standardwebhooks` npm library (the
 * spec's reference implementation), not by storehook's own verifier.
 */
import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { beforeEach, describe, test } from 'node:test'
import { Webhook } from 'standardwebhooks'
import { httpConfigSchema, httpConnection } from './index.ts'
import { webhookId } from './sign.ts'
import { listenOnLoopback } from '../../../test/loopback.ts'

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const OTHER_SECRET = 'whsec_c2VjcmV0LW9mLWFub3RoZXItcmVjZWl2ZXI='

interface Received {
  headers: IncomingHttpHeaders
  body: Buffer
  /** What `new Webhook(SECRET).verify` said: the parsed payload, or its error's message. */
  verified: { ok: true; payload: unknown } | { ok: false; error: string }
}

let received: Received[] = []
let secret = SECRET

// The receiving system: verifies each delivery as a Standard Webhooks consumer would, and says so.
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const body = Buffer.concat(chunks)
    let verified: Received['verified']
    try {
      verified = { ok: true, payload: new Webhook(secret).verify(body.toString('utf8'), req.headers as Record<string, string>) }
    } catch (error) {
      verified = { ok: false, error: (error as Error).message }
    }
    received.push({ headers: req.headers, body, verified })
    res.writeHead(verified.ok ? 204 : 401).end()
  })
})
const origin = await listenOnLoopback(receiver)
beforeEach(() => {
  received = []
  secret = SECRET
})

const signed = (extra: Record<string, unknown> = {}) =>
  httpConnection.create('erp', httpConfigSchema.parse({ baseUrl: `${origin}/hooks`, sign: { standardWebhooks: { secret: SECRET } }, ...extra }), {})

describe('http connection: Standard Webhooks signing', () => {
  test('the standardwebhooks library verifies a JSON delivery; webhook-id is the idempotency key', async () => {
    const order = { id: 'order-42', lines: [{ sku: 'TSHIRT', qty: 2 }], note: 'grüße ☃' }
    const response = await signed().post('orders', { json: order, idempotencyKey: 'evt_01J9Z' })
    assert.equal(response.status, 204)
    const [delivery] = received
    assert.deepEqual(delivery?.verified, { ok: true, payload: order })
    assert.equal(delivery?.headers['webhook-id'], 'evt_01J9Z')
    assert.equal(delivery?.headers['idempotency-key'], 'evt_01J9Z')
    assert.match(String(delivery?.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+={0,2}$/)
    assert.ok(Math.abs(Number(delivery?.headers['webhook-timestamp']) - Date.now() / 1000) < 60)
  })

  test('raw bodies are signed byte for byte; without an idempotency key each request gets its own msg_ id', async () => {
    const client = signed()
    await client.put('orders/42', { body: new TextEncoder().encode('{"raw":true}'), headers: { 'content-type': 'application/json' } })
    await client.put('orders/42', { body: '{"raw":true}' })
    assert.deepEqual(received.map((r) => r.verified), [{ ok: true, payload: { raw: true } }, { ok: true, payload: { raw: true } }])
    const [first, second] = received.map((r) => String(r.headers['webhook-id']))
    assert.match(first!, /^msg_[0-9a-f]{32}$/)
    assert.notEqual(first, second)
  })

  test('a key that cannot be a webhook id (it holds a ".") becomes a stable msg_ digest', async () => {
    const client = signed()
    await client.post('orders', { json: { n: 1 }, idempotencyKey: 'commerce.order.42' })
    await client.post('orders', { json: { n: 1 }, idempotencyKey: 'commerce.order.42' })
    assert.ok(received.every((r) => r.verified.ok))
    assert.equal(received[0]?.headers['webhook-id'], webhookId('commerce.order.42'))
    assert.equal(received[0]?.headers['webhook-id'], received[1]?.headers['webhook-id'])
    assert.match(String(received[0]?.headers['webhook-id']), /^msg_[0-9a-f]{32}$/)
  })

  test('a receiver with another secret refuses the delivery; an unsigned connection sends no webhook headers', async () => {
    secret = OTHER_SECRET
    const refused = await signed().post('orders', { json: { n: 1 } }).catch((thrown: unknown) => thrown)
    assert.equal((refused as { status?: number }).status, 401)
    assert.deepEqual(received[0]?.verified, { ok: false, error: 'No matching signature found' })

    secret = SECRET
    await httpConnection.create('erp', httpConfigSchema.parse({ baseUrl: `${origin}/hooks` }), {}).post('orders', { json: { n: 1 } }).catch(() => undefined)
    assert.equal(received[1]?.headers['webhook-signature'], undefined)
  })

  test('a malformed secret is a config error that never quotes it', () => {
    const result = httpConfigSchema.safeParse({ baseUrl: origin, sign: { standardWebhooks: { secret: 'not-a-whsec-secret-value' } } })
    assert.equal(result.success, false)
    assert.deepEqual(result.error?.issues.map((issue) => issue.path.join('.')), ['sign.standardWebhooks.secret'])
    assert.match(result.error!.issues[0]!.message, /must start with "whsec_"/)
    assert.doesNotMatch(JSON.stringify(result.error), /not-a-whsec-secret-value/)
  })
})
