/**
 * The body limit on both public POST routes, at the byte: a genuinely signed body of exactly the
 * limit is accepted and one byte more is 413 with a JSON reason, whether its length is declared
 * (Content-Length) or not (chunked, in chunks of any size); a declared length over the limit is
 * refused before the body is sent; nothing over the limit is stored or reaches a handler.
 * Size: `FUZZ_RUNS=<factor>` multiplies every property's runs (test/fuzz/fuzz.ts).
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { signCommerceLayer } from '../../src/sources/commerce-layer/signature.ts'
import { signStandardWebhook } from '../../src/sources/standard-webhooks/index.ts'
import { makeProject, start } from '../helpers.ts'
import { runs } from './fuzz.ts'
import { rawRequest, reasonOf } from './raw-http.ts'

const LIMIT = 4096
const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const CL_SECRET = 'cl_external_secret_for_limits'
const calls = ((globalThis as any).__limitCalls = { count: 0 })
const project = makeProject({
  '.env': `SW_SECRET=${SW_SECRET}\nCL_SHARED_SECRET=${CL_SECRET}\n`,
  'storehook.config.ts': `import { defineConfig, env } from 'storehook'
export default defineConfig({ sources: { sw: { kind: 'standard-webhooks', secrets: env('SW_SECRET') } }, server: { bodyLimitBytes: ${LIMIT} } })`,
  'external/price.ts': `import { commerceLayer, env } from 'storehook'
// inline: the handler counts its calls in this thread's globalThis
export default commerceLayer.price(() => { globalThis.__limitCalls.count++; return { unit_amount_cents: 100 } }, { secrets: env('CL_SHARED_SECRET'), isolation: 'inline' })`,
})
const { url, runtime } = await start({ project })

/** Valid JSON of exactly `size` bytes (padded with spaces), when `size` allows. */
function padded(json: string, size: number): Uint8Array {
  return new TextEncoder().encode(json.length <= size ? json + ' '.repeat(size - json.length) : ' '.repeat(size))
}

/** A genuinely signed request of exactly `size` bytes to one route. */
function signed(route: 'events' | 'external', size: number): { id: string; path: string; body: Uint8Array; headers: Record<string, string> } {
  if (route === 'events') {
    const id = `msg_${randomUUID()}`
    const ts = Math.floor(Date.now() / 1000)
    const body = padded('{"type":"order.created","data":{}}', size)
    return { id, path: '/events/sw', body, headers: { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signStandardWebhook(SW_SECRET, id, ts, body) } }
  }
  const body = padded('{"data":{"id":"li1","type":"line_items","attributes":{"sku_code":"SKU"}}}', size)
  return { id: '', path: '/external/price', body, headers: { 'x-commercelayer-signature': signCommerceLayer(CL_SECRET, body) } }
}

describe('fuzz: request body limit', () => {
  it('accepts a body of up to the limit and refuses one byte more with 413, declared or chunked', async () => {
    const size = fc.oneof(fc.integer({ min: LIMIT - 64, max: LIMIT + 64 }), fc.constantFrom(LIMIT, LIMIT + 1, 128, 4 * LIMIT))
    const framing = fc.oneof(fc.constant(undefined), fc.array(fc.integer({ min: 1, max: 2 * LIMIT }), { minLength: 1, maxLength: 5 }))
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('events', 'external' as const), size, framing, async (route, bytes, chunked) => {
        const request = signed(route, bytes)
        const before = calls.count
        const answer = await rawRequest(url, { path: request.path, headers: request.headers, body: request.body, ...(chunked ? { chunked } : {}) })
        const what = `${bytes} bytes to ${request.path} (${chunked ? `chunked ${chunked.join(',')}` : 'declared'}): ${answer.status} ${answer.body.slice(0, 200)}`
        if (bytes > LIMIT) {
          assert.equal(answer.status, 413, what)
          assert.match(reasonOf(answer) ?? '', new RegExp(`${LIMIT} bytes`), what)
          assert.equal(calls.count, before, `a handler ran: ${what}`)
          if (route === 'events') assert.equal(await runtime.store.getEvent('sw', request.id), null, `stored: ${what}`)
        } else {
          assert.equal(answer.status, 200, what)
          if (route === 'events') assert.ok(await runtime.store.getEvent('sw', request.id), `not stored: ${what}`)
          else assert.equal(calls.count, before + 1, what)
        }
      }),
      runs(80),
    )
  })

  it('refuses a declared length over the limit at once, without waiting for the body', async () => {
    for (const path of ['/events/sw', '/external/price']) {
      // Ten bytes of a declared 100 MB: the answer must not wait for the rest.
      const answer = await rawRequest(url, { path, headers: { 'content-length': String(100 * 1024 * 1024) }, body: '{"a":1234}', timeoutMs: 5000 })
      assert.equal(answer.status, 413, `${path}: ${answer.body}`)
      assert.ok(reasonOf(answer), answer.body)
    }
  })
})
