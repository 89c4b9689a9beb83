/**
 * Three real `storehook start` processes on one PostgreSQL database (a throwaway cluster, or
 * DATABASE_URL), fed signed events spread across all three, with an ERP simulator counting what
 * arrives by Idempotency-Key:
 * 1. when nothing fails, every run executes exactly once, and all three processes run some;
 * 2. `kill -9` of one process mid-load loses no acknowledged event, and the runs it had claimed
 *    are finished by the others once their lease (timeoutMs + leaseMarginMs) has expired;
 * 3. over both, runs of one ordering key never overlap and complete in the order their events
 *    were sent, although consecutive events of a key go to different processes.
 *
 * Overlap is seen twice. By the ERP: a keyed run POSTs `begin` (with its attempt number) before
 * its order and the order after a short pause, so the deliveries of each key's successful attempts
 * must alternate begin/order in send order; requests of an attempt that did not succeed (killed,
 * or timed out on this busy machine) may land at any time and are left out. By the store: each
 * key's attempts, in every process, must not overlap in time.
 *
 * "When nothing fails" is checked per run: a run whose first attempt succeeded reached the ERP
 * exactly once. The ERP lives in this test process, which a loaded machine can stall past the
 * action's timeout; the run then fails that attempt and retries (at least once, as designed), so
 * such runs are allowed a repeat, as long as they are few and their failure is recorded.
 * Size: MP_EVENTS (default 2100) events in all.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { migrations } from '../src/store/postgres/migrations.ts'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { startStorehookProcess, type StorehookProcess } from './child-process.ts'
import { eventually, makeProject, signedEvent, webhooksConfig } from './helpers.ts'
import { usePostgres } from './postgres-cluster.ts'

const TOTAL = Number(process.env.MP_EVENTS ?? 2100)
// Long enough for the ERP (in this process) to answer through a stall of a few seconds; short
// enough that the killed process's runs are taken over within the test.
const TIMEOUT_MS = 5000
const LEASE_MARGIN_MS = 500
const LEASE_MS = TIMEOUT_MS + LEASE_MARGIN_MS
/** How far apart two processes' bookkeeping times may be for one hand-over (see the ordering test). */
const CLOCK_TOLERANCE_MS = 250

const server = await usePostgres()
const schema = `mp_${process.pid}_${randomUUID().slice(0, 6)}`
const db = `${server.url}${server.url.includes('?') ? '&' : '?'}schema=${schema}`
const admin = new pg.Pool({ connectionString: server.url, max: 2 })
admin.on('error', () => {})
after(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {})
  await admin.end()
})
const erp = await startErpSimulator()
after(() => erp.close())

const project = makeProject({
  'storehook.config.ts': webhooksConfig(`connections: { erp: { kind: 'http', baseUrl: '${erp.url}/', timeoutMs: ${TIMEOUT_MS - 500} } },
  worker: { pollIntervalMs: 200, leaseMarginMs: ${LEASE_MARGIN_MS}, shutdownGraceMs: 1000 },`),
  'actions/forward.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: '*', orderingKey: 'data.key', timeoutMs: ${TIMEOUT_MS}, retry: { baseDelayMs: 50, maxDelayMs: 200 } },
  async (event, { connections, signal, attempt }) => {
    const { key } = event.payload.data
    if (key) {
      await connections.erp.post('begin', { json: { key, id: event.id, attempt }, signal })
      await new Promise((resolve) => setTimeout(resolve, 3))
    }
    // A slow run holds its claim for a second, so the killed process is sure to hold some.
    if (event.payload.data.slow) await new Promise((resolve) => setTimeout(resolve, 1000))
    await connections.erp.post('orders', { json: { ...event.payload.data, attempt }, idempotencyKey: event.id, signal })
  })
`,
})

// Started here, at the file's top level: child-process.ts kills its children after the scope
// that started them, and they must outlive each test. All three at once, on a schema none created.
const procs = await Promise.all([0, 1, 2].map(() => startStorehookProcess({ project, db, env: { LOG_LEVEL: 'warn' }, readyTimeoutMs: 30_000 })))

/** Ids of the events acknowledged with 2xx, and per ordering key the ids in the order they were sent. */
const acknowledged = new Set<string>()
const sentByKey = new Map<string, string[]>()

/**
 * Sends `count` events of one phase: `keys` senders each send their key's events one after the
 * other (each waits for the previous acknowledgement), and `loose` senders send unkeyed ones.
 * Event n goes to process n mod 3; a refused or failed delivery is sent again, with the same id, to
 * the next live process (as a platform retries), so every event is eventually acknowledged.
 */
async function sendPhase(phase: string, count: number, options: { keys: number; loose: number; slow?: boolean; live: () => StorehookProcess[] }) {
  let next = 0
  const take = () => (next < count ? next++ : null)
  const deliver = async (id: string, data: Record<string, unknown>, n: number) => {
    let last = ''
    for (let attempt = 0; attempt < 200; attempt++) {
      const live = options.live()
      const target = live[(n + attempt) % live.length]!
      const request = signedEvent({ id, data })
      try {
        const response = await fetch(`${target.url}/events/webhooks`, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(5000),
        })
        const body = await response.text()
        if (response.ok) return void acknowledged.add(id)
        last = `${response.status} ${body}`
      } catch (error) {
        last = `${String(error)} (${String((error as Error).cause)})`
        await sleep(10)
      }
    }
    throw new Error(`event ${id} was never acknowledged; last answer: ${last}`)
  }
  const keyed = async (k: number) => {
    const key = `${phase}-key-${k}`
    const order: string[] = []
    sentByKey.set(key, order)
    // Key senders take numbers from the phase's shared counter, so a key's consecutive events land
    // on different processes; every third one is followed by an unkeyed event.
    for (let n = take(); n !== null; n = take()) {
      const id = `${phase}_${n}`
      order.push(id)
      await deliver(id, { n, key }, n)
      if (n % 3 === 0) {
        const m = take()
        if (m !== null) await deliver(`${phase}_${m}`, { n: m }, m)
      }
    }
  }
  const loose = async () => {
    for (let n = take(); n !== null; n = take()) await deliver(`${phase}_${n}`, { n, ...(options.slow && n % 10 === 0 ? { slow: true } : {}) }, n)
  }
  await Promise.all([...Array.from({ length: options.keys }, (_, k) => keyed(k)), ...Array.from({ length: options.loose }, loose)])
}

const ordersFor = (prefix: string) => erp.accepted().filter((d) => d.path === '/orders' && d.idempotencyKey?.startsWith(prefix))
const waitDelivered = (ids: string[], timeoutMs: number) =>
  eventually(
    () => {
      const delivered = new Set(erp.accepted().map((d) => d.idempotencyKey))
      return ids.every((id) => delivered.has(id))
    },
    timeoutMs,
    `an ERP delivery for each of ${ids.length} acknowledged events`,
  )
const idsOf = (prefix: string) => [...acknowledged].filter((id) => id.startsWith(`${prefix}_`))
const pidOf = (workerId: string) => Number(workerId.split(':').at(-2))

test('three processes started together on a new schema migrated it once', async () => {
  const { rows } = await admin.query(`SELECT version FROM "${schema}".migrations ORDER BY version`)
  assert.deepEqual(rows.map((r) => r.version), migrations.map((m) => m.version), 'each migration applied once')
  for (const p of procs) assert.deepEqual(await (await fetch(`${p.url}/healthz`)).json(), { status: 'ok', store: 'postgres' })
})

test('when nothing fails, every run executes exactly once, spread over the three processes', { timeout: 60_000 }, async (t) => {
  const started = Date.now()
  const count = Math.round(TOTAL * 0.7)
  await sendPhase('calm', count, { keys: 16, loose: 8, live: () => procs })
  const ids = idsOf('calm')
  assert.equal(ids.length, count)
  await waitDelivered(ids, 30_000)
  await eventually(async () => (await unfinished()) === 0, 10_000, 'no unfinished runs')

  const runs = await runsOf('calm')
  assert.equal(runs.size, count, 'one run per event')
  assert.deepEqual([...runs.values()].filter((r) => r.state !== 'succeeded'), [], 'every run succeeded')
  const outcomes = await attemptOutcomes('calm')
  assert.deepEqual(outcomes.filter((o) => o !== 'succeeded' && o !== 'failed'), [], 'no attempt was interrupted or lost its lease')
  const orders = countOrders('calm_')
  const retried = [...runs].filter(([, r]) => r.attempts > 1)
  for (const [id, run] of runs) {
    const n = orders.get(id) ?? 0
    if (run.attempts === 1) assert.equal(n, 1, `${id} ran once but reached the ERP ${n} times`)
    else assert.ok(n >= 1 && n <= run.attempts, `${id}: ${n} orders from ${run.attempts} attempts`)
  }
  assert.ok(retried.length <= count * 0.05, `${retried.length} runs needed a retry: the machine stalled too much for this test to mean anything`)
  if (retried.length) t.diagnostic(`${retried.length} runs retried after an ERP timeout (a stalled machine): ${retried.map(([id]) => id).join(', ')}`)
  const byProcess = await admin.query<{ worker_id: string; n: string }>(`SELECT worker_id, count(*) AS n FROM "${schema}".attempts GROUP BY 1`)
  const pids = new Set(byProcess.rows.map((r) => pidOf(r.worker_id)))
  assert.deepEqual([...pids].sort(), procs.map((p) => p.pid).sort(), 'each process ran some of the runs')
  t.diagnostic(`${count} events through 3 processes in ${Date.now() - started} ms; runs per process: ${byProcess.rows.map((r) => r.n).join(', ')}`)
})

test('kill -9 of one process mid-load loses no acknowledged event; the others finish its runs after the lease', { timeout: 60_000 }, async (t) => {
  const [victim, ...survivors] = procs as [StorehookProcess, ...StorehookProcess[]]
  const phaseStarted = Date.now()
  const count = TOTAL - Math.round(TOTAL * 0.7)
  const sending = sendPhase('kill', count, { keys: 12, loose: 6, slow: true, live: () => procs.filter((p) => !p.exit) })
  // Mid-load, and while the victim holds claimed runs, among them a slow one it cannot finish first.
  const held = await eventually(
    async () => {
      const { rows } = await admin.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${schema}".runs r JOIN "${schema}".events e ON e.seq = r.event_seq
         WHERE r.state = 'running' AND r.worker_id LIKE $1 AND e.payload -> 'data' ->> 'slow' = 'true'`,
        [`%:${victim.pid}:%`],
      )
      return Number(rows[0]!.n) >= 1 && idsOf('kill').length > count / 4
    },
    20_000,
    'the victim to hold claimed runs mid-load',
  )
  assert.ok(held)
  const killedAt = Date.now()
  const acknowledgedAtKill = idsOf('kill').length
  assert.equal((await victim.kill('SIGKILL')).signal, 'SIGKILL')
  await sending
  const ids = idsOf('kill')
  assert.equal(ids.length, count, 'every event was acknowledged by some process')
  await waitDelivered(ids, 30_000)
  await eventually(async () => (await unfinished()) === 0, 15_000, 'no unfinished runs')

  // Every acknowledged event is stored with one run, which succeeded.
  const stored = await runsOf('kill')
  assert.equal(stored.size, count)
  assert.deepEqual([...stored.values()].filter((r) => r.state !== 'succeeded'), [])

  // The victim's claimed runs: interrupted, then taken up by a survivor no sooner than the lease allowed.
  const { rows: taken } = await admin.query<{ run_id: string; event_id: string; lost: string; lost_at: string; next_worker: string; next_at: string }>(
    `SELECT a.run_id, e.id AS event_id, a.worker_id AS lost, a.started_at AS lost_at, b.worker_id AS next_worker, b.started_at AS next_at
     FROM "${schema}".attempts a
     JOIN "${schema}".attempts b ON b.run_id = a.run_id AND b.number = a.number + 1
     JOIN "${schema}".runs r ON r.id = a.run_id JOIN "${schema}".events e ON e.seq = r.event_seq
     WHERE a.worker_id LIKE $1 AND a.outcome = 'interrupted'`,
    [`%:${victim.pid}:%`],
  )
  const { rows: stillRunning } = await admin.query(`SELECT 1 FROM "${schema}".attempts WHERE worker_id LIKE $1 AND ended_at IS NULL`, [`%:${victim.pid}:%`])
  assert.deepEqual(stillRunning, [], 'no attempt of the victim is left open')
  assert.ok(taken.length >= 1, 'the victim held runs when it was killed, and they were taken over')
  for (const run of taken) {
    assert.ok(survivors.some((p) => p.pid === pidOf(run.next_worker)), `run ${run.run_id} was finished by a survivor`)
    assert.ok(Number(run.next_at) >= Number(run.lost_at) + LEASE_MS, `run ${run.run_id} was taken up before its lease expired`)
  }
  // Only runs that were taken over (a crash between the ERP's answer and our record) or retried
  // after a failure may have reached the ERP more than once.
  const runs = await runsOf('kill')
  const duplicates = [...countOrders('kill_')].filter(([, n]) => n > 1).map(([id]) => id)
  for (const id of duplicates) assert.ok(runs.get(id)!.attempts > 1, `${id} was delivered twice though its run had one attempt`)
  t.diagnostic(
    `killed pid ${victim.pid} ${killedAt - phaseStarted} ms into the phase, after ${acknowledgedAtKill} acknowledgements; ${taken.length} of its runs taken over after the lease; ` +
      `${duplicates.length} repeated deliveries; ${ordersFor('kill_').length} orders for ${count} events`,
  )
})

test('runs of one ordering key never overlap and complete in the order their events were sent', async () => {
  // As the ERP saw it: the deliveries of each key's successful attempts, in arrival order.
  const finalAttempt = new Map<string, number>()
  for (const prefix of ['calm', 'kill']) for (const [id, run] of await runsOf(prefix)) finalAttempt.set(id, run.attempts)
  const byKey = new Map<string, { path: string; id: string }[]>()
  for (const d of erp.accepted()) {
    const body = JSON.parse(d.body) as { key?: string; id?: string; attempt: number }
    const id = d.path === '/begin' ? body.id! : d.idempotencyKey!
    if (!body.key || finalAttempt.get(id) !== body.attempt) continue
    byKey.set(body.key, [...(byKey.get(body.key) ?? []), { path: d.path, id }])
  }
  assert.equal(byKey.size, sentByKey.size)
  for (const [key, sent] of sentByKey) {
    const expected = sent.flatMap((id) => [{ path: '/begin', id }, { path: '/orders', id }])
    assert.deepEqual(byKey.get(key), expected, `${key}: runs overlapped or completed out of order`)
  }

  // As the store recorded it: a key's attempts, in every process, one after the other. This sees
  // what the ERP cannot: another run of a key started while a killed process still held it (an
  // overlap of up to the lease). Its times are coarser: a claim takes its start time before its
  // last statement, a finish its end time before its commit, in different processes, so a run may be
  // recorded starting a few ms before the end of the run it waited for; hence the tolerance.
  const { rows } = await admin.query<{ key: string; id: string; number: number; started_at: string; ended_at: string | null }>(
    `SELECT r.ordering_key AS key, e.id, a.number, a.started_at, a.ended_at
     FROM "${schema}".attempts a JOIN "${schema}".runs r ON r.id = a.run_id JOIN "${schema}".events e ON e.seq = r.event_seq
     WHERE r.ordering_key IS NOT NULL ORDER BY r.ordering_key, a.started_at, r.id, a.number`,
  )
  for (let i = 1; i < rows.length; i++) {
    const [before, attempt] = [rows[i - 1]!, rows[i]!]
    if (before.key !== attempt.key) continue
    assert.ok(
      before.ended_at !== null && Number(attempt.started_at) >= Number(before.ended_at) - CLOCK_TOLERANCE_MS,
      `${attempt.key}: attempt ${attempt.number} of ${attempt.id} started ${Number(before.ended_at) - Number(attempt.started_at)} ms ` +
        `before attempt ${before.number} of ${before.id} ended`,
    )
  }
})

test('the survivors stop cleanly on SIGTERM', async () => {
  for (const p of procs.slice(1)) assert.deepEqual(await p.kill('SIGTERM', 15_000), { code: 0, signal: null }, p.output.join('\n'))
})

/** The run of each event whose id starts with `prefix_`. */
async function runsOf(prefix: string): Promise<Map<string, { state: string; attempts: number }>> {
  const { rows } = await admin.query<{ id: string; state: string; attempts: number }>(
    `SELECT e.id, r.state, r.attempts FROM "${schema}".events e JOIN "${schema}".runs r ON r.event_seq = e.seq WHERE e.id LIKE $1`,
    [`${prefix}\\_%`],
  )
  return new Map(rows.map((r) => [r.id, { state: r.state, attempts: r.attempts }]))
}

/** Every attempt's outcome, for the events whose id starts with `prefix_`. */
async function attemptOutcomes(prefix: string): Promise<(string | null)[]> {
  const { rows } = await admin.query<{ outcome: string | null }>(
    `SELECT a.outcome FROM "${schema}".attempts a JOIN "${schema}".runs r ON r.id = a.run_id JOIN "${schema}".events e ON e.seq = r.event_seq
     WHERE e.id LIKE $1`,
    [`${prefix}\\_%`],
  )
  return rows.map((r) => r.outcome)
}

/** Accepted orders per event id, for ids starting with `prefix`. */
function countOrders(prefix: string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const d of ordersFor(prefix)) counts.set(d.idempotencyKey!, (counts.get(d.idempotencyKey!) ?? 0) + 1)
  return counts
}

async function unfinished(): Promise<number> {
  const { rows } = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".runs WHERE state IN ('pending', 'retrying', 'running')`)
  return Number(rows[0]!.n)
}
