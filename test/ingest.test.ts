/**
 * POST /events/<source> over real HTTP on 127.0.0.1 with a real SQLite file: what is stored, what
 * is refused, and that refused requests cost nothing.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { Webhook } from 'standardwebhooks'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { TEST_SECRET, eventually, makeProject, sendEvent, signedEvent, start, webhooksConfig } from './helpers.ts'

const erp = await startErpSimulator()
after(() => erp.close())
const project = makeProject({
  'storehook.config.ts': webhooksConfig(`
  connections: { erp: { kind: 'http', baseUrl: '${erp.url}/orders' } },
  worker: { pollIntervalMs: 50 },
  server: { bodyLimitBytes: 4096 },`),
  'actions/forward.ts': `import { onEvent } from 'storehook'
export default onEvent('order.*', async (event, { connections }) => {
  await connections.erp.post('', { json: event.payload, idempotencyKey: event.id })
})`,
})
const storehook = await start({ project })
const { url, runtime } = storehook
const admin = async (path: string) => (await fetch(`${url}/admin/api${path}`)).json() as Promise<any>
const post = (headers: Record<string, string>, body: string | Uint8Array) => fetch(`${url}/events/webhooks`, { method: 'POST', headers, body })

describe('POST /events/<source>', () => {
  it('stores a verified event with a run per subscribed action, answers 200, and the action runs', async () => {
    const sent = await sendEvent(url, { type: 'order.created', data: { order_id: 7 } })
    assert.equal(sent.status, 200)
    assert.deepEqual(sent.body, { received: 1, events: [{ id: sent.id, type: 'order.created', duplicate: false, runs: 1 }] })
    const { event, runs } = await admin(`/events/webhooks/${sent.id}`)
    assert.deepEqual(event.payload, { type: 'order.created', data: { order_id: 7 } })
    assert.equal(event.headers['webhook-id'], sent.id)
    assert.equal(runs.length, 1)
    const [delivery] = (await erp.waitForAccepted(1)).filter((d) => d.idempotencyKey === sent.id)
    assert.deepEqual(JSON.parse(delivery!.body), { type: 'order.created', data: { order_id: 7 } })
    await eventually(async () => (await admin(`/runs/${runs[0].id}`)).run.state === 'succeeded', 5000, 'run to succeed')
  })

  it('accepts signatures made by the standardwebhooks library', async () => {
    const id = `msg_lib_${Date.now()}`
    const body = JSON.stringify({ type: 'order.updated', data: { n: 1 } })
    const signature = new Webhook(TEST_SECRET).sign(id, new Date(), body)
    const response = await post(
      { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': signature },
      body,
    )
    assert.equal(response.status, 200)
  })

  it('runs a repeated webhook-id once and counts it as a duplicate', async () => {
    const request = signedEvent({ type: 'order.created' })
    const first = await post(request.headers, request.body)
    const again = await post(request.headers, request.body)
    assert.equal(first.status, 200)
    assert.equal(again.status, 200)
    assert.equal((await again.json() as any).events[0].duplicate, true)
    await eventually(() => erp.accepted().some((d) => d.idempotencyKey === request.id), 5000, 'delivery')
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(erp.deliveries.filter((d) => d.idempotencyKey === request.id).length, 1)
    const { event, runs } = await admin(`/events/webhooks/${request.id}`)
    assert.equal(event.duplicateDeliveries, 1)
    assert.equal(runs.length, 1)
    assert.match(await (await fetch(`${url}/metrics`)).text(), /storehook_events_duplicate_total\{source="webhooks",type="order.created"\} 1/)
  })

  it('stores an event no action subscribes to, with no run', async () => {
    const sent = await sendEvent(url, { type: 'customer.created' })
    assert.equal(sent.body.events[0].runs, 0)
    assert.equal((await admin(`/events/webhooks/${sent.id}`)).runs.length, 0)
  })

  describe('refuses, stores nothing and runs nothing', () => {
    const refusals: [string, () => ReturnType<typeof signedEvent>, number, RegExp][] = [
      ['a wrong secret', () => signedEvent({ secret: 'whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==' }), 401, /signature/],
      ['a stale timestamp', () => signedEvent({ timestamp: Math.floor(Date.now() / 1000) - 301 }), 401, /timestamp/],
      ['a future timestamp', () => signedEvent({ timestamp: Math.floor(Date.now() / 1000) + 301 }), 401, /timestamp/],
      ['a missing signature', () => withoutHeader(signedEvent(), 'webhook-signature'), 401, /webhook-signature/],
      ['a missing id', () => withoutHeader(signedEvent(), 'webhook-id'), 401, /webhook-id/],
      ['a tampered body', () => tampered(signedEvent()), 401, /signature/],
    ]
    for (const [what, make, status, reason] of refusals) {
      it(`${status} for ${what}`, async () => {
        const request = make()
        const before = erp.deliveries.length
        const response = await post(request.headers, request.body)
        assert.equal(response.status, status)
        const { error } = (await response.json()) as { error: string }
        assert.match(error, reason)
        assert.ok(!error.includes(TEST_SECRET) && !error.includes(TEST_SECRET.slice(6)), 'no secret in the answer')
        const id = request.headers['webhook-id'] ?? 'none'
        assert.equal((await fetch(`${url}/admin/api/events/webhooks/${id}`)).status, 404)
        await new Promise((resolve) => setTimeout(resolve, 100))
        assert.equal(erp.deliveries.length, before)
      })
    }

    it('400 for malformed JSON with a valid signature', async () => {
      const request = signedEvent()
      const body = new TextEncoder().encode('{"type": "order.created", ')
      const headers = signedEventHeadersFor(request.id, body)
      const response = await post(headers, body)
      assert.equal(response.status, 400)
      assert.match(((await response.json()) as { error: string }).error, /JSON/)
      assert.equal((await fetch(`${url}/admin/api/events/webhooks/${request.id}`)).status, 404)
    })

    it('413 for a body over the limit, declared or not', async () => {
      const big = signedEvent({ data: { blob: 'x'.repeat(5000) } })
      assert.equal((await post(big.headers, big.body)).status, 413)
      const chunked = new ReadableStream({
        start(controller) {
          controller.enqueue(big.body)
          controller.close()
        },
      })
      const response = await fetch(`${url}/events/webhooks`, { method: 'POST', headers: big.headers, body: chunked, duplex: 'half' } as RequestInit)
      assert.equal(response.status, 413)
      assert.equal((await fetch(`${url}/admin/api/events/webhooks/${big.id}`)).status, 404)
    })

    it('404 for an unknown source', async () => {
      const request = signedEvent()
      const response = await fetch(`${url}/events/nope`, { method: 'POST', headers: request.headers, body: request.body })
      assert.equal(response.status, 404)
    })

    it('counts refusals by reason and logs them without secrets', async () => {
      const metrics = await (await fetch(`${url}/metrics`)).text()
      assert.match(metrics, /storehook_events_rejected_total\{source="webhooks",reason="signature"\} [1-9]/)
      assert.match(metrics, /storehook_events_rejected_total\{source="webhooks",reason="malformed"\} [1-9]/)
      assert.match(metrics, /storehook_events_rejected_total\{source="\(unknown\)",reason="unknown_source"\} [1-9]/)
      assert.match(metrics, /storehook_events_rejected_total\{source="webhooks",reason="too_large"\} 2/)
      assert.ok(storehook.logs.some((line) => line.includes('rejected an inbound request')))
      assert.ok(storehook.logs.every((line) => !line.includes(TEST_SECRET.slice(6))), 'no secret in any log line')
    })
  })

  it('answers 503, not 2xx, when the event cannot be made durable', async () => {
    const original = runtime.store.ingest
    runtime.store.ingest = async () => {
      throw new Error('disk I/O error')
    }
    try {
      const sent = await sendEvent(url)
      assert.equal(sent.status, 503)
    } finally {
      runtime.store.ingest = original
    }
  })

  it('reports health', async () => {
    assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok', store: 'sqlite' })
  })
})

function withoutHeader(request: ReturnType<typeof signedEvent>, name: string) {
  const { [name]: _, ...headers } = request.headers
  return { ...request, headers }
}

function tampered(request: ReturnType<typeof signedEvent>) {
  const body = new Uint8Array(request.body)
  body[body.length - 2]! ^= 1
  return { ...request, body }
}

function signedEventHeadersFor(id: string, body: Uint8Array) {
  const ts = Math.floor(Date.now() / 1000)
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': new Webhook(TEST_SECRET).sign(id, new Date(ts * 1000), Buffer.from(body).toString()),
  }
}
