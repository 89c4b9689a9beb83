/**
 * @module
 * The dashboard and the admin API with a big store:
 * `npm run bench:dashboard -- [--events 1000000] [--db sqlite|postgres] [--requests 15]`
 *
 * Fills a fresh store with generated history (`--events` events spread over 30 days, newest last,
 * from three sources and four types; one run each, one in 500 dead; one attempt per run), starts
 * storehook on it as `storehook start` does, signs in to the dashboard, and times each list page
 * and its admin API twin, unfiltered and under each filter an operator uses. Each URL is asked
 * `--requests` times after one unmeasured request; p50 and max are printed.
 *
 * Target (issue 8): every list page answers in under 200 ms with 1 million events. A missed target
 * prints MISS; only errors exit non-zero.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { pino } from 'pino'
import { login } from '../test/browser/storehook.ts'
import { createLogger } from '../src/runtime/logger.ts'
import { startStorehook } from '../src/server/start.ts'
import { openStore } from '../src/store/open.ts'
import { benchDatabase, fmt, machine, parseFlags, pgPool, summarize, table, verdict } from './lib.ts'

const flags = parseFlags(process.argv.slice(2), { events: 1_000_000, db: 'sqlite', requests: 15 })
const TARGET_MS = 200
const DAY = 86_400_000
const tmp = mkdtempSync(join(tmpdir(), 'storehook-bench-dashboard-'))
const project = join(tmp, 'project')
mkdirSync(join(project, 'actions'), { recursive: true })
writeFileSync(
  join(project, 'storehook.config.ts'),
  `import { defineConfig } from 'storehook'
export default defineConfig({ sources: {
  webhooks: { kind: 'standard-webhooks', secrets: 'whsec_${randomBytes(24).toString('base64')}' },
  shop: { kind: 'standard-webhooks', secrets: 'whsec_${randomBytes(24).toString('base64')}' },
  commerce: { kind: 'standard-webhooks', secrets: 'whsec_${randomBytes(24).toString('base64')}' },
} })
`,
)
writeFileSync(join(project, 'actions/forward-order.ts'), `import { onEvent } from 'storehook'\nexport default onEvent('*', async () => {})\n`)

const database = await benchDatabase(flags.db === 'sqlite' ? 'sqlite' : String(flags.db), tmp)
const now = Date.now()
const start = now - 30 * DAY
const step = Math.floor((30 * DAY) / flags.events)

// The store creates its schema; the rows are then written by SQL in bulk (a million ingests
// through HTTP would take longer than everything measured here).
await (await openStore(database.url, { projectDir: project })).close()
const seeding = performance.now()
if (database.kind === 'sqlite') seedSqlite(database.url.slice('sqlite:'.length))
else await seedPostgres(database.url)
const seededMs = performance.now() - seeding

const token = `admin-${randomBytes(12).toString('hex')}`
const logger = createLogger({ level: 'warn', destination: pino.destination({ dest: join(tmp, 'storehook.log'), sync: true }) })
const storehook = await startStorehook({ project, db: database.url, port: 0, logger, adminToken: token })
const rows: string[][] = [['page', 'p50 ms', 'max ms', 'target']]
let missed = 0
try {
  const session = await login(storehook.url, token)
  const someId = `evt_${Math.floor(flags.events / 2)}`
  const { store } = storehook.runtime
  const deadRun = (await store.listRuns({ state: 'dead', limit: 1 }))[0]!.id
  // A filter that matches nothing answers fast for the wrong reason: the seed must give each one rows.
  for (const filter of [{ state: 'dead', source: 'commerce' }, { type: 'order.created' }, { eventIdContains: someId }] as const) {
    if ((await store.listRuns({ ...filter, limit: 1 })).length === 0) throw new Error(`the seed left no run for ${JSON.stringify(filter)}`)
  }
  const pages: [string, string][] = [
    ['overview', '/admin'],
    ['events', '/admin/events'],
    ['events, one source', '/admin/events?source=shop'],
    ['events, one type', '/admin/events?type=order.updated'],
    ['events, last 24 h', '/admin/events?range=24h'],
    ['events, id contains (free text)', `/admin/events?q=${someId}`],
    ['events, id contains, no match', '/admin/events?q=no-such-event'],
    ['events, page 2', `/admin/events?before=${flags.events - 50}`],
    ['runs', '/admin/runs'],
    ['runs, dead', '/admin/runs?state=dead'],
    ['runs, dead from one source', '/admin/runs?state=dead&source=commerce'],
    ['runs, one type, last 7 days', '/admin/runs?type=order.created&range=7d'],
    ['runs, id contains (free text)', `/admin/runs?q=${someId}`],
    ['run page', `/admin/runs/${deadRun}`],
    ['external resources', '/admin/external'],
    ['API events', '/admin/api/events'],
    ['API events, one source', '/admin/api/events?source=shop'],
    ['API runs, dead', '/admin/api/runs?state=dead'],
    ['API runs, id contains', `/admin/api/runs?q=${someId}`],
  ]
  for (const [name, path] of pages) {
    const headers = path.startsWith('/admin/api/') ? { authorization: `Bearer ${token}` } : { cookie: session.cookie }
    const times: number[] = []
    for (let i = 0; i <= flags.requests; i++) {
      const started = performance.now()
      const response = await fetch(`${storehook.url}${path}`, { headers })
      await response.arrayBuffer()
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}`)
      if (i > 0) times.push(performance.now() - started)
    }
    const { p50, max } = summarize(times)
    if (p50 >= TARGET_MS) missed++
    rows.push([name, fmt(p50, 1), fmt(max, 1), verdict(p50 < TARGET_MS)])
  }
} finally {
  await storehook.close()
  await database.close()
  rmSync(tmp, { recursive: true, force: true })
}

console.log(`${machine()}; ${database.where.replace(tmp, '<tmp>')}`)
console.log(`${flags.events.toLocaleString('en')} events and runs seeded in ${fmt(seededMs / 1000, 1)} s; ${flags.requests} requests per page\n`)
console.log(table(rows))
console.log(`\ntarget: every list page p50 < ${TARGET_MS} ms: ${missed === 0 ? 'PASS' : `MISS (${missed} pages)`}`)

/** An event's columns, as SQL over its row number `i` (1-based). */
function eventColumns(i: string) {
  return {
    source: `CASE ${i} % 3 WHEN 0 THEN 'webhooks' WHEN 1 THEN 'shop' ELSE 'commerce' END`,
    id: `'evt_' || ${i}`,
    type: `CASE ${i} % 4 WHEN 0 THEN 'order.created' WHEN 1 THEN 'order.updated' WHEN 2 THEN 'payment.captured' ELSE 'shipment.created' END`,
  }
}

/**
 * One run per event (one in 500 dead), carrying its event's source and type as ingest writes
 * them, and its one attempt. `t` names a table as the store does.
 */
function runsAndAttempts(t: (table: string) => string): string[] {
  const dead = 'seq % 500 = 0'
  return [
    /* sql */ `INSERT INTO ${t('runs')} (event_seq, source, event_type, action, state, attempts, max_attempts, run_at, last_error, created_at, updated_at)
      SELECT seq, source, type, 'forward-order', CASE WHEN ${dead} THEN 'dead' ELSE 'succeeded' END, 1, 5, received_at,
        CASE WHEN ${dead} THEN 'ERP answered 422: customer group unknown' END, received_at, received_at + 40
      FROM ${t('events')}`,
    /* sql */ `INSERT INTO ${t('attempts')} (run_id, number, worker_id, started_at, ended_at, outcome, error_message)
      SELECT id, 1, 'bench', created_at, updated_at, CASE state WHEN 'dead' THEN 'dead' ELSE 'succeeded' END, last_error FROM ${t('runs')}`,
  ]
}

function seedSqlite(path: string): void {
  const db = new DatabaseSync(path)
  const e = eventColumns('i')
  db.exec('BEGIN')
  db.exec(/* sql */ `
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${flags.events})
    INSERT INTO events (source, id, type, payload, headers, received_at)
    SELECT ${e.source}, ${e.id}, ${e.type},
      json_object('id', ${e.id}, 'data', json_object('increment_id', printf('%09d', i), 'grand_total', i % 1000, 'customer_email', 'c' || (i % 5000) || '@example.com')),
      '{}', ${start} + i * ${step}
    FROM n`)
  for (const sql of runsAndAttempts((table) => table)) db.exec(sql)
  db.exec('COMMIT')
  db.exec('ANALYZE')
  db.close()
}

async function seedPostgres(url: string): Promise<void> {
  const pool = await pgPool(url)
  const s = `"${new URL(url).searchParams.get('schema')!}"`
  const e = eventColumns('i')
  try {
    await pool.query(/* sql */ `
      INSERT INTO ${s}.events (source, id, type, payload, headers, received_at)
      SELECT ${e.source}, ${e.id}, ${e.type},
        json_build_object('id', ${e.id}, 'data', json_build_object('increment_id', lpad(i::text, 9, '0'), 'grand_total', i % 1000, 'customer_email', 'c' || (i % 5000) || '@example.com')),
        '{}', ${start}::bigint + i * ${step}
      FROM generate_series(1::bigint, ${flags.events}) AS i`)
    for (const sql of runsAndAttempts((table) => `${s}.${table}`)) await pool.query(sql)
    // What autovacuum does to a table that has settled: statistics, and the visibility map that
    // lets counts read the indexes only.
    await pool.query(`VACUUM ANALYZE ${s}.events, ${s}.runs, ${s}.attempts`)
  } finally {
    await pool.end()
  }
}
