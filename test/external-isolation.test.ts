/**
 * External-resource handlers on handler threads (the default `isolation: 'thread'`), over real
 * HTTP on 127.0.0.1 with a real SQLite file: a handler that blocks its event loop (`while (true)`,
 * a 5-second synchronous loop) still gets its fallback answer in time while other resources,
 * `GET /healthz` and event ingest answer during the block; the blocked thread is terminated and
 * replaced and the next calls work; a handler that leaks memory ends its thread only; an
 * ExternalResourceError keeps its envelope across the thread boundary; the deadline's abort
 * reaches the handler; `isolation: 'inline'` runs on the main thread; a project a thread cannot
 * load does not start.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { startStorehook } from '../src/server/start.ts'
import { signCommerceLayer } from '../src/sources/commerce-layer/signature.ts'
import { captureLogs, eventually, makeProject, sendEvent, start, webhooksConfig } from './helpers.ts'

const SECRET = 'cl_shared_secret_for_isolation_01'
const DEADLINE_MS = 1500
const GRACE_MS = 500
const LATE_ANSWER_MS = 1500
/** Commerce Layer gives up after 3 s: every answer must come before. */
const PLATFORM_TIMEOUT_MS = 3000

const handler = (extra = '') => `import { threadId } from 'node:worker_threads'
import { commerceLayer, env, ExternalResourceError } from 'storehook'
export default commerceLayer.price(async (lineItem, { signal, logger }) => {
  switch (lineItem.sku_code) {
    case 'BLOCK': while (true) {}
    case 'BLOCK_5S': { const until = Date.now() + 5000; while (Date.now() < until) {} break }
    case 'BLOCK_LATE': await new Promise((resolve) => signal.addEventListener('abort', resolve)); while (true) {}
    case 'LEAK': { const kept = []; for (;;) kept.push(new Array(1e6).fill(kept.length)) }
    case 'KEEP': (globalThis.kept ??= []).push(new Array(3e6).fill(1)); break
    case 'HANG': return new Promise(() => {})
    case 'SOLD_OUT': throw new ExternalResourceError('OUT_OF_STOCK', 'sold out', { status: 409, data: { sku_code: 'SOLD_OUT' } })
    case 'THROW': throw new Error('pricing service said: internal-detail')
    case 'ABORT': {
      await new Promise((resolve) => signal.addEventListener('abort', resolve))
      logger.warn({ reason: signal.reason?.name }, 'aborted by the deadline')
      return { unit_amount_cents: 1 }
    }
    case 'WAIT': await new Promise((resolve) => setTimeout(resolve, 300)); break
    case 'METHOD': return { unit_amount_cents: 4901, describe() { return 'not cloneable' } }
  }
  return { unit_amount_cents: 4900, metadata: { threadId } }
}, { secrets: env('CL_SHARED_SECRET'), deadlineMs: ${DEADLINE_MS}, fallback: { answer: { unit_amount_cents: 5000 } }${extra} })
`

const project = makeProject({
  '.env': `CL_SHARED_SECRET=${SECRET}\n`,
  'storehook.config.ts': webhooksConfig(`external: { threads: 2, graceMs: ${GRACE_MS}, lateAnswerMs: ${LATE_ANSWER_MS}, threadMemoryMb: 96 },`),
  'external/price.ts': handler(),
  'external/other.ts': handler(),
  'external/inline.ts': handler(", isolation: 'inline'"),
})
const storehook = await start({ project })
const { url } = storehook

function lineItem(sku: string): string {
  return JSON.stringify({
    data: { id: `li_${sku}`, type: 'line_items', attributes: { sku_code: sku, quantity: 1 }, relationships: { order: { data: { type: 'orders', id: 'o1' } } } },
    included: [{ id: 'o1', type: 'orders', attributes: { currency_code: 'EUR' } }],
  })
}

/** One signed price call; `ms` counts from just before the request is sent. */
async function call(resource: string, sku: string) {
  const body = lineItem(sku)
  const started = performance.now()
  const response = await fetch(`${url}/external/${resource}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-commercelayer-signature': signCommerceLayer(SECRET, body) }, body })
  const answer = (await response.json()) as any
  return { status: response.status, answer, ms: performance.now() - started, at: performance.now() }
}

const admin = async (path: string) => (await fetch(`${url}/admin/api${path}`)).json() as Promise<any>
const recorded = async (query: string) => (await admin(`/external/calls?${query}`)).calls as any[]
const logged = (message: string) => storehook.logs.map((line) => JSON.parse(line)).filter((entry) => String(entry.msg).includes(message))
/** `eventually`, typed for checks that answer false (or nothing) until they answer the value. */
const waitFor = <T>(check: () => Promise<T | false | undefined> | T | false | undefined, timeoutMs: number, what: string) => eventually(check, timeoutMs, what) as Promise<T>
const readyThreads = async () => ((await admin('/external')).handlerThreads.threads as { threadId: number; state: string }[]).filter((t) => t.state === 'ready')

describe('handler threads', () => {
  it('run handlers off the main thread by default, and on it with isolation: inline', async () => {
    const [threaded, inline] = await Promise.all([call('price', 'OK'), call('inline', 'OK')])
    assert.equal(threaded.status, 200)
    assert.notEqual(threaded.answer.data.metadata.threadId, 0)
    assert.equal(inline.answer.data.metadata.threadId, 0)
    const listed = (await admin('/external')).resources.map((r: any) => [r.name, r.isolation])
    assert.deepEqual(listed.sort(), [['inline', 'inline'], ['other', 'thread'], ['price', 'thread']])
  })

  it('an ExternalResourceError thrown in a thread is still the refusal envelope with its status; another error gets the fallback', async () => {
    const refused = await call('price', 'SOLD_OUT')
    assert.equal(refused.status, 409)
    assert.deepEqual(refused.answer, { success: false, data: { sku_code: 'SOLD_OUT' }, error: { code: 'OUT_OF_STOCK', message: 'sold out' } })
    const method = await call('price', 'METHOD')
    assert.deepEqual(method.answer.data, { sku_code: 'METHOD', unit_amount_cents: 4901 }, 'an answer with a method crosses as its JSON form')
    const threw = await call('price', 'THROW')
    assert.equal(threw.status, 200)
    assert.equal(threw.answer.data.unit_amount_cents, 5000, 'the static fallback')
    assert.ok(!JSON.stringify(threw.answer).includes('internal-detail'))
  })

  it("each thread's used heap is in the admin API and /metrics, and what a handler keeps shows there", async () => {
    const heaps = async () => new Map(((await admin('/external')).handlerThreads.threads as { threadId: number; heapUsedBytes: number | null }[]).map((t) => [t.threadId, t.heapUsedBytes ?? NaN]))
    const before = await heaps()
    const kept = await call('price', 'KEEP')
    const threadId = kept.answer.data.metadata.threadId as number
    const after = await heaps()
    assert.ok(after.get(threadId)! - before.get(threadId)! > 16 * 2 ** 20, `the thread that kept 3 million elements grew: ${before.get(threadId)} → ${after.get(threadId)} bytes`)
    const metrics = await (await fetch(`${url}/metrics`)).text()
    const slots = [...metrics.matchAll(/^storehook_external_thread_heap_used_bytes\{thread="(\d+)"\} (\d+)$/gm)].map((m) => Number(m[2]))
    assert.equal(slots.length, 2, 'one gauge per thread slot')
    assert.ok(Math.max(...slots) > 16 * 2 ** 20, 'the keeping thread shows in the metric too')
  })

  it('a handler that never settles is awaited for lateAnswerMs after its deadline, then forgotten', async () => {
    const lateCalls = async () => ((await admin('/external')).handlerThreads.threads as { lateCalls: number }[]).reduce((sum, t) => sum + t.lateCalls, 0)
    const hung = await call('price', 'HANG')
    assert.equal(hung.answer.data.unit_amount_cents, 5000, 'the fallback answered at the deadline')
    const answeredAt = performance.now()
    assert.equal(await lateCalls(), 1, 'its late answer is awaited (for the last-good cache)')
    await waitFor(async () => (await lateCalls()) === 0, LATE_ANSWER_MS + 2000, 'the call forgotten')
    assert.ok(performance.now() - answeredAt >= LATE_ANSWER_MS - 100, 'not before lateAnswerMs')
    assert.equal((await call('price', 'OK')).status, 200, 'the thread works on')
  })

  it("the deadline's abort reaches the handler's signal in its thread", async () => {
    const answered = await call('price', 'ABORT')
    assert.equal(answered.answer.data.unit_amount_cents, 5000, 'the fallback answered at the deadline')
    const [line] = await waitFor(() => logged('aborted by the deadline').length > 0 && logged('aborted by the deadline'), 5000, "the handler's log line")
    assert.equal(line.reason, 'DeadlineExceededError')
    assert.equal(line.resource, 'price', 'logged through ctx.logger, relayed with its bindings')
  })

  it('while (true): the fallback answers in time, other requests answer during the block, and the thread is replaced', async () => {
    const before = await readyThreads()
    assert.equal(before.length, 2)
    let blockAnsweredAt = Infinity
    const blockSentAt = Date.now()
    const blocked = call('price', 'BLOCK').then((result) => {
      blockAnsweredAt = result.at
      return result
    })
    // The block has begun once its call was handed over, and its thread has missed its beats by
    // now; everything below is sent during the block.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const during = await Promise.all([
      call('other', 'OK'),
      call('price', 'OK'),
      fetch(`${url}/healthz`).then((r) => ({ status: r.status, at: performance.now() })),
      sendEvent(url).then((r) => ({ ...r, at: performance.now() })),
    ])
    const [other, price, health, event] = during
    assert.equal(other.status, 200)
    assert.equal(other.answer.data.unit_amount_cents, 4900, "the other resource's own answer, not a fallback")
    assert.equal(price.answer.data.unit_amount_cents, 4900, 'the same resource, on the other thread')
    assert.equal(health.status, 200)
    assert.equal(event.status, 200)
    for (const answered of during) assert.ok(answered.at < blockAnsweredAt, 'answered while the blocked call was still waiting for its deadline')

    const block = await blocked
    assert.equal(block.status, 200)
    assert.equal(block.answer.data.unit_amount_cents, 5000, 'the static fallback')
    assert.ok(block.ms < PLATFORM_TIMEOUT_MS, `answered in ${Math.round(block.ms)} ms, before the platform's 3 s`)
    const record = await waitFor(async () => (await recorded(`resource=price&outcome=timeout&since=${blockSentAt}`))[0], 5000, 'the timeout recorded')
    assert.equal(record.fallback, 'static')
    assert.ok(record.durationMs < PLATFORM_TIMEOUT_MS, `recorded ${record.durationMs} ms from arrival`)

    const [cutOff] = await waitFor(() => logged('did not respond').length > 0 && logged('did not respond'), 10_000, 'the blocked thread cut off')
    assert.equal(cutOff.resource, 'price')
    const after = await waitFor(async () => {
      const threads = await readyThreads()
      return threads.length === 2 && threads.some((t) => !before.some((b) => b.threadId === t.threadId)) && threads
    }, 15_000, 'a new thread ready in its place')
    assert.equal(after.filter((t) => before.some((b) => b.threadId === t.threadId)).length, 1, 'one thread replaced, the other kept')
    assert.match(await (await fetch(`${url}/metrics`)).text(), /storehook_external_threads_replaced_total\{reason="blocked"\} 1/)

    // Two calls at once go to the two threads: the new one answers too.
    const next = await Promise.all([call('price', 'WAIT'), call('price', 'WAIT')])
    for (const answered of next) assert.equal(answered.answer.data.unit_amount_cents, 4900)
    assert.deepEqual(next.map((n) => n.answer.data.metadata.threadId).sort(), after.map((t) => t.threadId).sort())
  })

  for (const sku of ['BLOCK_5S', 'BLOCK_LATE']) {
    it(`${sku === 'BLOCK_5S' ? 'a 5-second synchronous loop' : 'a loop that starts after the deadline'} is cut off the same way`, async () => {
      const replaced = logged('did not respond').length
      const block = await call('other', sku)
      assert.equal(block.answer.data.unit_amount_cents, 5000)
      assert.ok(block.ms < PLATFORM_TIMEOUT_MS)
      await eventually(() => logged('did not respond').length > replaced, 10_000, 'the busy thread cut off')
      await eventually(async () => (await readyThreads()).length === 2, 15_000, 'two threads ready again')
      assert.equal((await call('other', 'OK')).answer.data.unit_amount_cents, 4900)
    })
  }

  it('when every thread is blocked, a call waits for one within its deadline, then its fallback answers', async () => {
    const replaced = logged('did not respond').length
    const blocks = [call('price', 'BLOCK'), call('other', 'BLOCK')]
    await new Promise((resolve) => setTimeout(resolve, 300))
    const waiting = call('price', 'OK')
    await waitFor(async () => (await admin('/external')).handlerThreads.waiting === 1, 2000, 'the call queued')
    const answered = await waiting
    assert.equal(answered.answer.data.unit_amount_cents, 5000, 'the static fallback: no thread was free before the deadline')
    assert.ok(answered.ms < PLATFORM_TIMEOUT_MS)
    for (const block of await Promise.all(blocks)) assert.equal(block.answer.data.unit_amount_cents, 5000)
    await waitFor(() => logged('did not respond').length === replaced + 2, 10_000, 'both threads cut off')
    await waitFor(async () => (await readyThreads()).length === 2, 15_000, 'two threads ready again')
    assert.equal((await call('price', 'OK')).answer.data.unit_amount_cents, 4900)
  })

  it('a handler that leaks memory ends its own thread only: the call falls back, and a new thread takes its place', async () => {
    const leak = await call('price', 'LEAK')
    assert.equal(leak.status, 200)
    assert.equal(leak.answer.data.unit_amount_cents, 5000)
    assert.ok(leak.ms < PLATFORM_TIMEOUT_MS)
    const [ended] = await waitFor(() => logged('handler thread ended').length > 0 && logged('handler thread ended'), 10_000, 'the thread end logged')
    assert.match(ended.reason, /memory/i)
    assert.deepEqual(ended.inFlight, ['price'])
    await eventually(async () => (await readyThreads()).length === 2, 15_000, 'two threads ready again')
    assert.match(await (await fetch(`${url}/metrics`)).text(), /storehook_external_threads_replaced_total\{reason="ended"\} 1/)
    assert.equal((await call('price', 'OK')).answer.data.unit_amount_cents, 4900)
  })
})

describe('what a handler thread loads', () => {
  it('imports the external resources and not the action files, whose import-time code runs once per process', async () => {
    const dir = makeProject({
      'storehook.config.ts': webhooksConfig('external: { threads: 2 },'),
      'actions/count.ts': `import { appendFileSync } from 'node:fs'
import { threadId } from 'node:worker_threads'
import { onEvent } from 'storehook'
appendFileSync(new URL('../imports.log', import.meta.url), \`action \${threadId}\\n\`)
export default onEvent('*', () => {})`,
      'external/price.ts': `import { appendFileSync } from 'node:fs'
import { threadId } from 'node:worker_threads'
import { commerceLayer } from 'storehook'
appendFileSync(new URL('../imports.log', import.meta.url), \`external \${threadId}\\n\`)
export default commerceLayer.price(() => ({ unit_amount_cents: 1 }), { secrets: 's' })`,
    })
    const storehook = await startStorehook({ project: dir, db: `sqlite:${dir}/storehook.db`, port: 0, logger: captureLogs().logger })
    try {
      const lines = readFileSync(join(dir, 'imports.log'), 'utf8').trim().split('\n').sort()
      // The main thread (id 0) imports both; each of the two handler threads the resource only.
      assert.equal(lines.filter((line) => line.startsWith('action')).join(), 'action 0')
      assert.equal(lines.filter((line) => line.startsWith('external')).length, 3)
      assert.equal(new Set(lines).size, 4, lines.join(', '))
    } finally {
      await storehook.close()
    }
  })


  it('does not start, and says why and how to run its handlers inline', async () => {
    const dir = makeProject({
      'storehook.config.ts': 'export default {}',
      'external/price.ts': `import { isMainThread } from 'node:worker_threads'
import { commerceLayer } from 'storehook'
if (!isMainThread) throw new Error('this module only loads on the main thread')
export default commerceLayer.price(() => ({ unit_amount_cents: 1 }), { secrets: 's' })`,
    })
    await assert.rejects(startStorehook({ project: dir, db: `sqlite:${dir}/storehook.db`, port: 0, logger: captureLogs().logger }), {
      name: 'ConfigError',
      message: /could not be loaded in a handler thread: .*this module only loads on the main thread.*isolation: 'inline'/,
    })
  })
})
