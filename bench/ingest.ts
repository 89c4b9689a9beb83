/**
 * @module
 * Ingest throughput and ack latency: storehook against a bare `node:http` baseline, in one run,
 * under the same load. `npm run bench:ingest -- [--duration 8] [--connections 32]`
 *
 * 1. baseline: `bench/baseline-server.ts` (verify + JSON.parse + 200, stores nothing), its own process;
 *    and the floor: `bench/floor-server.ts`, the least a server can do to store each event and its
 *    run durably and run a no-op handler, on storehook's schema and store (`--floor 0` skips it);
 * 2. storehook: `bench/storehook-server.ts` (startStorehook, one source, one no-op action, SQLite
 *    with synchronous=FULL and group commit), its own process;
 * 3. the load: `bench/load.ts`, a third process, closed loop with `--connections` keep-alive
 *    connections for `--warmup` + `--duration` seconds against each, for saturation throughput;
 *    then open loop against storehook at half of its measured saturation throughput, for its
 *    p50/p99 ack latency; then the baseline again at that same rate, the floor this machine and
 *    generator set for latency;
 * 4. storehook is killed with SIGKILL (no clean shutdown) and the store's tables are read to check
 *    that every request acknowledged with 200 is stored, each with its run.
 *
 * `--db postgres` runs storehook on PostgreSQL instead: a throwaway cluster started from the
 * installed server binaries with fsync on (or DATABASE_URL), or `--db postgres://…` for a given
 * server (a fresh schema, dropped afterwards). The server shares the 2 cores with the rest.
 *
 * Targets (2-core machine): storehook/baseline ≥ 0.5; p99 ≤ 10 ms at half load. A missed target
 * prints MISS; only errors (a child failing, an acknowledged event missing) exit non-zero. The
 * floor's own ratio to the baseline shows how much of the target durability alone takes here.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import {
  benchDatabase,
  cpuSeconds,
  drain,
  dropSchema,
  fmt,
  machine,
  parseFlags,
  spawnNode,
  openProbe,
  stopChild,
  table,
  verdict,
  waitForLine,
  withSchema,
  type BenchDatabase,
  type Child,
  type LatencySummary,
} from './lib.ts'

const flags = parseFlags(process.argv.slice(2), {
  duration: 8,
  connections: 32,
  warmup: 1,
  /** storehook's log level (`warn` hides the per-run `info` lines that `storehook start` writes). */
  'log-level': 'warn',
  /** 0 = measure half of the measured saturation throughput; otherwise this rate (req/s). */
  'half-rate': 0,
  'skip-baseline': 0,
  /** 1 = also measure bench/floor-server.ts, on the same kind of store … */
  floor: 1,
  /** … with storehook's indexes (`all`) or only those ingest and claims need (`minimal`). */
  'floor-indexes': 'all',
  /** … committing with `synchronous=FULL` (`full`) or fsyncing the WAL off the thread (`async`). */
  'floor-sync': 'full',
  /** For investigation: the store's durability (`normal` skips the per-commit fsync) … */
  synchronous: 'full',
  /** … and the number of no-op actions (0: no runs are created, the worker stays idle). */
  actions: 1,
  /** Seconds to wait for the worker to finish the runs created under load. */
  'drain-timeout': 120,
  keep: 0,
  /** The store: `sqlite` (default), `postgres` (a throwaway cluster, fsync on) or a postgres:// URL. */
  db: 'sqlite',
})

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const secret = `whsec_${randomBytes(32).toString('base64')}`
const tmp = mkdtempSync(join(tmpdir(), 'storehook-bench-'))

interface LoadResult {
  mode: string
  targetRate: number
  sent: number
  acked: number
  okInWindow: number
  rps: number
  statuses: Record<string, number>
  errors: Record<string, number>
  latencyMs: LatencySummary
  scheduledLatencyMs: LatencySummary | null
  sendLagMs: LatencySummary | null
  generatorCpuS: number
  poolSize: number
  signedOnTheFly: number
}

interface Phase extends LoadResult {
  name: string
  /** CPU seconds per wall second inside the measured window (1.0 = one core busy). */
  serverCores: number
  generatorCores: number
}

async function startServer(script: string, env: Record<string, string>): Promise<{ child: Child; url: string; db?: string }> {
  const child = spawnNode([here(script)], { env: { ...process.env, BENCH_SECRET: secret, ...env } })
  const line = await waitForLine(child, (l) => l.startsWith('{'))
  return { child, ...(JSON.parse(line) as { url: string; db?: string }) }
}

async function load(name: string, server: Child, url: string, options: { rate: number; prefix: string; ackedOut: string }): Promise<Phase> {
  const pid = server.process.pid!
  const generator = spawnNode([
    here('./load.ts'),
    ...['--url', `${url}/events/bench`, '--secret', secret],
    ...['--duration', String(flags.duration), '--warmup', String(flags.warmup), '--connections', String(flags.connections)],
    ...['--rate', String(options.rate), '--id-prefix', options.prefix, '--acked-out', options.ackedOut],
  ])
  // The generator marks its measured window; the server's CPU time is read at both marks.
  const window = { cpu: 0, at: 0, serverCpuS: NaN, wallS: NaN }
  let result: LoadResult | undefined
  const lines = createInterface({ input: generator.process.stdout! })
  lines.on('line', (line) => {
    const message = JSON.parse(line) as { mark?: string; result?: LoadResult }
    if (message.mark === 'window-start') Object.assign(window, { cpu: cpuSeconds(pid), at: performance.now() })
    if (message.mark === 'window-end') Object.assign(window, { serverCpuS: cpuSeconds(pid) - window.cpu, wallS: (performance.now() - window.at) / 1000 })
    if (message.result) result = message.result
  })
  const code = await generator.exited
  if (code !== 0 || !result) throw new Error(`the load generator failed (${String(code)})\n${generator.stderr()}`)
  const phase = { name, ...result, serverCores: window.serverCpuS / window.wallS, generatorCores: result.generatorCpuS / window.wallS }
  const failed = Object.entries(result.statuses).filter(([status]) => status !== '200')
  if (failed.length > 0) console.log(`  ! ${name}: non-200 answers ${JSON.stringify(Object.fromEntries(failed))} ${JSON.stringify(result.errors)}`)
  if (result.signedOnTheFly > 0) console.log(`  ! ${name}: the pre-signed pool ran out; ${result.signedOnTheFly} requests were signed during the run`)
  console.log(`  ${name}: ${fmt(result.rps, 0)} req/s, p50 ${fmt(result.latencyMs.p50, 2)} ms, p99 ${fmt(result.latencyMs.p99, 2)} ms`)
  return phase
}

function readAcked(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return text === '' ? [] : text.split('\n')
}

let exitCode = 0
const children: Child[] = []
let database: BenchDatabase | undefined
try {
  console.log(`storehook ingest bench: ${flags.connections} connections, ${flags.warmup} s warm-up + ${flags.duration} s measured per phase`)
  console.log(`machine: ${machine()}`)
  database = await benchDatabase(flags.db, tmp)
  console.log(`store: ${database.where}\n`)

  // ---- baseline ------------------------------------------------------------------------------
  let baseline: Phase | undefined
  if (!flags['skip-baseline']) {
    const server = await startServer('./baseline-server.ts', {})
    children.push(server.child)
    baseline = await load('baseline, saturation', server.child, server.url, { rate: 0, prefix: 'base', ackedOut: join(tmp, 'base.acked') })
    await stopChild(server.child)
  }

  // ---- floor: durable, and nothing else ------------------------------------------------------
  const withFloor = Boolean(flags.floor)
  /** Runs the floor server through one phase; it must have stored every event it acknowledged. */
  const floorPhase = async (name: string, rate: number, prefix: string): Promise<Phase> => {
    const floorDir = join(tmp, prefix)
    mkdirSync(floorDir)
    // Its own file, or its own schema beside storehook's (dropped after the check).
    const floorDb = database!.kind === 'sqlite' ? `sqlite:${join(floorDir, 'floor.db')}` : withSchema(database!.url, (schema) => `${schema}_${prefix}`)
    const server = await startServer('./floor-server.ts', { BENCH_DIR: floorDir, BENCH_DB: floorDb, BENCH_FLOOR_INDEXES: String(flags['floor-indexes']), BENCH_FLOOR_SYNC: String(flags['floor-sync']) })
    children.push(server.child)
    const phase = await load(name, server.child, server.url, { rate, prefix, ackedOut: join(tmp, `${prefix}.acked`) })
    await stopChild(server.child, 'SIGKILL')
    const probe = await openProbe(floorDb)
    const { missing } = await probe.check('bench', readAcked(join(tmp, `${prefix}.acked`)))
    await probe.close()
    if (database!.kind === 'postgres') await dropSchema(floorDb)
    if (missing.length > 0) throw new Error(`the floor server lost ${missing.length} acknowledged events: it is not durable, so not a floor`)
    return phase
  }
  const floor = withFloor ? await floorPhase(`floor${flags['floor-indexes'] === 'minimal' ? ' (minimal indexes)' : ''}, saturation`, 0, 'floor') : undefined

  // ---- storehook -----------------------------------------------------------------------------
  const benchDir = join(tmp, 'storehook')
  mkdirSync(benchDir)
  const server = await startServer('./storehook-server.ts', {
    BENCH_DIR: benchDir,
    BENCH_LOG_LEVEL: String(flags['log-level']),
    BENCH_SYNCHRONOUS: String(flags.synchronous),
    BENCH_ACTIONS: flags.actions ? '1' : '0',
    BENCH_DB: database.url,
  })
  children.push(server.child)
  const probe = await openProbe(database.url)

  const saturation = await load('storehook, saturation', server.child, server.url, { rate: 0, prefix: 'sat', ackedOut: join(tmp, 'sat.acked') })
  const satDrain = await drain(probe, flags['drain-timeout'])
  console.log(`  worker backlog after saturation: ${satDrain.backlog} runs, finished in ${fmt(satDrain.seconds)} s`)

  const halfRate = flags['half-rate'] || Math.max(1, Math.round(saturation.rps / 2))
  const half = await load(`storehook, ${halfRate} req/s`, server.child, server.url, { rate: halfRate, prefix: 'half', ackedOut: join(tmp, 'half.acked') })
  const halfDrain = await drain(probe, flags['drain-timeout'])
  console.log(`  worker backlog after half load: ${halfDrain.backlog} runs, finished in ${fmt(halfDrain.seconds)} s`)
  await probe.close()
  // No clean shutdown: only what was committed before each 200 can be in the file.
  await stopChild(server.child, 'SIGKILL')

  // The machine's own floor at that rate: the baseline, open loop, same rate, same generator.
  let baselineHalf: Phase | undefined
  if (!flags['skip-baseline']) {
    const base = await startServer('./baseline-server.ts', {})
    children.push(base.child)
    baselineHalf = await load(`baseline, ${halfRate} req/s`, base.child, base.url, { rate: halfRate, prefix: 'basehalf', ackedOut: join(tmp, 'basehalf.acked') })
    await stopChild(base.child)
  }
  const floorHalf = withFloor ? await floorPhase(`floor, ${halfRate} req/s`, halfRate, 'floorhalf') : undefined

  // ---- every acknowledged event is stored (storehook was stopped with SIGKILL) ------------------
  const after = await openProbe(database.url)
  const acked = [...readAcked(join(tmp, 'sat.acked')), ...readAcked(join(tmp, 'half.acked'))]
  const { missing, stored, withoutRun, succeeded } = await after.check('bench', acked)
  await after.close()
  const correct = missing.length === 0 && (withoutRun === 0 || !flags.actions)

  // ---- report --------------------------------------------------------------------------------
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
  if (baseline) rows.push(row(baseline, baseline.latencyMs))
  if (floor) rows.push(row(floor, floor.latencyMs))
  rows.push(row(saturation, saturation.latencyMs))
  rows.push(row({ ...half, name: `${half.name} (from scheduled send)` }, half.scheduledLatencyMs!))
  rows.push(row({ ...half, name: `${half.name} (from actual send)` }, half.latencyMs))
  if (baselineHalf) rows.push(row({ ...baselineHalf, name: `${baselineHalf.name} (from scheduled send)` }, baselineHalf.scheduledLatencyMs!))
  if (floorHalf) rows.push(row({ ...floorHalf, name: `${floorHalf.name} (from scheduled send)` }, floorHalf.scheduledLatencyMs!))
  console.log(`\n${table(rows)}\n`)
  console.log(`open-loop send lag (generator timer) against storehook: p50 ${fmt(half.sendLagMs!.p50, 2)} ms, p99 ${fmt(half.sendLagMs!.p99, 2)} ms`)
  if (flags.synchronous !== 'full' || !flags.actions) console.log(`NOTE: not the default setup (synchronous=${flags.synchronous}, actions=${flags.actions}); figures are for investigation only`)

  const ratio = baseline ? saturation.rps / baseline.rps : NaN
  const p99 = half.scheduledLatencyMs!.p99
  const targets = [['target', 'measured', 'goal', 'verdict']]
  if (baseline) targets.push(['storehook / baseline throughput', fmt(ratio, 2), '≥ 0.50', verdict(ratio >= 0.5)])
  if (baseline && floor) targets.push(['(floor / baseline throughput)', fmt(floor.rps / baseline.rps, 2), '', ''])
  if (floor) targets.push(['(storehook / floor throughput)', fmt(saturation.rps / floor.rps, 2), '', ''])
  targets.push([`storehook p99 ack latency at ${halfRate} req/s`, `${fmt(p99, 2)} ms`, '≤ 10 ms', verdict(p99 <= 10)])
  targets.push([
    'acknowledged events in the store (after SIGKILL)',
    `${acked.length - missing.length} / ${acked.length}`,
    'all',
    correct ? 'OK' : 'FAIL',
  ])
  console.log(table(targets))
  console.log(`\nstore: ${stored} events, ${withoutRun} without a run, ${succeeded} runs succeeded (no-op action)`)
  if (!correct) {
    console.log(`ERROR: ${missing.length} acknowledged events missing (first: ${missing.slice(0, 5).join(', ')}), ${withoutRun} events without a run`)
    exitCode = 1
  }
} catch (error) {
  console.error(error)
  exitCode = 1
} finally {
  for (const child of children) await stopChild(child, 'SIGKILL', 1000)
  await database?.close()
  if (flags.keep) console.log(`kept ${tmp}`)
  else rmSync(tmp, { recursive: true, force: true })
}
process.exitCode = exitCode
