/**
 * @module
 * The storehook side of `bench/ingest.ts`, in its own process: writes a throwaway project (one
 * Standard Webhooks source `bench`, one no-op action subscribed to every event, so each ingest
 * also creates a run and the worker claims and finishes it) and starts it with `startStorehook`
 * exactly as `storehook start` does, on a SQLite file with the default durability
 * (synchronous=FULL, group commit).
 *
 * Env: BENCH_SECRET (whsec_…), BENCH_DIR (an empty directory this process may fill),
 * BENCH_LOG_LEVEL (default `warn`; logs go to BENCH_DIR/storehook.log, never to stdout),
 * BENCH_DB (the store's `--db` URL; default a SQLite file in BENCH_DIR), BENCH_STARTS (a file:
 * the action appends `<event id> <epoch ms>` when each run's handler starts, for `bench/claim.ts`),
 * BENCH_CONCURRENCY (`worker.concurrency`; default storehook's).
 * For investigation only: BENCH_SYNCHRONOUS=normal (store setting; default full: no setting written) and
 * BENCH_ACTIONS=0 (no action, so no runs are created and the worker stays idle).
 * Prints `{"url": …, "db": …}` on stdout when listening; SIGTERM closes cleanly.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import { createLogger } from '../src/runtime/logger.ts'
import { startStorehook } from '../src/server/start.ts'

const dir = process.env.BENCH_DIR
if (!dir || !process.env.BENCH_SECRET) throw new Error('BENCH_DIR and BENCH_SECRET are required')
const project = join(dir, 'project')
mkdirSync(join(project, 'actions'), { recursive: true })
writeFileSync(
  join(project, 'storehook.config.ts'),
  `import { defineConfig, env } from 'storehook'
export default defineConfig({
  sources: { bench: { kind: 'standard-webhooks', secrets: env('BENCH_SECRET') } },${
    Number(process.env.BENCH_CONCURRENCY) > 0 ? `\n  worker: { concurrency: ${Number(process.env.BENCH_CONCURRENCY)} },` : ''
  }${
    process.env.BENCH_SYNCHRONOUS && process.env.BENCH_SYNCHRONOUS !== 'full' ? `\n  store: { synchronous: '${process.env.BENCH_SYNCHRONOUS === 'normal' ? 'normal' : 'full'}' },` : ''
  }
})
`,
)
if (process.env.BENCH_ACTIONS !== '0') {
  writeFileSync(
    join(project, 'actions', 'noop.ts'),
    process.env.BENCH_STARTS
      ? // Buffered appends: a line per run must not cost a write system call per run.
        `import { createWriteStream } from 'node:fs'
import { onEvent } from 'storehook'
const out = createWriteStream(${JSON.stringify(process.env.BENCH_STARTS)}, { flags: 'a' })
export default onEvent('*', async (event) => {
  out.write(event.id + ' ' + (performance.timeOrigin + performance.now()).toFixed(3) + '\\n')
})
`
      : `import { onEvent } from 'storehook'
export default onEvent('*', async () => {})
`,
  )
}

const db = process.env.BENCH_DB || `sqlite:${join(dir, 'storehook.db')}`
// Synchronous writes to a file, as pino's default stdout destination is synchronous.
const destination = pino.destination({ dest: join(dir, 'storehook.log'), sync: true })
const logger = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'warn', destination })
const storehook = await startStorehook({ project, db, port: 0, logger })
console.log(JSON.stringify({ url: storehook.url, db: db.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@') }))

process.on('SIGTERM', () => {
  void storehook.close().then(() => process.exit(0))
})
