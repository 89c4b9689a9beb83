/**
 * @module
 * External resources: storehook's `POST /external/price` against a bare `node:http` server doing
 * the same signature check, in one run, under the same load. `npm run bench:external -- [--duration 8]`
 *
 * 1. the servers start, each in its own process: the baseline, `bench/external-servers.ts
 *    baseline` (raw body, `verifyCommerceLayerSignature`, a fixed JSON answer), and storehook,
 *    `bench/external-servers.ts storehook` (`startStorehook`, one external resource with a trivial
 *    price handler, SQLite, calls recorded), once per `--isolation` (default `thread,inline`: the
 *    handler on a handler thread, the default, and on the main thread);
 * 2. `--rounds` rounds of saturation (closed loop, `--connections`), the baseline then each
 *    storehook in each round: on a shared, noisy machine, alternating keeps a burst of someone
 *    else's load from landing on one side only; ratios are of the medians, and each round's own
 *    ratio is shown;
 * 3. each storehook in open loop at `--rate` (default 1,000 req/s), latency from the scheduled
 *    send; then the baseline at the same rate: the floor this machine and generator set;
 * 4. the storehooks stopped cleanly; their recorded calls give the server-side duration of every
 *    answer (arrival to answer ready), which is what the deadline bounds, and so what isolation
 *    costs per call.
 * The load generator is `bench/external-load.ts`, a third process, sending the simulator's own
 * signed price payloads.
 *
 * Targets: storehook/baseline throughput ≥ 0.7; p99 ≤ 5 ms at 1,000 req/s; max always below the
 * deadline (2,700 ms). A missed target prints MISS; only errors exit non-zero.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'
import { DEFAULT_DEADLINE_MS } from '../src/runtime/external/load.ts'
import { cpuSeconds, fmt, machine, median, parseFlags, spawnNode, stopChild, summarize, table, verdict, waitForLine, type Child, type LatencySummary } from './lib.ts'

const flags = parseFlags(process.argv.slice(2), {
  /** Seconds measured per saturation phase, and per open-loop phase. */
  duration: 5,
  'open-duration': 8,
  rounds: 3,
  warmup: 1,
  connections: 32,
  /** The open-loop rate for the latency phases, req/s. */
  rate: 1000,
  'log-level': 'warn',
  /** Where storehook's handler runs: one storehook per entry. */
  isolation: 'thread,inline',
  'skip-baseline': 0,
  keep: 0,
})

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const secret = randomBytes(16).toString('hex') // the shape of a Commerce Layer shared_secret
const tmp = mkdtempSync(join(tmpdir(), 'storehook-bench-external-'))

interface LoadResult {
  rps: number
  sent: number
  bodyBytes: number
  statuses: Record<string, number>
  errors: Record<string, number>
  latencyMs: LatencySummary
  scheduledLatencyMs: LatencySummary | null
  sendLagMs: LatencySummary | null
  generatorCpuS: number
}

interface Phase extends LoadResult {
  name: string
  serverCores: number
  generatorCores: number
  /** Epoch ms of the measured window, to pick the server's own records of it. */
  window: { from: number; to: number }
}

async function startServer(role: 'baseline' | 'storehook', env: Record<string, string> = {}): Promise<{ child: Child; url: string; db?: string }> {
  const child = spawnNode([here('./external-servers.ts'), role], { env: { ...process.env, BENCH_CL_SECRET: secret, ...env } })
  const line = await waitForLine(child, (l) => l.startsWith('{'))
  return { child, ...(JSON.parse(line) as { url: string; db?: string }) }
}

async function load(name: string, server: Child, url: string, rate: number): Promise<Phase> {
  const pid = server.process.pid!
  const duration = rate > 0 ? flags['open-duration'] : flags.duration
  const generator = spawnNode([
    here('./external-load.ts'),
    ...['--url', `${url}/external/price`, '--secret', secret, '--rate', String(rate)],
    ...['--duration', String(duration), '--warmup', String(flags.warmup), '--connections', String(flags.connections)],
  ])
  // The generator marks its measured window; the server's CPU time is read at both marks.
  const window = { cpu: 0, at: 0, serverCpuS: NaN, wallS: NaN, from: 0, to: 0 }
  let result: LoadResult | undefined
  createInterface({ input: generator.process.stdout! }).on('line', (line) => {
    const message = JSON.parse(line) as { mark?: string; result?: LoadResult }
    if (message.mark === 'window-start') Object.assign(window, { cpu: cpuSeconds(pid), at: performance.now(), from: Date.now() })
    if (message.mark === 'window-end') {
      Object.assign(window, { serverCpuS: cpuSeconds(pid) - window.cpu, wallS: (performance.now() - window.at) / 1000, to: Date.now() })
    }
    if (message.result) result = message.result
  })
  const code = await generator.exited
  if (code !== 0 || !result) throw new Error(`the load generator failed (${String(code)})\n${generator.stderr()}`)
  const phase: Phase = {
    name,
    ...result,
    serverCores: window.serverCpuS / window.wallS,
    generatorCores: result.generatorCpuS / window.wallS,
    window: { from: window.from, to: window.to },
  }
  const failed = Object.entries(result.statuses).filter(([status]) => status !== '200')
  if (failed.length > 0) console.log(`  ! ${name}: non-200 answers ${JSON.stringify(Object.fromEntries(failed))} ${JSON.stringify(result.errors)}`)
  const latency = result.scheduledLatencyMs ?? result.latencyMs
  console.log(`  ${name}: ${fmt(result.rps, 0)} req/s, p50 ${fmt(latency.p50, 2)} ms, p99 ${fmt(latency.p99, 2)} ms, max ${fmt(latency.max, 1)} ms`)
  return phase
}

/** What storehook itself recorded: every call's duration from arrival to answer, and how it ended. */
function serverSide(dbPath: string, window?: Phase['window']) {
  const db = new DatabaseSync(dbPath, { readOnly: true })
  try {
    const where = window ? `WHERE started_at >= ${window.from} AND started_at < ${window.to}` : ''
    const rows = db.prepare(`SELECT duration_ms, outcome, fallback FROM external_calls ${where}`).all() as { duration_ms: number; outcome: string; fallback: string }[]
    const outcomes: Record<string, number> = {}
    for (const row of rows) outcomes[`${row.outcome}/${row.fallback}`] = (outcomes[`${row.outcome}/${row.fallback}`] ?? 0) + 1
    return { durations: summarize(rows.map((r) => r.duration_ms)), outcomes, count: rows.length }
  } finally {
    db.close()
  }
}

let exitCode = 0
const children: Child[] = []
const isolations = String(flags.isolation).split(',').filter(Boolean)
for (const isolation of isolations) if (isolation !== 'thread' && isolation !== 'inline') throw new Error(`--isolation: expected thread and/or inline, got ${isolation}`)

interface Storehook {
  isolation: string
  server: { child: Child; url: string; db?: string }
  rounds: Phase[]
  open?: Phase
}

try {
  console.log(
    `storehook external-resource bench: POST /external/price, ${flags.connections} connections; ${flags.rounds} rounds of saturation ` +
      `(${flags.warmup} s warm-up + ${flags.duration} s), then ${flags.rate} req/s open loop (${flags['open-duration']} s); isolation ${isolations.join(', ')}`,
  )
  console.log(`machine: ${machine()}\n`)

  const baselineServer = flags['skip-baseline'] ? undefined : await startServer('baseline')
  if (baselineServer) children.push(baselineServer.child)
  const storehooks: Storehook[] = []
  for (const isolation of isolations) {
    const benchDir = join(tmp, `storehook-${isolation}`)
    mkdirSync(benchDir)
    const server = await startServer('storehook', { BENCH_DIR: benchDir, BENCH_ISOLATION: isolation, BENCH_LOG_LEVEL: String(flags['log-level']) })
    children.push(server.child)
    storehooks.push({ isolation, server, rounds: [] })
  }

  const baselineRounds: Phase[] = []
  for (let round = 1; round <= flags.rounds; round++) {
    if (baselineServer) baselineRounds.push(await load(`baseline, saturation, round ${round}`, baselineServer.child, baselineServer.url, 0))
    for (const s of storehooks) s.rounds.push(await load(`storehook (${s.isolation}), saturation, round ${round}`, s.server.child, s.server.url, 0))
  }
  for (const s of storehooks) {
    s.open = await load(`storehook (${s.isolation}), ${flags.rate} req/s`, s.server.child, s.server.url, flags.rate)
    // Cleanly: the recorder writes what it still holds before the store closes.
    const stopped = await stopChild(s.server.child)
    if (stopped !== 0) throw new Error(`storehook (${s.isolation}) exited with ${String(stopped)}\n${s.server.child.stderr()}`)
  }
  const baselineOpen = baselineServer ? await load(`baseline, ${flags.rate} req/s`, baselineServer.child, baselineServer.url, flags.rate) : undefined
  if (baselineServer) await stopChild(baselineServer.child)

  const row = (phase: Phase, latency: LatencySummary) => [
    phase.name,
    fmt(phase.rps, 0),
    fmt(latency.p50, 2),
    fmt(latency.p99, 2),
    fmt(latency.max, 1),
    fmt(phase.serverCores, 2),
    fmt(phase.generatorCores, 2),
  ]
  const rows = [['phase', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'server cores', 'load-gen cores']]
  for (let i = 0; i < flags.rounds; i++) {
    if (baselineRounds[i]) rows.push(row(baselineRounds[i]!, baselineRounds[i]!.latencyMs))
    for (const s of storehooks) rows.push(row(s.rounds[i]!, s.rounds[i]!.latencyMs))
  }
  for (const { open } of storehooks) {
    rows.push(row({ ...open!, name: `${open!.name} (from scheduled send)` }, open!.scheduledLatencyMs!))
    rows.push(row({ ...open!, name: `${open!.name} (from actual send)` }, open!.latencyMs))
  }
  if (baselineOpen) rows.push(row({ ...baselineOpen, name: `${baselineOpen.name} (from scheduled send)` }, baselineOpen.scheduledLatencyMs!))
  console.log(`\n${table(rows)}\n`)

  const targets = [['target', 'measured', 'goal', 'verdict']]
  const ownDurations = new Map<string, LatencySummary>()
  const medianRps = new Map<string, number>()
  for (const s of storehooks) {
    const open = s.open!
    const dbPath = s.server.db!.slice('sqlite:'.length)
    const all = serverSide(dbPath)
    const openServer = serverSide(dbPath, open.window)
    const answered = [...s.rounds, open].reduce((n, p) => n + p.sent, 0)
    const d = openServer.durations
    ownDurations.set(s.isolation, d)
    medianRps.set(s.isolation, median(s.rounds.map((p) => p.rps)))
    console.log(`storehook (${s.isolation}): own durations at ${flags.rate} req/s (arrival → answer ready, ${openServer.count} recorded calls): p50 ${fmt(d.p50, 3)} ms, p99 ${fmt(d.p99, 2)} ms, max ${fmt(d.max, 1)} ms`)
    console.log(`storehook (${s.isolation}): recorded ${all.count} of ${answered} calls sent; outcomes ${JSON.stringify(all.outcomes)}`)
    if (baselineRounds.length) console.log(`storehook (${s.isolation}): per-round ratios to the baseline: ${s.rounds.map((p, i) => fmt(p.rps / baselineRounds[i]!.rps, 2)).join(', ')}`)

    const ratio = baselineRounds.length ? medianRps.get(s.isolation)! / median(baselineRounds.map((p) => p.rps)) : NaN
    const p99 = open.scheduledLatencyMs!.p99
    const max = Math.max(...s.rounds.map((p) => p.latencyMs.max), open.scheduledLatencyMs!.max, all.durations.max)
    if (baselineRounds.length) targets.push([`storehook (${s.isolation}) / baseline throughput (medians)`, fmt(ratio, 2), '≥ 0.70', verdict(ratio >= 0.7)])
    targets.push([`storehook (${s.isolation}) p99 at ${flags.rate} req/s (from scheduled send)`, `${fmt(p99, 2)} ms`, '≤ 5 ms', verdict(p99 <= 5)])
    targets.push([`storehook (${s.isolation}) max latency, every phase, client or server side`, `${fmt(max, 1)} ms`, `< ${DEFAULT_DEADLINE_MS} ms (deadline)`, verdict(max < DEFAULT_DEADLINE_MS)])
    const non200 = [...s.rounds, open].reduce((n, p) => n + Object.entries(p.statuses).filter(([status]) => status !== '200').reduce((m, [, c]) => m + c, 0), 0)
    targets.push([`storehook (${s.isolation}) answers other than 200`, String(non200), '0', non200 === 0 ? 'OK' : 'FAIL'])
    if (non200 > 0) exitCode = 1
  }
  console.log(`body: ${storehooks[0]!.open!.bodyBytes} bytes (a line item with the price kind's default includes)\n`)
  console.log(table(targets))
  const thread = ownDurations.get('thread')
  const inline = ownDurations.get('inline')
  if (thread && inline) {
    console.log(
      `\nisolation cost (thread − inline): server-side p50 ${fmt((thread.p50 - inline.p50) * 1000, 0)} µs, p99 ${fmt(thread.p99 - inline.p99, 2)} ms at ${flags.rate} req/s; ` +
        `saturation throughput thread/inline ${fmt(medianRps.get('thread')! / medianRps.get('inline')!, 2)} (medians)`,
    )
  }
} catch (error) {
  console.error(error)
  exitCode = 1
} finally {
  for (const child of children) await stopChild(child, 'SIGKILL', 1000)
  if (flags.keep) console.log(`kept ${tmp}`)
  else rmSync(tmp, { recursive: true, force: true })
}
process.exitCode = exitCode
