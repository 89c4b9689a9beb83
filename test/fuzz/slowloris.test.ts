/**
 * Slow and oversized clients against a real storehook (HTTP on 127.0.0.1, a real SQLite file):
 * a connection that sends nothing, headers or a body trickled a byte at a time, and headers over
 * the size limit are cut off with a JSON reason (408, 431) while other clients are served, and a
 * cut-off body stores nothing. The timeouts are set short here (StartOptions.http); the header
 * size limit is left at its default, so the defaults are applied too.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import { DEFAULT_HTTP_LIMITS } from '../../src/server/start.ts'
import { signStandardWebhook } from '../../src/sources/standard-webhooks/index.ts'
import { makeProject, sendEvent, start, TEST_SECRET, webhooksConfig } from '../helpers.ts'
import { rawRequest, reasonOf, trickle, type RawRequest } from './raw-http.ts'

const HEADERS_TIMEOUT_MS = 1000
const REQUEST_TIMEOUT_MS = 2000
const project = makeProject({ 'storehook.config.ts': webhooksConfig() })
const storehook = await start({
  project,
  http: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS, timeoutCheckIntervalMs: 100 },
})
const { url, runtime } = storehook
const encode = (text: string) => new TextEncoder().encode(text)
/** Generous: the cut-off must come, but CI's slow cores decide exactly when. */
const CUT_OFF_WITHIN_MS = 8000

describe('slow and oversized clients', () => {
  it('has defaults that cut a slow client off within seconds, not minutes', () => {
    assert.ok(DEFAULT_HTTP_LIMITS.headersTimeoutMs <= 30_000 && DEFAULT_HTTP_LIMITS.headersTimeoutMs >= 1000)
    assert.ok(DEFAULT_HTTP_LIMITS.requestTimeoutMs <= 60_000 && DEFAULT_HTTP_LIMITS.requestTimeoutMs >= DEFAULT_HTTP_LIMITS.headersTimeoutMs)
    assert.ok(DEFAULT_HTTP_LIMITS.timeoutCheckIntervalMs <= 5000)
    assert.equal(DEFAULT_HTTP_LIMITS.maxHeaderBytes, 16 * 1024)
  })

  it('cuts off trickled headers, a trickled body and a silent connection with 408, while serving others', async () => {
    const id = `msg_${randomUUID()}`
    const ts = Math.floor(Date.now() / 1000)
    const body = encode(JSON.stringify({ type: 'order.created', data: { pad: 'x'.repeat(500) } }))
    const head = `POST /events/webhooks HTTP/1.1\r\nhost: 127.0.0.1\r\nwebhook-id: ${id}\r\nwebhook-timestamp: ${ts}\r\nwebhook-signature: ${signStandardWebhook(TEST_SECRET, id, ts, body)}\r\ncontent-length: ${body.byteLength}\r\n\r\n`
    const slowly = { intervalMs: 50, timeoutMs: CUT_OFF_WITHIN_MS * 2 }
    const slowHeaders = trickle(url, { bytes: encode(head), ...slowly })
    // The head at once, then the (genuinely signed) body a byte at a time.
    const slowBody = trickle(url, { prefix: encode(head), bytes: body, ...slowly })
    const silent = trickle(url, { bytes: new Uint8Array(0), ...slowly })
    // Meanwhile, an ordinary client is served at once.
    const sent = await sendEvent(url)
    assert.equal(sent.status, 200)

    for (const [what, pending, total] of [['headers', slowHeaders, head.length], ['body', slowBody, head.length + body.byteLength], ['silence', silent, 0]] as const) {
      const answer = await pending
      assert.ok(answer.ms < CUT_OFF_WITHIN_MS, `${what}: cut off only after ${Math.round(answer.ms)} ms`)
      assert.ok(answer.ms >= HEADERS_TIMEOUT_MS * 0.9, `${what}: cut off after ${Math.round(answer.ms)} ms, before the timeout`)
      if (total > 0) assert.ok(answer.sent < total, `${what}: the whole request got through`)
      assert.equal(answer.status, 408, `${what}: ${answer.status} ${answer.body}`)
      assert.match(reasonOf(answer) ?? '', /not received in time/, what)
    }
    assert.equal(await runtime.store.getEvent('webhooks', id), null, 'a cut-off body was stored')
    assert.ok(!storehook.logs.some((line) => /unhandled error/.test(line)), 'a cut-off request was logged as an unhandled error')
  })

  it('refuses headers over 16 KiB (the default) with 431 and a JSON reason, and accepts them just under', async () => {
    const oneBig = await rawRequest(url, { method: 'GET', path: '/healthz', headers: { 'x-padding': 'a'.repeat(17 * 1024) } })
    assert.equal(oneBig.status, 431, oneBig.body)
    assert.match(reasonOf(oneBig) ?? '', /16384 bytes/)
    const many = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`x-h${i}`, 'b'.repeat(40)]))
    assert.equal((await rawRequest(url, { method: 'GET', path: '/healthz', headers: many })).status, 431)
    const under = await rawRequest(url, { method: 'GET', path: '/healthz', headers: { 'x-padding': 'a'.repeat(15 * 1024) } })
    assert.equal(under.status, 200, under.body)
  })

  it('answers bytes that are not HTTP, and conflicting lengths, with 400 and a JSON reason', async () => {
    const cases: RawRequest[] = [
      { path: '/events/webhooks', headers: { 'content-length': ['5', '6'] }, body: '{}' },
      { path: '/events/webhooks', headers: { 'content-length': '2', 'transfer-encoding': 'chunked' }, body: '{}' },
      { path: '/events/webhooks', headers: { 'content-length': '-1' }, body: '{}' },
      { path: '/events/webhooks', headers: { 'bad header': 'x' }, body: '{}' },
      { path: '/events/webhooks HTTP/9.9\r\nx: y', body: '{}' },
    ]
    for (const request of cases) {
      const answer = await rawRequest(url, request)
      assert.equal(answer.status, 400, `${JSON.stringify(request)}: ${answer.status} ${answer.body}`)
      assert.match(reasonOf(answer) ?? '', /not valid HTTP/)
    }
    assert.equal((await sendEvent(url)).status, 200, 'still serving')
  })
})

