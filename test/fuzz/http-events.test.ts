/**
 * Fuzzes `POST /events/<source>` through a real storehook (HTTP on 127.0.0.1, a real SQLite file)
 * with all three sources configured and one action subscribed to every event: random and broken
 * bodies, genuine and bad signatures, header names in capitals and signature headers repeated on
 * their own lines, garbled source names. Properties: every answer comes (no hang), none is 5xx,
 * every refusal is a 4xx with a JSON reason, anything not genuinely signed is 401, and the store
 * and the action see exactly the events that were acknowledged, nothing else.
 * Size: `FUZZ_RUNS=<factor>` multiplies every property's runs (test/fuzz/fuzz.ts).
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, it } from 'node:test'
import fc from 'fast-check'
import { signCommerceLayer } from '../../src/sources/commerce-layer/signature.ts'
import { signStandardWebhook } from '../../src/sources/standard-webhooks/index.ts'
import { startIoEventsSimulator } from '../../src/testkit/io-events-simulator.ts'
import { eventually, makeProject, start } from '../helpers.ts'
import { bodies, headerGarbage, type HeaderRecord } from './arbitraries.ts'
import { runs } from './fuzz.ts'
import { rawRequest, reasonOf, type RawAnswer } from './raw-http.ts'

const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const CL_SECRET = 'cl_webhook_secret_for_http_fuzzing'
const ran = ((globalThis as any).__fuzzEventRuns = new Set<string>())

const io = await startIoEventsSimulator()
after(() => io.close())
const project = makeProject({
  '.env': `SW_SECRET=${SW_SECRET}\nCL_SECRET=${CL_SECRET}\n`,
  'storehook.config.ts': `import { defineConfig, env } from 'storehook'
export default defineConfig({
  sources: {
    sw: { kind: 'standard-webhooks', secrets: env('SW_SECRET') },
    cl: { kind: 'commerce-layer', secrets: env('CL_SECRET') },
    io: { kind: 'adobe-io-events', clientId: '${io.clientId}', publicKeyBaseUrl: '${io.publicKeyBaseUrl}' },
  },
  worker: { pollIntervalMs: 50 },
})`,
  'actions/every-event.ts': `import { onEvent } from 'storehook'
export default onEvent('*', async (event) => { globalThis.__fuzzEventRuns.add(event.source + ' ' + event.id) })`,
})
const { url, runtime } = await start({ project })

type Source = 'sw' | 'cl' | 'io'
type Signing = 'genuine' | 'unsigned' | 'forged' | 'garbage'
const templates: Record<Source, unknown> = {
  sw: { type: 'order.created', data: { id: 42, lines: [{ sku: 'A', qty: 1 }] } },
  cl: { data: { id: 'ord_1', type: 'orders', attributes: { number: '1', updated_at: '2026-01-01T00:00:00.000Z' } } },
  io: io.cloudEvent('com.adobe.commerce.observer.sales_order_save_after', { entity_id: '42' }),
}

/** The headers of one request to `source`, signed as `signing` says. */
function headersFor(source: Source, signing: Signing, body: Uint8Array, garbage: string): Record<string, string> {
  const genuine = signing === 'genuine'
  if (source === 'sw') {
    const id = `msg_${randomUUID()}`
    const ts = Math.floor(Date.now() / 1000)
    const signature = genuine ? signStandardWebhook(SW_SECRET, id, ts, body) : signing === 'forged' ? signStandardWebhook('whsec_Zm9yZ2Vk', id, ts, body) : garbage
    return { 'webhook-id': id, 'webhook-timestamp': String(ts), ...(signing === 'unsigned' ? {} : { 'webhook-signature': signature }) }
  }
  if (source === 'cl') {
    const signature = genuine ? signCommerceLayer(CL_SECRET, body) : signing === 'forged' ? signCommerceLayer('forged', body) : garbage
    return { 'x-commercelayer-topic': 'orders.place', ...(signing === 'unsigned' ? {} : { 'x-commercelayer-signature': signature }) }
  }
  const headers = io.signedHeaders(body, { signWith: signing === 'forged' ? 'forged' : 'both' })
  if (signing === 'unsigned') for (const n of [1, 2]) delete headers[`x-adobe-digital-signature-${n}`]
  if (signing === 'garbage') for (const n of [1, 2]) headers[`x-adobe-digital-signature-${n}`] = garbage
  return headers
}

/** Capitals in every name, or the signature headers sent twice (the genuine line first, then garbage). */
function reshape(headers: Record<string, string>, how: 'as-is' | 'capitals' | 'repeated', garbage: string): HeaderRecord {
  if (how === 'capitals') return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]))
  if (how === 'repeated') return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, /signature/.test(name) ? [value, garbage] : value]))
  return headers
}

/** Every event stored for a source, paging through the store. */
async function storedIds(source: Source): Promise<Set<string>> {
  const ids = new Set<string>()
  for (let before: number | undefined; ; ) {
    const page = await runtime.store.listEvents({ source, limit: 1000, ...(before === undefined ? {} : { beforeSeq: before }) })
    for (const event of page) ids.add(event.id)
    if (page.length < 1000) return ids
    before = page.at(-1)!.seq
  }
}

function assertRefusal(answer: RawAnswer, what: string): void {
  assert.ok(answer.status >= 400 && answer.status < 500, `${what}: answered ${answer.status} ${answer.body.slice(0, 200)}`)
  assert.ok(reasonOf(answer), `${what}: refused with ${answer.status} but no JSON reason: ${answer.body.slice(0, 200)}`)
}

describe('fuzz: POST /events/<source> over HTTP', () => {
  const acknowledged: Record<Source, Set<string>> = { sw: new Set(), cl: new Set(), io: new Set() }

  it('answers every request; refuses all but genuine, well-formed ones with a 4xx and a JSON reason; never 5xx', async () => {
    const source = fc.constantFrom<Source>('sw', 'cl', 'io')
    const request = source.chain((s) =>
      fc.record({
        source: fc.constant(s),
        body: bodies(templates[s]),
        signing: fc.constantFrom<Signing>('genuine', 'genuine', 'unsigned', 'forged', 'garbage'),
        shape: fc.constantFrom('as-is', 'capitals', 'repeated' as const),
        garbage: headerGarbage,
      }),
    )
    // One genuine event per source first, so the comparison below never compares empty sets only.
    for (const source of ['sw', 'cl', 'io'] as const) {
      const body = new TextEncoder().encode(JSON.stringify(templates[source]))
      const answer = await rawRequest(url, { path: `/events/${source}`, headers: headersFor(source, 'genuine', body, ''), body })
      assert.equal(answer.status, 200, answer.body)
      for (const event of (JSON.parse(answer.body) as { events: { id: string }[] }).events) acknowledged[source].add(event.id)
    }
    await fc.assert(
      fc.asyncProperty(request, async ({ source, body, signing, shape, garbage }) => {
        const headers = reshape(headersFor(source, signing, body, garbage), shape, garbage)
        const answer = await rawRequest(url, { path: `/events/${source}`, headers, body })
        const what = `${signing} ${source} (${shape})`
        if (answer.status === 200) {
          assert.equal(signing, 'genuine', `${what}: acknowledged`)
          const { events } = JSON.parse(answer.body) as { events: { id: string; duplicate: boolean }[] }
          for (const event of events) acknowledged[source].add(event.id)
          return
        }
        assertRefusal(answer, what)
        if (signing !== 'genuine') assert.equal(answer.status, 401, `${what}: ${answer.body}`)
        // A signature header sent twice arrives joined ("genuine, garbage"): refused unless the source can tell the values apart.
        else if (shape === 'repeated') assert.ok([400, 401].includes(answer.status), `${what}: ${answer.body}`)
        else if (answer.status === 401) assert.match(answer.body, /recipientclientid/, what)
        else assert.equal(answer.status, 400, `${what}: ${answer.body}`)
      }),
      runs(100),
    )
  })

  it('stored exactly the acknowledged events and ran the action for those only', async () => {
    for (const source of ['sw', 'cl', 'io'] as const) assert.deepEqual(await storedIds(source), acknowledged[source], `events stored for ${source}`)
    const expected = new Set((['sw', 'cl', 'io'] as const).flatMap((source) => [...acknowledged[source]].map((id) => `${source} ${id}`)))
    await eventually(() => ran.size >= expected.size, 10_000, 'the action to run for every acknowledged event')
    assert.deepEqual(ran, expected)
  })

  it('refuses a genuinely signed body nested 100 000 levels deep with 400, and keeps serving', async () => {
    for (const deep of ['['.repeat(100_000) + ']'.repeat(100_000), `{"type":"order.created","data":${'['.repeat(5000)}${']'.repeat(5000)}}`]) {
      const body = new TextEncoder().encode(deep)
      const answer = await rawRequest(url, { path: '/events/sw', headers: headersFor('sw', 'genuine', body, ''), body })
      assert.equal(answer.status, 400, answer.body)
      assert.match(reasonOf(answer)!, /nested more than 256 levels|must be a JSON object/)
    }
    assert.equal((await fetch(`${url}/healthz`)).status, 200)
  })

  it('answers garbled and unknown source names with a 4xx and a JSON reason, and makes no metric label of them', async () => {
    const segment = fc.oneof(
      fc.string({ maxLength: 30 }).map(encodeURIComponent),
      fc.constantFrom('%ZZ', '%', '..%2f..%2fadmin', '%00', 'sw%2F..', '%E0%A4%A', '..', '.', 'sw/extra', '%2e%2e', 'SW', 'sw%20'),
    )
    await fc.assert(
      fc.asyncProperty(segment, async (name) => {
        const answer = await rawRequest(url, { path: `/events/${name}`, body: '{}' })
        assertRefusal(answer, `POST /events/${name}`)
      }),
      runs(60),
    )
    // Names sent by strangers never become metric labels (unbounded label sets are an outage of their own).
    const labels = new Set([...(await (await fetch(`${url}/metrics`)).text()).matchAll(/source="([^"]*)"/g)].map((m) => m[1]))
    for (const label of labels) assert.ok(['sw', 'cl', 'io', '(unknown)', 'cron'].includes(label!), `a metric labelled source="${label}"`)
  })
})
