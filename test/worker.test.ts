/**
 * The worker end to end, over real HTTP on 127.0.0.1 and real SQLite files: retries with backoff,
 * dead runs and their replay, which failures are permanent, ordering keys, concurrency limits, and
 * handlers that misbehave. Actions run in this process, so they report what they do to a probe on
 * `globalThis` that the tests read.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { eventually, makeProject, sendEvent, start, webhooksConfig } from './helpers.ts'

interface Mark {
  key: string
  phase: 'start' | 'end'
}

/** What actions report: the order in which they start and end, and how many run at once. */
const probe = {
  marks: [] as Mark[],
  running: new Map<string, number>(),
  peak: new Map<string, number>(),
  aborts: [] as string[],
  /** An action calls this as it starts, counted under each label; it calls the result as it ends. */
  enter(labels: string[], key: string) {
    for (const label of labels) {
      const now = (probe.running.get(label) ?? 0) + 1
      probe.running.set(label, now)
      probe.peak.set(label, Math.max(now, probe.peak.get(label) ?? 0))
    }
    probe.marks.push({ key, phase: 'start' })
    return () => {
      for (const label of labels) probe.running.set(label, probe.running.get(label)! - 1)
      probe.marks.push({ key, phase: 'end' })
    }
  },
}
Object.assign(globalThis, { workerProbe: probe })

/** An action that reports to the probe and takes `ms` to finish. */
const probedAction = (options: string, labels: string[], ms: number) => `import { onEvent } from 'storehook'
export default onEvent(${options}, async (event) => {
  const leave = globalThis.workerProbe.enter(${JSON.stringify(labels)}, String(event.payload.data.key ?? event.id))
  try { await new Promise((resolve) => setTimeout(resolve, ${ms})) } finally { leave() }
})`

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
process.on('unhandledRejection', onUnhandled)
after(() => process.off('unhandledRejection', onUnhandled))

const erp = await startErpSimulator()
after(() => erp.close())

const main = await start({
  project: makeProject({
    'storehook.config.ts': webhooksConfig(`
  connections: { erp: { kind: 'http', baseUrl: '${erp.url}/orders' } },
  worker: { pollIntervalMs: 50, concurrency: 8 },`),
    // Delays 50, 100, 100, 100, 100 ms: doubling from 50, capped at 100.
    'actions/forward.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'order.*', retry: { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 100, jitter: false } },
  async (event, { connections }) => { await connections.erp.post('', { json: event.payload, idempotencyKey: event.id }) })`,
    'actions/strict.ts': `import { onEvent, PermanentError } from 'storehook'
export default onEvent({ types: 'invoice.*', retry: { maxAttempts: 3, baseDelayMs: 20, jitter: false } }, async (event, { connections }) => {
  if (event.payload.data.permanent) throw new PermanentError('invoice ' + event.id + ' can never be valid')
  await connections.erp.post('', { json: event.payload, idempotencyKey: event.id })
})`,
    'actions/ordered.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'seq.*', orderingKey: 'data.key', concurrency: 4,
  retry: { maxAttempts: 3, baseDelayMs: 30, maxDelayMs: 30, jitter: false } }, async (event, ctx) => {
  const { key, n, failTimes = 0 } = event.payload.data
  const leave = globalThis.workerProbe.enter(['ordered'], key + ':' + n)
  try {
    await new Promise((resolve) => setTimeout(resolve, 80))
    if (ctx.attempt <= failTimes) throw new Error(key + ':' + n + ' fails attempt ' + ctx.attempt)
  } finally { leave() }
})`,
    'actions/limited.ts': probedAction(`{ types: 'batch.*', concurrency: 2 }`, ['limited'], 100),
    'actions/misbehave.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'bad.*', timeoutMs: 150, retry: { maxAttempts: 2, baseDelayMs: 20, jitter: false } }, (event, ctx) => {
  const how = event.payload.data.how
  if (how === 'object') return (async () => { throw { code: 'E_WEIRD' } })()
  if (how === 'string') throw 'plain string'
  if (how === 'undefined') return Promise.reject(undefined)
  if (how === 'reject') return Promise.reject(new Error('rejected promise'))
  if (how === 'sync') throw new TypeError('thrown synchronously')
  if (how === 'hang' && ctx.attempt === 1) {
    ctx.signal.addEventListener('abort', () => globalThis.workerProbe.aborts.push(ctx.signal.reason.name))
    return new Promise(() => {})
  }
})`,
  }),
})

// A second storehook: a process-wide limit of 3, and two actions with no limit of their own.
const narrow = await start({
  project: makeProject({
    'storehook.config.ts': webhooksConfig(`worker: { pollIntervalMs: 50, concurrency: 3 },`),
    'actions/left.ts': probedAction(`'job.*'`, ['left', 'narrow'], 100),
    'actions/right.ts': probedAction(`'job.*'`, ['right', 'narrow'], 100),
  }),
})

const api = async (path: string, base = main.url): Promise<any> => {
  const response = await fetch(`${base}/admin/api${path}`)
  assert.equal(response.status, 200, `GET ${path}`)
  return response.json()
}
const postApi = async (path: string) => {
  const response = await fetch(`${main.url}/admin/api${path}`, { method: 'POST' })
  return { status: response.status, body: (await response.json()) as any }
}

interface ApiAttempt {
  number: number
  outcome: string | null
  errorMessage: string | null
  errorStack: string | null
  startedAt: string
  endedAt: string | null
}

/** The id of the one run an event was given. */
async function runOf(eventId: string): Promise<number> {
  const { runs } = await api(`/events/webhooks/${eventId}`)
  assert.equal(runs.length, 1)
  return runs[0].id
}

/** Sends an event that exactly one action consumes; returns its event id. */
async function post(type: string, data: Record<string, unknown> = {}, id?: string): Promise<string> {
  const sent = await sendEvent(main.url, { type, data, ...(id ? { id } : {}) })
  assert.equal(sent.status, 200)
  return sent.id
}

/** Sends an event that exactly one action consumes; returns that run's id. */
const send = async (type: string, data?: Record<string, unknown>, id?: string) => runOf(await post(type, data, id))

/** Waits for a run to reach `state`; returns it with its attempts. */
function settled(runId: number, state: string, base = main.url): Promise<{ run: any; attempts: ApiAttempt[] }> {
  return eventually(async () => {
    const found = await api(`/runs/${runId}`, base)
    return found.run.state === state && found
  }, 10_000, `run ${runId} to be ${state}`)
}

const ms = (iso: string | null) => Date.parse(iso!)
/** The start/end marks of the keys that begin with `prefix`, in the order they happened. */
const marksOf = (prefix: string) => probe.marks.filter((m) => m.key.startsWith(prefix)).map((m) => `${m.phase} ${m.key}`)

describe('retries and dead runs', () => {
  it('retries a failing run with doubling, capped delays, ends dead with every attempt recorded, and a replay succeeds', async () => {
    erp.setDown(true)
    const runId = await send('order.created', { order: 1 })
    const { run, attempts } = await settled(runId, 'dead').finally(() => erp.setDown(false))
    assert.equal(run.attempts, 6)
    assert.deepEqual(attempts.map((a) => a.outcome), ['failed', 'failed', 'failed', 'failed', 'failed', 'dead'])
    for (const attempt of attempts) {
      assert.match(attempt.errorMessage!, /^erp answered 503 to POST \/orders/)
      assert.match(attempt.errorStack!, /TargetResponseError/)
      assert.ok(ms(attempt.endedAt) >= ms(attempt.startedAt))
    }
    const gaps = attempts.slice(1).map((a, i) => ms(a.startedAt) - ms(attempts[i]!.startedAt))
    ;[50, 100, 100, 100, 100].forEach((delay, i) => assert.ok(gaps[i]! >= delay, `gap ${i + 1} is ${gaps[i]} ms, expected ≥ ${delay}`))
    // Uncapped, the last delay would be 50·2^4 = 800 ms.
    assert.ok(gaps[4]! < 800, `the last gap (${gaps[4]} ms) is capped by maxDelayMs`)

    const replay = await postApi(`/runs/${runId}/replay`)
    assert.equal(replay.status, 201)
    assert.notEqual(replay.body.run.id, runId)
    assert.equal(replay.body.run.replayOf, runId)
    const replayed = await settled(replay.body.run.id, 'succeeded')
    assert.deepEqual(replayed.attempts.map((a) => a.outcome), ['succeeded'])
    assert.ok(erp.accepted().some((d) => d.idempotencyKey === replayed.run.eventId))
    const old = await api(`/runs/${runId}`)
    assert.equal(old.run.state, 'dead')
    assert.equal(old.attempts.length, 6)
  })

  it('replays in bulk only the dead runs that match the filter, and only once', async () => {
    erp.respondWith(422, 422, 422)
    const tag = `bulk_${randomUUID()}`
    const a = await send('invoice.created', {}, `msg_${tag}_a`)
    const b = await send('invoice.created', {}, `msg_${tag}_b`)
    const other = await send('order.created', {}, `msg_${tag}_c`)
    for (const id of [a, b, other]) assert.equal((await settled(id, 'dead')).attempts.length, 1)

    const bulk = await postApi(`/runs/replay?action=strict&q=${tag}`)
    assert.equal(bulk.status, 200)
    assert.equal(bulk.body.replayed, 2)
    assert.deepEqual(bulk.body.runs.map((r: any) => r.replayOf).sort(), [a, b].sort())
    for (const r of bulk.body.runs) await settled(r.id, 'succeeded')
    assert.equal((await api(`/runs/${other}`)).run.state, 'dead')
    assert.equal((await api(`/events/webhooks/msg_${tag}_c`)).runs.length, 1, 'the other action’s dead run was not replayed')
    assert.equal((await postApi(`/runs/replay?action=strict&q=${tag}`)).body.replayed, 0)
  })
})

describe('permanent and retryable failures', () => {
  it('makes a run dead after one attempt when the action throws PermanentError', async () => {
    const { run, attempts } = await settled(await send('invoice.created', { permanent: true }), 'dead')
    assert.equal(run.attempts, 1)
    assert.match(run.lastError, /can never be valid/)
    assert.equal(attempts[0]!.outcome, 'dead')
    assert.match(attempts[0]!.errorStack!, /PermanentError/)
  })

  it('makes a run dead after one attempt when the connection gets a 422', async () => {
    erp.respondWith(422)
    const { run, attempts } = await settled(await send('order.created'), 'dead')
    assert.equal(run.attempts, 1)
    assert.match(attempts[0]!.errorMessage!, /answered 422/)
  })

  it('retries 409, 429 and 503 until the target accepts', async () => {
    erp.respondWith(409, 429, 503)
    const { run, attempts } = await settled(await send('order.created'), 'succeeded')
    assert.equal(run.attempts, 4)
    assert.deepEqual(attempts.map((a) => a.outcome), ['failed', 'failed', 'failed', 'succeeded'])
    assert.deepEqual(attempts.slice(0, 3).map((a) => a.errorMessage!.match(/answered (\d+)/)![1]), ['409', '429', '503'])
  })

  it('waits as long as Retry-After asks, rather than the 50 ms of its policy', async () => {
    erp.respondWith({ status: 429, headers: { 'retry-after': '1' } })
    const { attempts } = await settled(await send('order.created'), 'succeeded')
    assert.equal(attempts.length, 2)
    assert.ok(ms(attempts[1]!.startedAt) - ms(attempts[0]!.startedAt) >= 1000)
  })

  it('caps an absurd Retry-After at a day instead of failing to record the attempt', async () => {
    erp.respondWith({ status: 503, headers: { 'retry-after': '9000000000000' } })
    const before = Date.now()
    const { run, attempts } = await settled(await send('order.created'), 'retrying')
    assert.equal(attempts[0]!.outcome, 'failed')
    assert.ok(ms(run.runAt) > before + 23 * 3600_000 && ms(run.runAt) <= Date.now() + 24 * 3600_000, run.runAt)
  })
})

describe('ordering keys', () => {
  it('runs one key at a time in event order while other keys run alongside', async () => {
    const events: string[] = []
    for (const n of [1, 2, 3]) for (const key of ['A', 'B']) events.push(await post('seq.step', { key, n }))
    for (const id of await Promise.all(events.map(runOf))) await settled(id, 'succeeded')
    for (const key of ['A', 'B']) {
      assert.deepEqual(marksOf(`${key}:`), [1, 2, 3].flatMap((n) => [`start ${key}:${n}`, `end ${key}:${n}`]))
    }
    let running = 0
    let overlap = 0
    for (const mark of probe.marks.filter((m) => /^[AB]:/.test(m.key))) {
      running += mark.phase === 'start' ? 1 : -1
      overlap = Math.max(overlap, running)
    }
    assert.ok(overlap >= 2, 'runs of keys A and B overlapped')
  })

  it('holds later runs of a key behind a failing head until it succeeds or dies', async () => {
    const c1 = await send('seq.step', { key: 'C', n: 1, failTimes: 2 })
    const c2 = await send('seq.step', { key: 'C', n: 2 })
    const d1 = await send('seq.step', { key: 'D', n: 1, failTimes: 3 })
    const d2 = await send('seq.step', { key: 'D', n: 2 })
    const [c1Done, d1Dead] = [await settled(c1, 'succeeded'), await settled(d1, 'dead')]
    const [c2Done, d2Done] = [await settled(c2, 'succeeded'), await settled(d2, 'succeeded')]
    assert.equal(c1Done.attempts.length, 3)
    assert.equal(d1Dead.attempts.length, 3)
    const head = (key: string) => [1, 2, 3].flatMap(() => [`start ${key}:1`, `end ${key}:1`])
    assert.deepEqual(marksOf('C:'), [...head('C'), 'start C:2', 'end C:2'])
    assert.deepEqual(marksOf('D:'), [...head('D'), 'start D:2', 'end D:2'])
    assert.ok(ms(c2Done.attempts[0]!.startedAt) >= ms(c1Done.attempts.at(-1)!.endedAt), 'C:2 started after C:1 succeeded')
    assert.ok(ms(d2Done.attempts[0]!.startedAt) >= ms(d1Dead.attempts.at(-1)!.endedAt), 'D:2 started after D:1 was dead')
  })
})

describe('concurrency limits', () => {
  it('never runs more of an action at once than its concurrency', async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, () => send('batch.go')))
    for (const id of runs) await settled(id, 'succeeded')
    assert.equal(probe.peak.get('limited'), 2)
  })

  it('never runs more at once in the process than worker.concurrency', async () => {
    const sent = await Promise.all(Array.from({ length: 5 }, () => sendEvent(narrow.url, { type: 'job.go' })))
    const runs = (await Promise.all(sent.map(async (s) => (await api(`/events/webhooks/${s.id}`, narrow.url)).runs))).flat()
    assert.equal(runs.length, 10)
    for (const run of runs) await settled(run.id, 'succeeded', narrow.url)
    assert.equal(probe.peak.get('narrow'), 3)
    assert.ok(probe.peak.get('left')! >= 1 && probe.peak.get('right')! >= 1)
  })
})

describe('misbehaving handlers', () => {
  const failures: [string, string, RegExp][] = [
    ['object', 'rejects with a plain object', /^non-Error thrown: \{"code":"E_WEIRD"\}$/],
    ['string', 'throws a string', /^plain string$/],
    ['undefined', 'rejects with undefined', /^non-Error thrown: undefined$/],
    ['reject', 'returns a rejected promise', /^rejected promise$/],
    ['sync', 'throws synchronously', /^thrown synchronously$/],
  ]
  for (const [how, what, message] of failures) {
    it(`records a handler that ${what} as a failed attempt and retries it`, async () => {
      const { attempts } = await settled(await send('bad.thing', { how }), 'dead')
      assert.deepEqual(attempts.map((a) => a.outcome), ['failed', 'dead'])
      for (const attempt of attempts) {
        assert.match(attempt.errorMessage!, message)
        assert.ok(attempt.errorStack, 'a stack is recorded')
      }
    })
  }

  it('fails a hung attempt as timed out, aborts its signal, and retries it', async () => {
    const { attempts } = await settled(await send('bad.thing', { how: 'hang' }), 'succeeded')
    assert.deepEqual(attempts.map((a) => a.outcome), ['failed', 'succeeded'])
    assert.match(attempts[0]!.errorMessage!, /did not finish within its timeout of 150 ms/)
    assert.match(attempts[0]!.errorStack!, /AttemptTimeoutError/)
    assert.ok(ms(attempts[0]!.endedAt) - ms(attempts[0]!.startedAt) >= 150)
    assert.deepEqual(probe.aborts, ['AttemptTimeoutError'])
  })

  it('refuses a timeoutMs longer than a timer can wait, which would time every attempt out at once', async () => {
    const project = makeProject({
      'storehook.config.ts': webhooksConfig(),
      'actions/slow.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'slow.*', timeoutMs: 30 * 24 * 3600 * 1000 }, async () => {})`,
    })
    await assert.rejects(start({ project }), /actions\/slow\.ts \(action "slow"\): timeoutMs: at most 2147483647/)
  })

  it('is still serving, with no unhandled rejection', async () => {
    assert.equal((await fetch(`${main.url}/healthz`)).status, 200)
    assert.equal((await fetch(`${narrow.url}/healthz`)).status, 200)
    assert.deepEqual(unhandled, [])
  })
})

describe('waking up', () => {
  it('runs every event promptly when only wake-ups (no polling) can find it', async () => {
    // A 60 s poll: a wake-up lost between the claim loop and scheduling the next tick would show
    // as a run waiting for the poll, far past this test's limit.
    const sleepy = await start({
      project: makeProject({
        'storehook.config.ts': webhooksConfig(`worker: { pollIntervalMs: 60000 },`),
        'actions/noop.ts': `import { onEvent } from 'storehook'\nexport default onEvent('*', async () => {})\n`,
      }),
    })
    // Widen the window in which the race happened: every wake-up during this query was dropped.
    const { store } = sleepy.runtime
    const nextRunAt = store.nextRunAt.bind(store)
    store.nextRunAt = async (actions) => {
      await new Promise((resolve) => setTimeout(resolve, 20))
      return nextRunAt(actions)
    }
    const started = Date.now()
    for (let i = 0; i < 40; i++) {
      const sent = await sendEvent(sleepy.url, { type: 'ping' })
      assert.equal(sent.status, 200)
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 8))
    }
    await eventually(async () => (await sleepy.runtime.store.countRunsByState()).succeeded === 40, 10_000, 'every run to succeed without a poll')
    assert.ok(Date.now() - started < 20_000)
  })

  it('claims nothing after a run that ends cleanly, yet finds a key\'s next run and runs beyond capacity without a poll', async () => {
    const sleepy = await start({
      project: makeProject({
        'storehook.config.ts': webhooksConfig(`worker: { pollIntervalMs: 60000 },`),
        'actions/free.ts': `import { onEvent } from 'storehook'\nexport default onEvent('free.*', async () => {})\n`,
        'actions/keyed.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'keyed.*', orderingKey: 'data.key' }, async () => { await new Promise((resolve) => setTimeout(resolve, 20)) })\n`,
        'actions/narrow.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'narrow.*', concurrency: 1 }, async () => { await new Promise((resolve) => setTimeout(resolve, 20)) })\n`,
      }),
    })
    const { store } = sleepy.runtime
    await new Promise((resolve) => setTimeout(resolve, 100)) // the start's own claim is over
    let claims = 0
    const claimRuns = store.claimRuns.bind(store)
    store.claimRuns = async (options) => ((claims += 1), claimRuns(options))
    for (let i = 0; i < 20; i++) assert.equal((await sendEvent(sleepy.url, { type: 'free.ping' })).status, 200)
    await eventually(async () => (await store.countRunsByState()).succeeded === 20, 10_000, 'every free run to succeed')
    assert.equal(claims, 0, 'each run started in its ingest; its clean end asked the store for nothing')

    // Five runs of one key (the later ones wait for the first) and five beyond an action's capacity.
    await Promise.all([
      ...Array.from({ length: 5 }, (_, n) => sendEvent(sleepy.url, { type: 'keyed.ping', data: { key: 'k', n } })),
      ...Array.from({ length: 5 }, () => sendEvent(sleepy.url, { type: 'narrow.ping' })),
    ])
    await eventually(async () => (await store.countRunsByState()).succeeded === 30, 10_000, 'the waiting runs to be found by wake-ups, not the 60 s poll')
    assert.ok(claims > 0)
  })

  it('does not ask for the next due time while every slot is taken, and still finds the waiting runs and a later retry', async () => {
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    Object.assign(globalThis, { fullWorkerHold: held })
    const full = await start({
      project: makeProject({
        'storehook.config.ts': webhooksConfig(`worker: { concurrency: 2, pollIntervalMs: 60000 },`),
        'actions/hold.ts': `import { onEvent } from 'storehook'\nexport default onEvent('hold.*', () => globalThis.fullWorkerHold)\n`,
        'actions/flaky.ts': `import { onEvent } from 'storehook'
let failed = false
export default onEvent({ types: 'flaky.*', retry: { baseDelayMs: 50, jitter: false } }, () => {
  if (!failed) { failed = true; throw new Error('first attempt fails') }
})\n`,
      }),
    })
    const { store } = full.runtime
    await new Promise((resolve) => setTimeout(resolve, 100)) // the start's own tick is over
    let asked = 0
    const nextRunAt = store.nextRunAt.bind(store)
    store.nextRunAt = async (actions) => ((asked += 1), nextRunAt(actions))

    // Two runs take both slots; the next three wait, and each of their ingests wakes the worker.
    for (let i = 0; i < 5; i++) assert.equal((await sendEvent(full.url, { type: 'hold.ping' })).status, 200)
    await eventually(async () => (await store.countRunsByState()).pending === 3, 10_000, 'three runs to wait for a slot')
    assert.equal(asked, 0, 'with every slot taken, no wake-up asked for the next due time')

    release()
    await eventually(async () => (await store.countRunsByState()).succeeded === 5, 10_000, 'the waiting runs to start as slots free, not at the 60 s poll')
    // A retry is due later: only the next due time, asked once a slot is free, can wake the worker for it.
    assert.equal((await sendEvent(full.url, { type: 'flaky.ping' })).status, 200)
    await eventually(async () => (await store.countRunsByState()).succeeded === 6, 10_000, 'the retry to run at its time, not at the 60 s poll')
    assert.ok(asked > 0)
  })
})

describe('ctx.idempotencyKey', () => {
  it('is stable across attempts of a run and differs between actions on one event', async () => {
    const target = await startErpSimulator()
    after(() => target.close())
    const action = `import { onEvent } from 'storehook'
export default onEvent('*', async (event, ctx) => { await ctx.connections.erp.post('', { json: {}, idempotencyKey: ctx.idempotencyKey }) })`
    const keyed = await start({
      project: makeProject({
        'storehook.config.ts': webhooksConfig(`connections: { erp: { kind: 'http', baseUrl: '${target.url}' } },
  worker: { pollIntervalMs: 50 },`),
        'actions/first.ts': action.replace("'*'", "{ types: '*', retry: { baseDelayMs: 10, jitter: false } }"),
        'actions/second.ts': action,
      }),
    })
    target.respondWith(503)
    const sent = await sendEvent(keyed.url, { id: 'msg_a:b/c' })
    await eventually(() => target.accepted().length === 2, 10_000, 'both actions to deliver')
    const keys = target.deliveries.map((d) => d.idempotencyKey)
    assert.equal(keys.length, 3, 'one action was answered 503 once and retried')
    assert.deepEqual(new Set(keys), new Set([`first:webhooks:${encodeURIComponent(sent.id)}`, `second:webhooks:${encodeURIComponent(sent.id)}`]))
  })
})

describe('shutdown during an ingest', () => {
  it('gives back, unrun, the runs an in-flight ingest started for a worker that has begun to stop', async () => {
    const ran: string[] = []
    Object.assign(globalThis, { shutdownProbe: ran })
    const stopping = await start({
      project: makeProject({
        'storehook.config.ts': webhooksConfig(),
        'actions/record.ts': `import { onEvent } from 'storehook'\nexport default onEvent('*', async (event) => { globalThis.shutdownProbe.push(event.id) })\n`,
      }),
    })
    const { store, worker } = stopping.runtime
    const ingest = store.ingest.bind(store)
    let letIngestAnswer!: () => void
    const gate = new Promise<void>((resolve) => (letIngestAnswer = resolve))
    let ingesting = false
    store.ingest = async (items, claim) => {
      const outcomes = await ingest(items, claim)
      ingesting = true
      await gate
      return outcomes
    }
    const sending = sendEvent(stopping.url)
    await eventually(() => ingesting, 5000, 'the ingest to commit')
    const stopped = worker.stop(1000)
    letIngestAnswer()
    const sent = await sending
    assert.equal(sent.status, 200)
    await stopped
    const { runs } = await (await fetch(`${stopping.url}/admin/api/events/webhooks/${sent.id}`)).json() as { runs: { id: number; state: string }[] }
    await eventually(async () => (await store.getRun(runs[0]!.id))!.state === 'pending', 5000, 'the run to be given back')
    assert.deepEqual(ran, [])
  })
})
