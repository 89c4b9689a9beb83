/**
 * Crash safety of the real `storehook start` process: SIGKILL at random moments under load, a run
 * abandoned by a killed process, and SIGTERM with a run in flight. Each test runs the CLI as a
 * child process on a real SQLite file and talks to it over HTTP on 127.0.0.1.
 *
 * Size of the kill -9 test (defaults keep it to a few seconds):
 *   CRASH_CYCLES   kill/restart cycles (default 5)
 *   CRASH_SENDERS  concurrent senders of signed events (default 4)
 *   CRASH_SEED     seed of the kill delays, printed by each run to replay it
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { eventually, makeProject, sendEvent, signedEvent, webhooksConfig } from './helpers.ts'
import { runCli, startStorehookProcess, type StorehookProcess } from './child-process.ts'

const CYCLES = positiveInt('CRASH_CYCLES', 5)
const SENDERS = positiveInt('CRASH_SENDERS', 4)
const SEED = positiveInt('CRASH_SEED', Math.floor(Math.random() * 2 ** 31))

interface ApiRun {
  id: number
  state: string
  attempts: number
  maxAttempts: number
  eventId: string
}

interface ApiAttempt {
  number: number
  outcome: string | null
  errorMessage: string | null
  startedAt: string
  endedAt: string | null
}

async function api<T = any>(url: string, path: string): Promise<T> {
  const response = await fetch(`${url}/admin/api${path}`, { signal: AbortSignal.timeout(10_000) })
  const body = (await response.json()) as T
  assert.equal(response.status, 200, `GET /admin/api${path}: ${JSON.stringify(body)}`)
  return body
}

/** Every page of a listing, newest first (`before` pages backwards). */
async function listAll<T extends Record<string, unknown>>(url: string, path: string, key: 'events' | 'runs', cursor: 'seq' | 'id'): Promise<T[]> {
  const all: T[] = []
  let before: number | undefined
  for (;;) {
    const sep = path.includes('?') ? '&' : '?'
    const page = (await api(url, `${path}${sep}limit=1000${before === undefined ? '' : `&before=${before}`}`))[key] as T[]
    all.push(...page)
    if (page.length < 1000) return all
    before = page.at(-1)![cursor] as number
  }
}

/** `eventually`, for checks that return the value they waited for (or null/undefined while waiting). */
async function waitFor<T>(check: () => Promise<T | null | undefined>, timeoutMs: number, what: string): Promise<T> {
  return (await eventually(check, timeoutMs, what)) as T
}

/** Stops the process if the test left it running, so a failing test never leaks a child. */
async function ensureStopped(proc: StorehookProcess | null): Promise<void> {
  if (proc && !proc.exit) await proc.kill('SIGKILL')
}

test('an acknowledged event survives kill -9 at any moment and runs after restart', { timeout: 120_000 }, async (t) => {
  const started = Date.now()
  const random = mulberry32(SEED)
  t.diagnostic(`CRASH_CYCLES=${CYCLES} CRASH_SENDERS=${SENDERS} CRASH_SEED=${SEED}`)

  const erp = await startErpSimulator()
  t.after(() => erp.close())
  const dir = makeProject({
    'storehook.config.ts': webhooksConfig(`
  connections: { erp: { kind: 'http', baseUrl: '${erp.url}/orders', timeoutMs: 1500 } },
  worker: { pollIntervalMs: 100, leaseMarginMs: 500, shutdownGraceMs: 1000 },`),
    'actions/forward.ts': `import { onEvent, type HttpClient } from 'storehook'
export default onEvent({ types: '*', timeoutMs: 2000, retry: { baseDelayMs: 100, maxDelayMs: 500 } }, async (event, { connections, signal }) => {
  const erp: HttpClient = connections.erp
  await erp.post('', { json: event.payload, idempotencyKey: event.id, signal })
})
`,
  })
  const db = `sqlite:${join(dir, 'crash.db')}`

  // The load: senders post signed events to whichever process is up, and remember which ones
  // were acknowledged. A request cut off by the kill is not acknowledged, whatever the store did.
  let target: string | null = null
  let stopSending = false
  const acknowledged = new Map<string, string>() // event id → the body sent
  let sent = 0
  let connectionErrors = 0
  const rejected = new Map<number, number>() // non-2xx status → count
  let counter = 0
  const sender = async () => {
    while (!stopSending) {
      const url = target
      if (!url) {
        await sleep(5)
        continue
      }
      const request = signedEvent({ data: { order: ++counter, sku: 'MJ01', qty: counter % 7 } })
      sent += 1
      let response: Response
      try {
        response = await fetch(`${url}/events/webhooks`, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(5_000),
        })
      } catch {
        connectionErrors += 1
        continue
      }
      // The status line is the acknowledgement; the body may still be cut off by the kill.
      if (response.ok) acknowledged.set(request.id, new TextDecoder().decode(request.body))
      else rejected.set(response.status, (rejected.get(response.status) ?? 0) + 1)
      await response.arrayBuffer().catch(() => undefined)
    }
  }

  let proc: StorehookProcess | null = null
  const senders: Promise<void>[] = []
  try {
    for (let i = 0; i < SENDERS; i++) senders.push(sender())
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      proc = await startStorehookProcess({ project: dir, db, env: { LOG_LEVEL: 'warn' } })
      target = proc.url
      const before = acknowledged.size
      await sleep(100 + Math.floor(random() * 500))
      // Requests keep arriving right up to the kill; only then do the senders wait for the next process.
      proc.child.kill('SIGKILL')
      target = null
      const exit = await proc.waitForExit(10_000)
      assert.equal(exit.signal, 'SIGKILL', `cycle ${cycle}: the process ended by itself: ${proc.output.join('\n')}`)
      t.diagnostic(`cycle ${cycle + 1}: killed pid ${proc.pid}; ${acknowledged.size - before} events acknowledged by it`)
    }
    // The last process: more load, then no more events; everything acknowledged must now run.
    proc = await startStorehookProcess({ project: dir, db, env: { LOG_LEVEL: 'warn' } })
    target = proc.url
    await sleep(300)
    stopSending = true
    await Promise.all(senders)
    const url = proc.url
    assert.ok(acknowledged.size > 0, 'no event was acknowledged at all')

    // Runs cut off by the last kill are reclaimed once their lease (2000 + 500 ms) expires.
    const delivered = () => new Set(erp.accepted().map((d) => d.idempotencyKey))
    await eventually(
      () => [...acknowledged.keys()].every((id) => delivered().has(id)),
      30_000,
      'an accepted ERP delivery for every acknowledged event',
    ).catch((error: Error) => {
      const missing = [...acknowledged.keys()].filter((id) => !delivered().has(id))
      throw new Error(`${error.message}: ${missing.length} missing, e.g. ${missing.slice(0, 5).join(', ')}\n${proc!.output.slice(-30).join('\n')}`)
    })
    for (const state of ['pending', 'retrying', 'running']) {
      await eventually(async () => (await api(url, `/runs?state=${state}&limit=1`)).runs.length === 0, 15_000, `no ${state} runs left`)
    }

    // Every acknowledged event is stored, with its payload intact.
    const events = await listAll<{ id: string; seq: number; payload: unknown }>(url, '/events', 'events', 'seq')
    const stored = new Map(events.map((e) => [e.id, e]))
    for (const [id, body] of acknowledged) {
      const event = stored.get(id)
      assert.ok(event, `acknowledged event ${id} is not in the store`)
      assert.deepEqual(event.payload, JSON.parse(body), `event ${id}: stored payload differs from the one sent`)
    }
    // Spot-check the single-event endpoint too.
    const someId = [...acknowledged.keys()][Math.floor(acknowledged.size / 2)]!
    const one = await api<{ event: { id: string }; runs: ApiRun[] }>(url, `/events/webhooks/${encodeURIComponent(someId)}`)
    assert.equal(one.event.id, someId)
    assert.deepEqual(one.runs.map((r) => r.state), ['succeeded'])

    // Every stored event (acknowledged or not) ran once to success; none went dead.
    const runs = await listAll<ApiRun & Record<string, unknown>>(url, '/runs', 'runs', 'id')
    assert.equal(runs.length, events.length, 'one run per stored event')
    assert.deepEqual(runs.filter((r) => r.state !== 'succeeded').map((r) => `${r.id}:${r.state}`), [])
    const deliveredKeys = delivered()
    for (const event of events) assert.ok(deliveredKeys.has(event.id), `stored event ${event.id} was never delivered`)
    for (const delivery of erp.accepted()) {
      assert.ok(stored.has(delivery.idempotencyKey!), `the ERP got a delivery for ${delivery.idempotencyKey}, which is not stored`)
      assert.deepEqual(JSON.parse(delivery.body), stored.get(delivery.idempotencyKey!)!.payload)
    }

    const problems = proc.logs().filter((l) => Number(l.level) >= 40)
    if (problems.length) t.diagnostic(`the last process logged ${problems.length} warnings/errors, e.g. ${JSON.stringify(problems[0])}`)
    const duplicates = erp.duplicates()
    const reclaimed = runs.filter((r) => r.attempts > 1).length
    const statuses = [...rejected].map(([status, n]) => `${status}×${n}`).join(' ') || 'none'
    t.diagnostic(
      `${sent} sent, ${acknowledged.size} acknowledged, ${connectionErrors} connection errors, non-2xx: ${statuses}; ` +
        `${events.length} stored (${events.length - acknowledged.size} stored without an acknowledgement), ` +
        `${runs.length} runs succeeded, ${reclaimed} needed more than one attempt; ` +
        `${erp.accepted().length} ERP deliveries, ${duplicates.length} duplicates by Idempotency-Key` +
        (duplicates.length ? ` (${[...new Set(duplicates.map((d) => d.idempotencyKey))].slice(0, 5).join(', ')})` : '') +
        `; ${Date.now() - started} ms`,
    )
    // After a crash a run may be delivered again, but only runs that took more than one attempt.
    const reclaimedIds = new Set(runs.filter((r) => r.attempts > 1).map((r) => r.eventId))
    for (const d of duplicates) assert.ok(reclaimedIds.has(d.idempotencyKey!), `${d.idempotencyKey} was delivered twice by a run that ran once`)
  } finally {
    stopSending = true
    await Promise.allSettled(senders)
    await ensureStopped(proc)
  }
})

test('a run left running by a crashed process is reclaimed after its lease expires', { timeout: 60_000 }, async () => {
  // The kill must land before the first attempt's own timeout would end it as `failed`.
  const TIMEOUT_MS = 2500
  const LEASE_MARGIN_MS = 300
  const dir = makeProject({
    'storehook.config.ts': webhooksConfig(`worker: { pollIntervalMs: 100, leaseMarginMs: ${LEASE_MARGIN_MS} },`),
    'actions/hang.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: '*', timeoutMs: ${TIMEOUT_MS}, retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 } }, async (event, ctx) => {
  // The first attempt hangs until the process is killed (well before its timeout).
  if (ctx.attempt === 1) await new Promise((resolve) => setTimeout(resolve, 60_000))
})
`,
  })
  const db = `sqlite:${join(dir, 'reclaim.db')}`
  let proc: StorehookProcess | null = null
  try {
    proc = await startStorehookProcess({ project: dir, db })
    const sent = await sendEvent(proc.url)
    assert.equal(sent.status, 200)
    const url1 = proc.url
    const running = await waitFor(
      async () => (await api<{ runs: ApiRun[] }>(url1, '/runs?state=running')).runs[0],
      10_000,
      'the run to be running',
    )
    assert.equal(running.eventId, sent.id)
    const exit = await proc.kill('SIGKILL')
    assert.equal(exit.signal, 'SIGKILL')

    proc = await startStorehookProcess({ project: dir, db })
    const url2 = proc.url
    // The new process finds the run still `running` under the dead process's lease.
    const { run: orphan } = await api<{ run: ApiRun }>(url2, `/runs/${running.id}`)
    assert.ok(['running', 'succeeded'].includes(orphan.state), `unexpected state ${orphan.state}`)

    const done = await waitFor(
      async () => {
        const shown = await api<{ run: ApiRun; attempts: ApiAttempt[] }>(url2, `/runs/${running.id}`)
        return shown.run.state === 'succeeded' ? shown : null
      },
      15_000,
      'the reclaimed run to succeed',
    )
    assert.equal(done.run.attempts, 2)
    assert.deepEqual(done.attempts.map((a) => [a.number, a.outcome]), [[1, 'interrupted'], [2, 'succeeded']])
    assert.match(done.attempts[0]!.errorMessage ?? '', /lease expired/)
    // Not taken up again before the lease (timeout + margin) of the first attempt expired.
    const gap = Date.parse(done.attempts[1]!.startedAt) - Date.parse(done.attempts[0]!.startedAt)
    assert.ok(gap >= TIMEOUT_MS + LEASE_MARGIN_MS, `reclaimed ${gap} ms after the first attempt started, before its lease expired`)
    assert.ok(!proc.logs().some((l) => l.level === 50 || l.level === 60), `errors logged:\n${proc.output.join('\n')}`)
  } finally {
    await ensureStopped(proc)
  }
})

/**
 * A project whose action takes `firstAttemptMs` on its first attempt and returns at once after
 * that, leaving `started-<attempt>` and `finished-<attempt>` marker files in the project directory.
 */
function makeSlowProject(firstAttemptMs: number, shutdownGraceMs: number) {
  const dir = makeProject({
    'storehook.config.ts': webhooksConfig(`worker: { pollIntervalMs: 100, leaseMarginMs: 500, shutdownGraceMs: ${shutdownGraceMs} },`),
  })
  // The action names the directory, which exists only now.
  mkdirSync(join(dir, 'actions'))
  writeFileSync(
    join(dir, 'actions', 'slow.ts'),
    `import { writeFileSync } from 'node:fs'
import { onEvent } from 'storehook'
const dir = ${JSON.stringify(dir)}
export default onEvent({ types: '*', timeoutMs: 10_000, retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 } }, async (event, ctx) => {
  writeFileSync(dir + '/started-' + ctx.attempt, '')
  if (ctx.attempt === 1) await new Promise((resolve) => setTimeout(resolve, ${firstAttemptMs}))
  writeFileSync(dir + '/finished-' + ctx.attempt, '')
})
`,
  )
  return { dir, db: `sqlite:${join(dir, 'sigterm.db')}` }
}

/** Starts the project, sends one event, and SIGTERMs the process while the first attempt runs. */
async function sigtermDuringRun(dir: string, db: string, graceMs: number) {
  const proc = await startStorehookProcess({ project: dir, db })
  const sent = await sendEvent(proc.url)
  assert.equal(sent.status, 200)
  const { runs } = await api<{ runs: ApiRun[] }>(proc.url, `/events/webhooks/${sent.id}`)
  const runId = runs[0]!.id
  await eventually(() => existsSync(join(dir, 'started-1')), 10_000, 'the first attempt to start')
  const inFlight = !existsSync(join(dir, 'finished-1'))
  const signalled = Date.now()
  proc.child.kill('SIGTERM')
  const exit = await proc.waitForExit(graceMs + 3000)
  const took = Date.now() - signalled
  return { proc, runId, exit, took, inFlight }
}

test('SIGTERM lets an in-flight run finish or releases it', { timeout: 60_000 }, async (t) => {
  const GRACE_MS = 2000
  const { dir, db } = makeSlowProject(300, GRACE_MS)
  let proc: StorehookProcess | null = null
  try {
    const stopped = await sigtermDuringRun(dir, db, GRACE_MS)
    proc = stopped.proc
    assert.ok(stopped.inFlight, 'the run finished before SIGTERM was sent; the test did not test anything')
    assert.deepEqual(stopped.exit, { code: 0, signal: null }, proc.output.join('\n'))
    assert.ok(stopped.took <= GRACE_MS + 1500, `took ${stopped.took} ms to exit`)
    const messages = proc.logs().map((l) => l.msg)
    assert.ok(messages.includes('stopping: finishing or releasing in-flight runs') && messages.includes('stopped'), proc.output.join('\n'))

    proc = await startStorehookProcess({ project: dir, db })
    const url = proc.url
    const done = await waitFor(
      async () => {
        const shown = await api<{ run: ApiRun; attempts: ApiAttempt[] }>(url, `/runs/${stopped.runId}`)
        return shown.run.state === 'succeeded' ? shown : null
      },
      10_000,
      'the run to succeed',
    )
    const outcomes = done.attempts.map((a) => a.outcome)
    if (outcomes[0] === 'succeeded') {
      t.diagnostic(`finished within the grace period; exited ${stopped.took} ms after SIGTERM`)
      assert.deepEqual(outcomes, ['succeeded'])
      assert.equal(done.run.attempts, 1)
      assert.equal(done.run.maxAttempts, 3)
    } else {
      t.diagnostic(`released at shutdown; exited ${stopped.took} ms after SIGTERM`)
      assert.deepEqual(outcomes, ['interrupted', 'succeeded'])
      // The released attempt is given back: the run may still make its 3 attempts.
      assert.equal(done.run.maxAttempts, 4)
    }
  } finally {
    await ensureStopped(proc)
  }
})

test('SIGTERM releases a run that outlasts shutdownGraceMs, and it succeeds after restart', { timeout: 60_000 }, async (t) => {
  const GRACE_MS = 200
  const { dir, db } = makeSlowProject(5000, GRACE_MS)
  let proc: StorehookProcess | null = null
  try {
    const stopped = await sigtermDuringRun(dir, db, GRACE_MS)
    proc = stopped.proc
    assert.deepEqual(stopped.exit, { code: 0, signal: null }, proc.output.join('\n'))
    assert.ok(stopped.took <= GRACE_MS + 1500, `took ${stopped.took} ms to exit`)
    t.diagnostic(`exited ${stopped.took} ms after SIGTERM`)
    assert.ok(!existsSync(join(dir, 'finished-1')), 'the first attempt finished after all')
    const released = proc.logs().find((l) => l.msg === 'released unfinished runs at shutdown')
    assert.deepEqual(released?.runs, [stopped.runId], proc.output.join('\n'))

    // While nothing runs, the store shows it given back: pending, its attempt interrupted and not counted.
    const shown = JSON.parse(await runCli(['runs', 'show', String(stopped.runId), '--json', '--project', dir, '--db', db])) as {
      run: ApiRun
      attempts: (Omit<ApiAttempt, 'startedAt' | 'endedAt'> & { endedAt: number | null })[]
    }
    assert.equal(shown.run.state, 'pending')
    assert.equal(shown.run.attempts, 1)
    assert.equal(shown.run.maxAttempts, 4)
    assert.deepEqual(shown.attempts.map((a) => [a.number, a.outcome, a.errorMessage]), [[1, 'interrupted', 'released at shutdown']])
    assert.notEqual(shown.attempts[0]!.endedAt, null)

    proc = await startStorehookProcess({ project: dir, db })
    const url = proc.url
    const done = await waitFor(
      async () => {
        const run = await api<{ run: ApiRun; attempts: ApiAttempt[] }>(url, `/runs/${stopped.runId}`)
        return run.run.state === 'succeeded' ? run : null
      },
      10_000,
      'the released run to succeed after restart',
    )
    assert.deepEqual(done.attempts.map((a) => [a.number, a.outcome]), [[1, 'interrupted'], [2, 'succeeded']])
    assert.equal(done.run.attempts, 2)
    assert.equal(done.run.maxAttempts, 4)
    assert.ok(existsSync(join(dir, 'finished-2')))
  } finally {
    await ensureStopped(proc)
  }
})

// Node's server.close() keeps serving busy keep-alive connections for as long as their clients
// keep sending; shutdown must neither wait for them nor stop acknowledging durably meanwhile.
test(
  'SIGTERM under steady keep-alive traffic exits within shutdownGraceMs',
  {
    timeout: 30_000,
  },
  async (t) => {
    const GRACE_MS = 300
    const dir = makeProject({
      'storehook.config.ts': webhooksConfig(`worker: { pollIntervalMs: 100, shutdownGraceMs: ${GRACE_MS} },`),
      'actions/noop.ts': `import { onEvent } from 'storehook'\nexport default onEvent('*', async () => {})\n`,
    })
    let proc: StorehookProcess | null = null
    let sending = true
    const senders: Promise<void>[] = []
    try {
      proc = await startStorehookProcess({ project: dir, db: `sqlite:${join(dir, 'load.db')}`, env: { LOG_LEVEL: 'warn' } })
      const url = proc.url
      let signalledAt = 0
      let acknowledgedAfterSignal = 0
      const sender = async () => {
        while (sending) {
          const request = signedEvent()
          try {
            const response = await fetch(`${url}/events/webhooks`, { method: 'POST', headers: request.headers, body: request.body })
            await response.arrayBuffer()
            if (response.ok && signalledAt) acknowledgedAfterSignal += 1
          } catch {
            await sleep(5) // refused: the listener is closed
          }
        }
      }
      for (let i = 0; i < 4; i++) senders.push(sender())
      await sleep(300)
      signalledAt = Date.now()
      proc.child.kill('SIGTERM')
      const exit = await proc.waitForExit(GRACE_MS + 1500).catch(() => null)
      t.diagnostic(`${exit ? `exited after ${Date.now() - signalledAt} ms` : 'still running'}; ${acknowledgedAfterSignal} events acknowledged after SIGTERM`)
      assert.deepEqual(exit, { code: 0, signal: null }, `no exit within ${GRACE_MS + 1500} ms of SIGTERM under load`)
    } finally {
      sending = false
      await Promise.allSettled(senders)
      await ensureStopped(proc)
    }
  },
)

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}: expected a non-negative integer, got ${raw}`)
  return value
}

/** A small seeded PRNG, so a failing run's kill timing can be replayed with CRASH_SEED. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
