/**
 * Operations on PostgreSQL, with the real CLI as a child process and a real server (a throwaway
 * cluster, or DATABASE_URL): `storehook db copy` moves a SQLite store with history and a storehook
 * goes on on the copy; `storehook migrate`; `/healthz` reporting the database going away and back.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, test, type TestContext } from 'node:test'
import pg from 'pg'
import type { Run, RunState } from '../src/core/types.ts'
import { openStore } from '../src/store/open.ts'
import type { Store } from '../src/store/store.ts'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { runCli } from './child-process.ts'
import { eventually, makeProject, sendEvent, start, webhooksConfig } from './helpers.ts'
import { usePostgres } from './postgres-cluster.ts'

const server = await usePostgres()
const admin = new pg.Pool({ connectionString: server.url, max: 4 })
admin.on('error', () => {})
after(() => admin.end())

/**
 * A new schema name, dropped after the test that asked for it (with DATABASE_URL the server
 * outlives the tests; a throwaway cluster is stopped before the file's own `after` hooks run).
 */
function freshSchema(t: TestContext): string {
  const schema = `copy_${process.pid}_${randomUUID().slice(0, 8)}`
  t.after(() => admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
  return schema
}
const withSchema = (url: string, schema: string) => `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`
const UNFINISHED: RunState[] = ['pending', 'running', 'retrying']

const erp = await startErpSimulator()
after(() => erp.close())

/**
 * One action: events with `data.fail` fail for good until the project's `fixed` file exists (a bug,
 * then its fix); `data.flaky` ones fail their first attempt. Keyed by `data.key`.
 */
const project = makeProject({
  'storehook.config.ts': webhooksConfig(`connections: { erp: { kind: 'http', baseUrl: '${erp.url}/orders' } },
  worker: { pollIntervalMs: 50 },`),
  'actions/forward.ts': `import { existsSync } from 'node:fs'
import { onEvent, PermanentError } from 'storehook'
const fixed = new URL('../fixed', import.meta.url)
export default onEvent({ types: '*', orderingKey: 'data.key', retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 } }, async (event, ctx) => {
  const data = event.payload.data
  if (data.fail && !existsSync(fixed)) throw new PermanentError('order ' + data.n + ' refused')
  if (data.flaky && ctx.attempt === 1) throw new Error('ERP hiccup')
  await ctx.connections.erp.post('', { json: data, idempotencyKey: ctx.idempotencyKey, signal: ctx.signal })
})
`,
})

/** Everything the contract can read from a store, for comparing two of them. */
async function snapshot(store: Store) {
  // SQLite keeps a retry's due time to the fraction of a ms; PostgreSQL rounds it up (never earlier).
  const ceilRun = (r: Run) => ({ ...r, runAt: Math.ceil(r.runAt) })
  const events = await store.listEvents({ limit: 1000 })
  const runs = await store.listRuns({ limit: 1000 })
  const detail = await Promise.all(
    events.map(async (e) => ({ event: await store.getEvent(e.source, e.id), runs: (await store.runsForEvent(e.seq)).map(ceilRun) })),
  )
  const attempts = await Promise.all(runs.map((r) => store.listAttempts(r.id)))
  return { events, runs: runs.map(ceilRun), detail, attempts, counts: await store.countRunsByState() }
}

test('db copy moves a SQLite store with its history, and storehook goes on on the copy', { timeout: 60_000 }, async (t) => {
  const sqlite = `sqlite:${join(project, 'history.db')}`
  const target = withSchema(server.url, freshSchema(t))

  // ---- history on SQLite: successes, retries, dead runs, a replay, duplicates, ordering keys ----
  const first = await start({ project, db: sqlite })
  for (let n = 1; n <= 24; n++) {
    const data = { n, key: `order-${n % 4}`, ...(n % 7 === 0 ? { fail: true } : {}), ...(n % 5 === 0 ? { flaky: true } : {}) }
    assert.equal((await sendEvent(first.url, { id: `evt_${n}`, data })).status, 200)
  }
  for (const id of ['evt_3', 'evt_3', 'evt_10']) assert.equal((await sendEvent(first.url, { id })).body.events[0].duplicate, true)
  const settled = async (store: Store) => {
    const counts = await store.countRunsByState()
    return UNFINISHED.every((s) => counts[s] === 0) ? counts : null
  }
  await eventually(() => settled(first.runtime.store), 15_000, 'every SQLite run to finish')
  const dead = await first.runtime.store.listRuns({ state: 'dead' })
  assert.equal(dead.length, 3, 'evt_7, evt_14 and evt_21 are dead')
  await first.runtime.store.replayRun(dead.at(-1)!.id) // replayed, and dead again: the bug is not fixed yet
  await eventually(() => settled(first.runtime.store), 10_000, 'the replay to finish')
  // Tables beyond events, runs and attempts travel too, where both stores have them.
  const call = { resource: 'price', kind: 'commerce-layer/price', durationMs: 3.25, inputDigest: 'ab12', status: 200, fallback: 'none' as const, error: null }
  await first.runtime.store.recordExternalCalls?.([
    { ...call, startedAt: Date.now() - 5, outcome: 'answered', answer: '{"success":true,"data":{"id":"x"}}' },
    { ...call, startedAt: Date.now(), outcome: 'timeout', answer: 'not json, kept as sent', error: 'no answer within 2500 ms' },
  ])
  await first.close()
  assert.ok(existsSync(join(project, 'history.db')))

  // ---- the copy ---------------------------------------------------------------------------------
  const output = await runCli(['db', 'copy', '--from', sqlite, '--to', target, '--batch', '7'])
  t.diagnostic(output.trim())
  assert.match(output, /events\s+24 rows/)
  assert.match(output, /runs\s+25 rows/)
  // SQLite's AUTOINCREMENT spent a seq on each of the 3 duplicate deliveries: the copy never reuses one.
  assert.match(output, /next ids: .*events\.seq 28.*runs\.id 26/)

  const source = await openStore(sqlite, { projectDir: project })
  const copy = await openStore(target, { projectDir: project })
  try {
    const [before, after] = [await snapshot(source), await snapshot(copy)]
    assert.equal(copy.kind, 'postgres')
    assert.deepEqual(after, before, 'every contract read agrees between the SQLite store and its copy')
    assert.equal(after.events.find((e) => e.id === 'evt_3')!.duplicateDeliveries, 2)
    assert.equal(after.runs.filter((r) => r.replayOf !== null).length, 1)
    assert.ok(after.attempts.some((list) => list.some((a) => a.outcome === 'failed')), 'the flaky runs kept their failed attempts')
    if (source.listExternalCalls && copy.listExternalCalls) {
      const calls = await copy.listExternalCalls({})
      assert.equal(calls.length, 2)
      assert.deepEqual(calls, await source.listExternalCalls({}))
    }
  } finally {
    await source.close()
    await copy.close()
  }

  // A second copy into the same schema is refused, and with --force replaces it.
  await assert.rejects(runCli(['db', 'copy', '--from', sqlite, '--to', target]), /is not empty \(24 events, 25 runs, 29 attempts[^)]*\).*--force/s)
  // A table PostgreSQL lacks (as a later migration might add) is not left behind silently.
  const file = new DatabaseSync(join(project, 'history.db'))
  file.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('kept in SQLite')`)
  file.close()
  await assert.rejects(runCli(['db', 'copy', '--from', sqlite, '--to', target, '--force']), /table "notes" holds 1 rows .*--skip notes/)
  const forced = await runCli(['db', 'copy', '--from', sqlite, '--to', target, '--force', '--skip', 'notes'])
  assert.match(forced, /events\s+24 rows[\s\S]*notes\s+1 rows, skipped by --skip/)

  // ---- storehook on the copy --------------------------------------------------------------------
  writeFileSync(join(project, 'fixed'), '') // the bug is fixed: replays now succeed
  const delivered = erp.accepted().length
  const moved = await start({ project, db: target })
  assert.deepEqual(await (await fetch(`${moved.url}/healthz`)).json(), { status: 'ok', store: 'postgres' })
  const replay = await fetch(`${moved.url}/admin/api/runs/replay`, { method: 'POST' })
  const replayed = ((await replay.json()) as { runs: Run[] }).runs
  assert.deepEqual(replayed.map((r) => r.id), [26, 27, 28], 'the three dead runs never replayed, with ids after the copied ones')
  const fresh = await sendEvent(moved.url, { id: 'evt_after_move', data: { n: 100, key: 'order-0' } })
  assert.equal(fresh.body.events[0].duplicate, false)
  assert.equal((await sendEvent(moved.url, { id: 'evt_1' })).body.events[0].duplicate, true, 'old events still deduplicate')
  await eventually(() => settled(moved.runtime.store), 10_000, 'the replays and the new run to finish')
  const event = await moved.runtime.store.getEvent('webhooks', 'evt_after_move')
  assert.equal(event!.seq, 28, 'a new event gets the next seq SQLite would have given')
  assert.deepEqual((await moved.runtime.store.runsForEvent(28)).map((r) => [r.id, r.state]), [[29, 'succeeded']])
  assert.equal(erp.accepted().length, delivered + 4, 'the three replays and the new event reached the ERP')
  await moved.close()
})

test('storehook migrate creates or updates a schema and prints its version', async (t) => {
  const url = withSchema(server.url, freshSchema(t))
  assert.match(await runCli(['migrate', '--db', url]), /schema "copy_\w+": schema version \d+ \(applied 1/)
  assert.match(await runCli(['migrate', '--db', url]), /schema version \d+ \(already up to date\)/)
  const json = JSON.parse(await runCli(['migrate', '--db', url, '--json']))
  assert.deepEqual(json.applied, [])
  const file = `sqlite:${join(project, 'migrated.db')}`
  assert.match(await runCli(['migrate', '--db', file]), /migrated\.db: schema version \d+ \(applied 1/)
  await assert.rejects(runCli(['migrate', '--db', 'mysql://x']), /--db mysql:\/\/x: expected sqlite:PATH or postgres/)
})

test('/healthz answers 503 while the database refuses the store, and 200 again once it is back', { timeout: 30_000 }, async (t) => {
  // A role of its own, so the database can lock just this store out (NOLOGIN, its sessions ended).
  const role = `health_${randomUUID().slice(0, 8)}`
  const schema = freshSchema(t)
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`)
  await admin.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${role}`)
  const url = new URL(server.url)
  url.username = role
  url.password = 'pw'
  try {
    const storehook = await start({ project, db: withSchema(url.toString(), schema) })
    const health = async () => {
      const response = await fetch(`${storehook.url}/healthz`)
      return { status: response.status, body: await response.json() }
    }
    assert.deepEqual(await health(), { status: 200, body: { status: 'ok', store: 'postgres' } })
    await admin.query(`ALTER ROLE ${role} NOLOGIN`)
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role])
    const down = await eventually(async () => ((await health()).status === 503 ? health() : null), 10_000, '/healthz to answer 503')
    assert.deepEqual(down!.body, { status: 'unavailable', store: 'postgres', reason: 'the database cannot be reached' })
    await admin.query(`ALTER ROLE ${role} LOGIN`)
    await eventually(async () => (await health()).status === 200, 10_000, '/healthz to answer 200 again')
    await storehook.close()
  } finally {
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role])
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) // before the role that owns it
    await admin.query(`DROP ROLE IF EXISTS ${role}`)
  }
})
