/**
 * @module
 * The floor for `bench/ingest.ts`: the least a server can do and still keep storehook's promise
 * for one event, with storehook's own schema. It verifies the Standard Webhooks signature, parses
 * the JSON, and in one `synchronous=FULL` transaction per turn of the event loop (group commit)
 * stores the event (deduplicated on source and id, payload and headers as JSON text), its run
 * (started at once, with its first attempt) and the outcomes of the runs that ended since the last
 * commit; it answers 200 only after COMMIT, then runs a no-op handler for each new run.
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
 * Env: BENCH_SECRET (whsec_…), BENCH_DIR, BENCH_FLOOR_INDEXES. Prints `{"url": …, "db": "sqlite:…"}` when listening.
 */
import { createSecretKey } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { verifyStandardWebhook } from '../src/sources/standard-webhooks/index.ts'
import { migrations } from '../src/store/sqlite/migrations.ts'

const secret = process.env.BENCH_SECRET
const dir = process.env.BENCH_DIR
if (!secret || !dir) throw new Error('BENCH_SECRET and BENCH_DIR are required')
const keys = [createSecretKey(Buffer.from(secret.slice('whsec_'.length), 'base64'))]
const LIMIT = 1024 * 1024
const WORKER = 'floor'
const LEASE_MS = 5 * 60_000

const path = join(dir, 'floor.db')
const db = new DatabaseSync(path)
db.exec('PRAGMA journal_mode = WAL')
db.exec('PRAGMA synchronous = FULL')
db.exec('BEGIN')
for (const migration of migrations) db.exec(migration.sql)
if (process.env.BENCH_FLOOR_INDEXES === 'minimal') {
  const readOnly = ['events_type', 'events_source', 'events_id', 'events_received_at', 'runs_state', 'runs_event_seq', 'runs_source', 'runs_event_type', 'runs_action']
  for (const index of readOnly) db.exec(`DROP INDEX ${index}`)
}
db.exec('COMMIT')

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

interface Received {
  id: string
  type: string
  payload: unknown
  headers: string
  answer: (duplicate: boolean) => void
}
let received: Received[] = []
let ended: number[] = []
let scheduled = false

function schedule(): void {
  if (scheduled) return
  scheduled = true
  setImmediate(commit)
}

function commit(): void {
  scheduled = false
  const batch = received
  const finished = ended
  received = []
  ended = []
  const now = Date.now()
  db.exec('BEGIN IMMEDIATE')
  const runIds = batch.map(({ id, type, payload, headers }): number | null => {
    const event = upsertEvent.get('bench', id, type, JSON.stringify(payload), headers, now) as { seq: number; duplicate_deliveries: number }
    if (event.duplicate_deliveries > 0) return null
    const run = insertRunningRun.get(event.seq, type, now, now + LEASE_MS, WORKER, now, now) as { id: number }
    insertAttempt.run(run.id, WORKER, now)
    return Number(run.id)
  })
  for (const runId of finished) {
    finishRun.run(now, runId, WORKER)
    finishAttempt.run(now, runId)
  }
  db.exec('COMMIT')
  batch.forEach((event, i) => {
    const runId = runIds[i]!
    event.answer(runId === null)
    if (runId !== null) void run(runId, event)
  })
}

async function handler(_event: { id: string; type: string; payload: unknown }): Promise<void> {}

async function run(runId: number, { id, type, payload }: Received): Promise<void> {
  await handler({ id, type, payload }).catch(() => {})
  ended.push(runId)
  schedule()
}

function storedHeaders(headers: IncomingHttpHeaders): string {
  const kept: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) kept[name] = String(value)
  return JSON.stringify(kept)
}

const server = createServer((req, res) => {
  const reply = (status: number, body: unknown) => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
  }
  if (req.method !== 'POST' || req.url !== '/events/bench') return reply(404, { error: 'no route' })
  const chunks: Buffer[] = []
  let length = 0
  req.on('data', (chunk: Buffer) => {
    length += chunk.length
    if (length <= LIMIT) chunks.push(chunk)
  })
  req.on('end', () => {
    if (length > LIMIT) return reply(413, { error: 'too large' })
    const body = Buffer.concat(chunks, length)
    const headers = { get: (name: string) => req.headers[name] as string | undefined } as unknown as Headers
    let id: string
    try {
      id = verifyStandardWebhook({ headers, body, secrets: keys, now: Date.now() }).id
    } catch (error) {
      return reply(401, { error: (error as Error).message })
    }
    let payload: { type?: unknown }
    try {
      payload = JSON.parse(body.toString('utf8')) as { type?: unknown }
    } catch {
      return reply(400, { error: 'body is not valid JSON' })
    }
    const type = String(payload.type)
    received.push({
      id,
      type,
      payload,
      headers: storedHeaders(req.headers),
      answer: (duplicate) => reply(200, { received: 1, events: [{ id, type, duplicate, runs: duplicate ? 0 : 1 }] }),
    })
    schedule()
  })
})

server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('unexpected server address')
  console.log(JSON.stringify({ url: `http://127.0.0.1:${address.port}`, db: `sqlite:${path}` }))
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
