/**
 * @module
 * The floor for `bench/ingest.ts`: the least a server can do and still keep storehook's promise
 * for one event, with storehook's own schema. It verifies the Standard Webhooks signature and parses
 * the JSON exactly as the baseline does (`bench/webhook-server.ts`). Then, in one transaction per
 * batch (group commit: what arrives while the previous batch commits), it stores the event
 * (deduplicated on source and id, payload and redacted headers as JSON), its run (started at once,
 * with its first attempt) and the outcomes of the runs that ended since the last commit. It answers
 * 200 only after COMMIT, then runs a no-op handler for each new run.
 *
 * Stores:
 * - SQLite (the default), on the main thread: `synchronous=FULL`, or with `BENCH_FLOOR_SYNC=async`
 *   `synchronous=NORMAL` plus an fdatasync of the WAL file on libuv's thread pool after each COMMIT,
 *   before answering, so the event loop never waits for the disk;
 * - PostgreSQL with `BENCH_DB=postgres://…`: one statement per batch, as storehook's own ingest
 *   batches, up to four batches in flight on their own connections, as its group commit allows.
 *
 * Nothing else: no framework, no store thread, no metrics, logs or traces, no ordering keys,
 * concurrency limit, deadline or abort signal per run, no claims or leases honoured. Whatever
 * storehook costs beyond this is the price of those; whatever this costs beyond the baseline is
 * the price of durability on this machine and disk. `bench/ingest.ts` prints both ratios.
 *
 * With `BENCH_FLOOR_INDEXES=minimal` it also drops every index storehook keeps for the dashboard,
 * the admin API and retention, keeping only the dedupe key and what claims need: how much of the
 * floor is those indexes.
 *
 * Env: BENCH_SECRET (whsec_…), BENCH_DIR, BENCH_DB, BENCH_FLOOR_INDEXES, BENCH_FLOOR_SYNC.
 * Prints `{"url": …, "db": …}` when listening.
 */
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { redactHeaders } from '../src/core/redact.ts'
import { migrate as migratePostgres } from '../src/store/postgres/migrations.ts'
import { migrations } from '../src/store/sqlite/migrations.ts'
import { pgPool } from './lib.ts'
import { serveVerifiedEvents } from './webhook-server.ts'

const dir = process.env.BENCH_DIR
if (!dir) throw new Error('BENCH_DIR is required')
const WORKER = 'floor'
const LEASE_MS = 5 * 60_000
/** Indexes storehook keeps for the dashboard, the admin API and retention; no write reads them. */
const READ_ONLY_INDEXES = ['events_type', 'events_source', 'events_id', 'events_received_at', 'runs_state', 'runs_event_seq', 'runs_source', 'runs_event_type', 'runs_action']
const minimal = process.env.BENCH_FLOOR_INDEXES === 'minimal'
/** Batches in flight at once on PostgreSQL; SQLite commits one at a time on this thread anyway. */
const MAX_BATCHES = 4
const ASYNC_SYNC = process.env.BENCH_FLOOR_SYNC === 'async'

interface Received {
  id: string
  type: string
  payload: unknown
  headers: string
  answer: (duplicate: boolean) => void
}
/** Stores a batch of events with a started run each, and ends the runs given; per event its run id, null for a duplicate. */
type WriteBatch = (events: Received[], ended: number[], now: number) => Promise<(number | null)[]>

async function sqliteFloor(path: string): Promise<WriteBatch> {
  const db = new DatabaseSync(path)
  db.exec('PRAGMA journal_mode = WAL')
  db.exec(`PRAGMA synchronous = ${ASYNC_SYNC ? 'NORMAL' : 'FULL'}`)
  db.exec('BEGIN')
  for (const migration of migrations) db.exec(migration.sql)
  if (minimal) for (const index of READ_ONLY_INDEXES) db.exec(`DROP INDEX ${index}`)
  db.exec('COMMIT')
  const wal = ASYNC_SYNC ? await open(`${path}-wal`, 'r+') : null
  // The same statements storehook's ingest and finish run (src/store/sqlite/ingest.ts, claim.ts).
  const upsertEvent = db.prepare(/* sql */ `
    INSERT INTO events (source, id, type, payload, headers, received_at) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (source, id) DO UPDATE SET duplicate_deliveries = duplicate_deliveries + 1
    RETURNING seq, duplicate_deliveries`)
  const insertRunningRun = db.prepare(/* sql */ `
    INSERT INTO runs (event_seq, source, event_type, action, state, attempts, max_attempts, ordering_key, run_at, lease_expires_at, worker_id, created_at, updated_at)
    VALUES (?, 'bench', ?, 'noop', 'running', 1, 25, NULL, ?, ?, ?, ?, ?)
    RETURNING id`)
  const insertAttempt = db.prepare(/* sql */ `INSERT INTO attempts (run_id, number, worker_id, started_at) VALUES (?, 1, ?, ?)`)
  const finishRun = db.prepare(/* sql */ `
    UPDATE runs SET state = 'succeeded', lease_expires_at = NULL, worker_id = NULL, updated_at = ?
    WHERE id = ? AND state = 'running' AND worker_id = ? AND attempts = 1`)
  const finishAttempt = db.prepare(/* sql */ `
    UPDATE attempts SET ended_at = ?, outcome = 'succeeded' WHERE run_id = ? AND number = 1 AND ended_at IS NULL`)
  return async (events, ended, now) => {
    db.exec('BEGIN IMMEDIATE')
    const runIds = events.map(({ id, type, payload, headers }): number | null => {
      const event = upsertEvent.get('bench', id, type, JSON.stringify(payload), headers, now) as { seq: number; duplicate_deliveries: number }
      if (event.duplicate_deliveries > 0) return null
      const run = insertRunningRun.get(event.seq, type, now, now + LEASE_MS, WORKER, now, now) as { id: number }
      insertAttempt.run(run.id, WORKER, now)
      return Number(run.id)
    })
    for (const runId of ended) {
      finishRun.run(now, runId, WORKER)
      finishAttempt.run(now, runId)
    }
    db.exec('COMMIT')
    await wal?.datasync()
    return runIds
  }
}

async function postgresFloor(url: string): Promise<WriteBatch> {
  const schema = new URL(url).searchParams.get('schema') ?? 'storehook'
  const pool = await pgPool(url, MAX_BATCHES)
  const client = await pool.connect()
  await migratePostgres(client, schema)
  const s = `"${schema}"`
  if (minimal) for (const index of READ_ONLY_INDEXES) await client.query(`DROP INDEX IF EXISTS ${s}.${index}`)
  client.release()
  // One autocommitted statement per batch, like storehook's ingestBatch (src/store/postgres/ingest.ts).
  // The load generator never repeats an id within a batch, which ON CONFLICT would refuse.
  const text = /* sql */ `
    WITH event AS (
      INSERT INTO ${s}.events (source, id, type, payload, headers, received_at)
      SELECT 'bench', i.id, i.type, i.payload::json, i.headers::json, $5
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS i (id, type, payload, headers, n)
      ORDER BY i.n
      ON CONFLICT (source, id) DO UPDATE SET duplicate_deliveries = ${s}.events.duplicate_deliveries + 1
      RETURNING seq, id, type, duplicate_deliveries),
    created AS (
      INSERT INTO ${s}.runs (event_seq, source, event_type, action, state, attempts, max_attempts, run_at, lease_expires_at, worker_id, created_at, updated_at)
      SELECT seq, 'bench', type, 'noop', 'running', 1, 25, $5, $6, '${WORKER}', $5, $5 FROM event WHERE duplicate_deliveries = 0
      RETURNING id, event_seq),
    started AS (
      INSERT INTO ${s}.attempts (run_id, number, worker_id, started_at) SELECT id, 1, '${WORKER}', $5 FROM created),
    finished AS (
      UPDATE ${s}.runs SET state = 'succeeded', lease_expires_at = NULL, worker_id = NULL, updated_at = $5
      WHERE id = ANY ($7::bigint[]) AND state = 'running' AND worker_id = '${WORKER}'),
    closed AS (
      UPDATE ${s}.attempts SET ended_at = $5, outcome = 'succeeded' WHERE run_id = ANY ($7::bigint[]) AND number = 1 AND ended_at IS NULL)
    SELECT e.id, c.id AS run_id FROM event e LEFT JOIN created c ON c.event_seq = e.seq`
  return async (events, ended, now) => {
    const { rows } = await pool.query<{ id: string; run_id: string | null }>(text, [
      events.map((e) => e.id),
      events.map((e) => e.type),
      events.map((e) => JSON.stringify(e.payload)),
      events.map((e) => e.headers),
      now,
      now + LEASE_MS,
      ended,
    ])
    const runOf = new Map(rows.map((row) => [row.id, row.run_id === null ? null : Number(row.run_id)]))
    return events.map((e) => runOf.get(e.id) ?? null)
  }
}

const dbUrl = process.env.BENCH_DB || `sqlite:${join(dir, 'floor.db')}`
const write = dbUrl.startsWith('sqlite:') ? await sqliteFloor(dbUrl.slice('sqlite:'.length)) : await postgresFloor(dbUrl)

let received: Received[] = []
let ended: number[] = []
let scheduled = false
let writing = 0

function schedule(): void {
  if (scheduled || writing >= MAX_BATCHES) return
  scheduled = true
  setImmediate(commit)
}

async function commit(): Promise<void> {
  scheduled = false
  const batch = received
  const finished = ended
  received = []
  ended = []
  writing += 1
  let runIds: (number | null)[]
  try {
    runIds = await write(batch, finished, Date.now())
  } catch (error) {
    // A floor that cannot store is no floor: stop loudly rather than answer anything.
    console.error(error)
    process.exit(1)
  }
  writing -= 1
  batch.forEach((event, i) => {
    const runId = runIds[i]!
    event.answer(runId === null)
    if (runId !== null) void run(runId, event)
  })
  if (received.length > 0 || ended.length > 0) schedule()
}

async function handler(_event: { id: string; type: string; payload: unknown }): Promise<void> {}

async function run(runId: number, { id, type, payload }: Received): Promise<void> {
  await handler({ id, type, payload }).catch(() => {})
  ended.push(runId)
  schedule()
}

serveVerifiedEvents(
  ({ id, type, payload, request, answer }) => {
    received.push({ id, type, payload, headers: JSON.stringify(redactHeaders(request.headers as Record<string, string>)), answer })
    schedule()
  },
  { db: dbUrl.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@') },
)
