/**
 * @module
 * What a durable step costs: `npm run bench:steps -- [--runs 300] [--steps 5] [--db sqlite|postgres]`
 *
 * One storehook, started as `storehook start` starts it, with two actions doing the same work (a
 * small computation per stage, `--steps` stages): `with-steps` wraps each stage in `ctx.step`,
 * `without-steps` does not. Events are sent one at a time, alternating between the two, and each
 * action reports its own timings, so both see the same machine at the same moments. Printed: the
 * time of one `ctx.step` (p50/p99; the first step of a run also reads the run's stored steps),
 * both actions' run durations, and the overhead per step derived from them.
 *
 * Target: p50 ≤ 1 ms per step on SQLite. A missed target prints MISS; only errors exit non-zero.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pino } from 'pino'
import { createLogger } from '../src/runtime/logger.ts'
import { startStorehook } from '../src/server/start.ts'
import { signStandardWebhook } from '../src/sources/standard-webhooks/index.ts'
import { benchDatabase, fmt, machine, parseFlags, summarize, table, verdict } from './lib.ts'

const flags = parseFlags(process.argv.slice(2), { runs: 300, steps: 5, warmup: 30, db: 'sqlite' })
const secret = `whsec_${randomBytes(24).toString('base64')}`
const tmp = mkdtempSync(join(tmpdir(), 'storehook-bench-steps-'))

interface Report {
  action: 'with-steps' | 'without-steps'
  runMs: number
  stepMs: number[]
}
const reports: Report[] = []
let waiting: (() => void) | undefined
Object.assign(globalThis, {
  stepsBench: {
    report(report: Report) {
      reports.push(report)
      waiting?.()
    },
  },
})

// A stage: enough work to be a realistic small result (an order-sized object), no I/O.
const stage = `(i) => ({ stage: i, order: { id: 42, lines: Array.from({ length: 5 }, (_, n) => ({ sku: 'SKU-' + n, qty: n + 1 })) } })`
const project = join(tmp, 'project')
const files: Record<string, string> = {
  'storehook.config.ts': `import { defineConfig, env } from 'storehook'
export default defineConfig({ sources: { bench: { kind: 'standard-webhooks', secrets: env('BENCH_SECRET') } } })
`,
  'actions/with-steps.ts': `import { onEvent } from 'storehook'
const stage = ${stage}
export default onEvent('bench.with-steps', async (event, ctx) => {
  const started = performance.now()
  const stepMs = []
  for (let i = 0; i < ${flags.steps}; i++) {
    const t = performance.now()
    await ctx.step('stage ' + i, () => stage(i))
    stepMs.push(performance.now() - t)
  }
  globalThis.stepsBench.report({ action: 'with-steps', runMs: performance.now() - started, stepMs })
})
`,
  'actions/without-steps.ts': `import { onEvent } from 'storehook'
const stage = ${stage}
export default onEvent('bench.without-steps', async (event, ctx) => {
  const started = performance.now()
  for (let i = 0; i < ${flags.steps}; i++) JSON.parse(JSON.stringify(await stage(i)))
  globalThis.stepsBench.report({ action: 'without-steps', runMs: performance.now() - started, stepMs: [] })
})
`,
}
for (const [path, content] of Object.entries(files)) {
  mkdirSync(dirname(join(project, path)), { recursive: true })
  writeFileSync(join(project, path), content)
}

process.env.BENCH_SECRET = secret
const database = await benchDatabase(flags.db === 'sqlite' ? 'sqlite' : String(flags.db), tmp)
const logger = createLogger({ level: 'warn', destination: pino.destination({ dest: join(tmp, 'storehook.log'), sync: true }) })
const storehook = await startStorehook({ project, db: database.url, port: 0, logger })

async function send(type: string): Promise<void> {
  const id = `msg_${randomBytes(8).toString('hex')}`
  const timestamp = Math.floor(Date.now() / 1000)
  const body = Buffer.from(JSON.stringify({ type, data: {} }))
  const reported = new Promise<void>((resolve) => (waiting = resolve))
  const response = await fetch(`${storehook.url}/events/bench`, {
    method: 'POST',
    headers: { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandardWebhook(secret, id, timestamp, body) },
    body,
  })
  if (response.status !== 200) throw new Error(`storehook answered ${response.status}: ${await response.text()}`)
  await reported
}

try {
  for (let i = 0; i < flags.warmup + flags.runs; i++) {
    if (i === flags.warmup) reports.length = 0
    await send('bench.with-steps')
    await send('bench.without-steps')
  }
} finally {
  await storehook.close()
  await database.close()
  rmSync(tmp, { recursive: true, force: true })
}

const withSteps = reports.filter((r) => r.action === 'with-steps')
const without = reports.filter((r) => r.action === 'without-steps')
const step = summarize(withSteps.flatMap((r) => r.stepMs))
const firstStep = summarize(withSteps.map((r) => r.stepMs[0]!))
const laterSteps = summarize(withSteps.flatMap((r) => r.stepMs.slice(1)))
const runWith = summarize(withSteps.map((r) => r.runMs))
const runWithout = summarize(without.map((r) => r.runMs))

console.log(`${machine()}; store: ${flags.db}; ${flags.runs} runs of each action, ${flags.steps} steps per run\n`)
console.log(
  table([
    ['measure', 'p50 ms', 'p99 ms', 'max ms'],
    ['one ctx.step (all)', fmt(step.p50, 3), fmt(step.p99, 3), fmt(step.max, 3)],
    ['  the first of a run (reads stored steps too)', fmt(firstStep.p50, 3), fmt(firstStep.p99, 3), fmt(firstStep.max, 3)],
    ['  the others', fmt(laterSteps.p50, 3), fmt(laterSteps.p99, 3), fmt(laterSteps.max, 3)],
    [`run with ${flags.steps} steps`, fmt(runWith.p50, 3), fmt(runWith.p99, 3), fmt(runWith.max, 3)],
    ['the same run without steps', fmt(runWithout.p50, 3), fmt(runWithout.p99, 3), fmt(runWithout.max, 3)],
  ]),
)
console.log(`\noverhead per step from the medians: ${fmt((runWith.p50 - runWithout.p50) / flags.steps, 3)} ms`)
console.log(`target: p50 of one step ≤ 1 ms: ${fmt(step.p50, 3)} ms → ${verdict(step.p50 <= 1)}`)
