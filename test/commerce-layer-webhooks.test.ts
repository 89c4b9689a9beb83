/**
 * The `commerce-layer` source on POST /events/<source>, over real HTTP with a real SQLite file:
 * signed deliveries become events typed by their topic, redeliveries (Commerce Layer retries up to
 * 10 times and sends no delivery id) run once, forgeries cost nothing.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { webhooks } from '@commercelayer/sdk-utils'
import { signCommerceLayer } from '../src/sources/commerce-layer/signature.ts'
import { eventually, makeProject, start } from './helpers.ts'

const SECRET = 'cl_webhook_secret_for_tests'
const seen = ((globalThis as any).__clWebhookRuns = [] as { id: string; type: string; number: unknown; market: unknown }[])

const project = makeProject({
  '.env': `CL_WEBHOOK_SECRET=${SECRET}\n`,
  'storehook.config.ts': `import { defineConfig, env } from 'storehook'
export default defineConfig({
  sources: { cl: { kind: 'commerce-layer', secrets: env('CL_WEBHOOK_SECRET') } },
  worker: { pollIntervalMs: 50 },
})`,
  'actions/placed.ts': `import { commerceLayer, onEvent } from 'storehook'
export default onEvent({ types: 'orders.*', source: 'cl' }, async (event) => {
  const order = commerceLayer.parseJsonApi(event.payload).data
  globalThis.__clWebhookRuns.push({ id: event.id, type: event.type, number: order.number, market: order.market?.code })
})`,
})
const { url } = await start({ project })
const admin = async (path: string) => (await fetch(`${url}/admin/api${path}`)).json() as Promise<any>

const orderBody = (number: string, updatedAt: string) =>
  JSON.stringify({
    data: {
      id: `ord_${number}`,
      type: 'orders',
      links: { self: `/api/orders/ord_${number}` },
      attributes: { number, status: 'placed', updated_at: updatedAt },
      relationships: { market: { data: { type: 'markets', id: 'm1' } } },
      meta: { mode: 'test', organization_id: 'orgTest' },
    },
    included: [{ id: 'm1', type: 'markets', attributes: { code: 'europe' } }],
  })

async function deliver(body: string, { topic = 'orders.place', signature }: { topic?: string | null; signature?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/vnd.api+json', 'x-commercelayer-signature': signature ?? signCommerceLayer(SECRET, body) }
  if (topic !== null) headers['x-commercelayer-topic'] = topic
  const started = performance.now()
  const response = await fetch(`${url}/events/cl`, { method: 'POST', headers, body })
  return { status: response.status, body: (await response.json()) as any, ms: performance.now() - started }
}

describe('commerce-layer webhooks on POST /events/<source>', () => {
  it('stores a delivery signed as @commercelayer/sdk-utils checks it, typed by its topic, and runs the action once', async () => {
    const body = orderBody('1001', '2026-03-01T10:00:00.000Z')
    const signature = signCommerceLayer(SECRET, body)
    assert.equal(webhooks.checkSignature(body, { 'x-commercelayer-signature': signature, 'x-commercelayer-topic': 'orders.place' }, SECRET).ok, true)
    const first = await deliver(body, { signature })
    assert.equal(first.status, 200)
    assert.ok(first.ms < 1000, `acknowledged after ${Math.round(first.ms)} ms (Commerce Layer allows 5 s)`)
    const id = 'orders.place/ord_1001/2026-03-01T10:00:00.000Z'
    assert.deepEqual(first.body, { received: 1, events: [{ id, type: 'orders.place', duplicate: false, runs: 1 }] })
    const retry = await deliver(body)
    assert.equal(retry.body.events[0].duplicate, true)
    await eventually(() => seen.some((run) => run.id === id), 5000, 'the action to run')
    assert.deepEqual(seen.filter((run) => run.id === id), [{ id, type: 'orders.place', number: '1001', market: 'europe' }])
    const { event } = await admin(`/events/cl/${encodeURIComponent(id)}`)
    assert.equal(event.payload.data.attributes.number, '1001')
    assert.equal(event.headers['x-commercelayer-topic'], 'orders.place')
  })

  it('makes a new event of a later change of the same order, or another topic', async () => {
    const later = await deliver(orderBody('1001', '2026-03-01T11:00:00.000Z'))
    const approved = await deliver(orderBody('1001', '2026-03-01T11:00:00.000Z'), { topic: 'orders.approve' })
    assert.equal(later.body.events[0].duplicate, false)
    assert.equal(approved.body.events[0].duplicate, false)
    assert.equal(approved.body.events[0].type, 'orders.approve')
  })

  it('derives the id of a delivery without updated_at from the body, so its retries are duplicates too', async () => {
    const body = JSON.stringify({ data: { id: 'ord_gone', type: 'orders' } })
    const first = await deliver(body, { topic: 'orders.destroy' })
    const again = await deliver(body, { topic: 'orders.destroy' })
    assert.match(first.body.events[0].id, /^orders\.destroy\/ord_gone\/body-[0-9a-f]{64}$/)
    assert.equal(again.body.events[0].duplicate, true)
  })

  it('refuses a forged delivery with 401 and stores nothing; a missing topic or a non-JSON:API body with 400', async () => {
    const body = orderBody('666', '2026-03-02T00:00:00.000Z')
    const forged = await deliver(body, { signature: signCommerceLayer('not-the-secret', body) })
    assert.equal(forged.status, 401)
    assert.match(forged.body.error, /does not match/)
    assert.equal((await deliver(body, { signature: '' })).status, 401)
    assert.equal((await deliver(body, { topic: null })).status, 400)
    assert.equal((await deliver('{"nope":1}')).status, 400)
    const { events } = await admin('/events?source=cl&q=ord_666')
    assert.deepEqual(events, [])
    const metrics = await (await fetch(`${url}/metrics`)).text()
    assert.match(metrics, /storehook_events_rejected_total\{source="cl",reason="signature"\} 2/)
  })
})
