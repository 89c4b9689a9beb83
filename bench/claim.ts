/**
 * @module
 * Claim throughput and end-to-end latency on PostgreSQL, with one and with several storehook
 * processes on one database: `npx node bench/claim.ts [--db postgres] [--processes 1,3]`.
 *
 * For each process count, on a fresh schema:
 * 1. start that many `bench/storehook-server.ts` processes (one source, one action that only notes
 *    the moment its handler starts, as `<event id> <epoch ms>` lines in a file per process);
 * 2. saturation: `--connections` keep-alive connections spread over the processes, closed loop,
 *    `--warmup` + `--duration` s: acknowledged events/s, and handler starts/s in the same window
 *    (the rate runs are claimed and started while ingest saturates), and the CPU the storehook
 *    processes and a local PostgreSQL server used;
 * 3. wait for the backlog to drain; then, for each of `--rates`, open loop at that rate, events
 *    spread round-robin: **event-to-handler-start** latency, from the moment each request was
 *    scheduled to be sent to the moment its handler started, in whichever process claimed it (the
 *    ack, the commit, NOTIFY or the local wake-up, the claim), and ack latency. Fixed rates, not
 *    one relative to saturation: above the rate the workers sustain, latency only measures the
 *    queue (it grows for as long as the phase lasts), so a curve says more than one point;
 * 4. SIGKILL every process and check every acknowledged event is stored.
 *
 * This orchestrator is the load generator (the servers and PostgreSQL are other processes). Send
 * and start times are `performance.timeOrigin + performance.now()` in two processes on one machine,
 * so both come from its one system clock; the minimum latency is printed as a sanity check (a skew
 * between the two processes' origins would show as a minimum near or below zero).
 * Targets (issue 7, 2 cores, local PostgreSQL): ≥ 3,000 acknowledged events/s; event-to-handler-start
 * p99 ≤ 50 ms. `--db sqlite` runs the same with one process on SQLite, for comparison.
 */
import { createSecretKey, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { signStandardWebhook } from '../src/sources/standard-webhooks/index.ts'
import {
  benchDatabase,
  cpuSeconds,
  drain,
  fmt,
  machine,
  openProbe,
  parseFlags,
  postgresCpuSeconds,
  spawnNode,
  stopChild,
  summarize,
  table,
  verdict,
  waitForLine,
  type Child,
  type LatencySummary,
} from './lib.ts'

const flags = parseFlags(process.argv.slice(2), {
  /** `postgres` (a throwaway cluster, fsync on), a postgres:// URL, or `sqlite` (one process only). */
  db: 'postgres',
  /** Process counts to measure, comma-separated. */
  processes: '1,3',
  duration: 8,
  warmup: 1,
  connections: 32,
  /** Open-loop rates (events/s), comma-separated; 0 = half of the measured saturation throughput. */
  rates: '250,500,1000',
  'body-bytes': 1024,
  /** `worker.concurrency` of each process; 0 = storehook's default (16). */
  concurrency: 0,
  'log-level': 'warn',
  'drain-timeout': 120,
  keep: 0,
})

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const secret = `whsec_${randomBytes(32).toString('base64')}`
const key = createSecretKey(Buffer.from(secret.slice('whsec_'.length), 'base64'))
const tmp = mkdtempSync(join(tmpdir(), 'storehook-claim-'))
const now = () => performance.timeOrigin + performance.now()
const filler = 'x'.repeat(Math.max(0, flags['body-bytes'] - 200))

interface Server {
  child: Child
  url: string
  agent: Agent
  starts: string
}

interface Sent {
  id: string
  /** Epoch ms at which it was scheduled (open loop) or sent (closed loop). */
  at: number
  /** Epoch ms of the answer; NaN if none. */
  ackAt: number
  ok: boolean
}

/** POSTs one signed event; resolves when its answer has been read. Never rejects. */
function send(server: Server, id: string, at: number): Promise<Sent> {
  const timestamp = Math.floor(Date.now() / 1000)
  const body = Buffer.from(JSON.stringify({ type: 'order.created', data: { order_id: id, items: [{ sku: 'SKU-1', qty: 2 }], note: filler } }))
  const record: Sent = { id, at, ackAt: NaN, ok: false }
  return new Promise((resolve) => {
    const url = new URL(`${server.url}/events/bench`)
    const req = request(
      {
        agent: server.agent,
        method: 'POST',
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signStandardWebhook(key, id, timestamp, body),
        },
      },
      (res) => {
        res.resume()
        res.once('end', () => resolve(Object.assign(record, { ackAt: now(), ok: res.statusCode === 200 })))
        res.once('error', () => resolve(record))
      },
    )
    req.once('error', () => resolve(record))
    req.end(body)
  })
}

/** Closed loop over every server; returns every request, and the window. */
async function saturate(servers: Server[], prefix: string): Promise<{ sent: Sent[]; from: number; to: number }> {
  const sent: Sent[] = []
  const from = now() + flags.warmup * 1000
  const to = from + flags.duration * 1000
  let n = 0
  await Promise.all(
    Array.from({ length: flags.connections }, async (_, c) => {
      const server = servers[c % servers.length]!
      while (now() < to) sent.push(await send(server, `${prefix}_${n++}`, now()))
    }),
  )
  return { sent, from, to }
}

/** Open loop at `rate`, round-robin over the servers. */
async function openLoop(servers: Server[], prefix: string, rate: number): Promise<{ sent: Sent[]; from: number; to: number }> {
  const sent: Promise<Sent>[] = []
  const t0 = now()
  const from = t0 + flags.warmup * 1000
  const to = from + flags.duration * 1000
  const interval = 1000 / rate
  let i = 0
  await new Promise<void>((resolve) => {
    const pump = () => {
      for (let at = t0 + i * interval; at <= now() && at < to; at = t0 + ++i * interval) {
        sent.push(send(servers[i % servers.length]!, `${prefix}_${i}`, at))
      }
      const due = t0 + i * interval
      if (due >= to) return resolve()
      setTimeout(pump, Math.max(0, due - now()))
    }
    pump()
  })
  return { sent: await Promise.all(sent), from, to }
}

/** Handler start times by event id, from every server's file (the first start of each). */
function readStarts(servers: Server[]): Map<string, number> {
  const starts = new Map<string, number>()
  for (const server of servers) {
    let text = ''
    try {
      text = readFileSync(server.starts, 'utf8')
    } catch {
      continue // no run started in this process
    }
    for (const line of text.split('\n')) {
      const [id, at] = line.split(' ')
      if (id && at && !starts.has(id)) starts.set(id, Number(at))
    }
  }
  return starts
}

interface Saturation {
  processes: number
  ackedPerS: number
  ack: LatencySummary
  startsPerS: number
  backlog: number
  drainS: number
  serverCores: number
  /** The local PostgreSQL server's CPU over the same window (NaN for SQLite or a remote server). */
  postgresCores: number
}

interface Latency {
  processes: number
  rate: number
  toStart: LatencySummary
  minToStart: number
  ack: LatencySummary
  /** Runs still unfinished when the phase's sending stopped: the queue the latency includes. */
  backlog: number
}

interface Result {
  saturation: Saturation
  latencies: Latency[]
  acked: number
  missing: number
}

async function measure(processes: number, dbSpec: string, rates: number[]): Promise<Result> {
  const dir = join(tmp, `p${processes}`)
  mkdirSync(dir)
  const database = await benchDatabase(dbSpec, dir)
  const servers: Server[] = []
  try {
    // One at a time: several processes migrating a new schema at once is tested elsewhere; here it
    // would only add start-up noise.
    for (let i = 0; i < processes; i++) {
      const serverDir = join(dir, `server-${i}`)
      mkdirSync(serverDir)
      const starts = join(dir, `starts-${i}.txt`)
      const child = spawnNode([here('./storehook-server.ts')], {
        env: { ...process.env, BENCH_SECRET: secret, BENCH_DIR: serverDir, BENCH_DB: database.url, BENCH_STARTS: starts, BENCH_LOG_LEVEL: String(flags['log-level']), BENCH_CONCURRENCY: String(flags.concurrency) },
      })
      const { url } = JSON.parse(await waitForLine(child, (l) => l.startsWith('{'))) as { url: string }
      servers.push({ child, url, starts, agent: new Agent({ keepAlive: true, maxSockets: Math.ceil(flags.connections / processes) }) })
    }
    const probe = await openProbe(database.url)
    const cpu = () => servers.reduce((sum, s) => sum + cpuSeconds(s.child.process.pid!), 0)
    const pgPort = database.kind === 'postgres' ? Number(new URL(database.url).port || 5432) : NaN
    const pgCpu = () => (Number.isNaN(pgPort) ? NaN : postgresCpuSeconds(pgPort))
    const settle = async () => {
      const drained = await drain(probe, flags['drain-timeout'])
      await new Promise((resolve) => setTimeout(resolve, 300)) // the handlers' buffered lines reach their files
      return drained
    }

    const [cpu0, pgCpu0] = [cpu(), pgCpu()]
    const sat = await saturate(servers, `sat${processes}`)
    const serverCores = (cpu() - cpu0) / (flags.warmup + flags.duration)
    const postgresCores = (pgCpu() - pgCpu0) / (flags.warmup + flags.duration)
    const inWindow = (t: number) => t >= sat.from && t < sat.to
    const acked = sat.sent.filter((s) => s.ok && inWindow(s.ackAt))
    const drained = await settle()
    const startsInWindow = [...readStarts(servers)].filter(([id, at]) => id.startsWith('sat') && inWindow(at)).length
    const saturation: Saturation = {
      processes,
      ackedPerS: acked.length / flags.duration,
      ack: summarize(acked.map((s) => s.ackAt - s.at)),
      startsPerS: startsInWindow / flags.duration,
      backlog: drained.backlog,
      drainS: drained.seconds,
      serverCores,
      postgresCores,
    }
    console.log(
      `  ${processes} process(es), saturation: ${fmt(saturation.ackedPerS, 0)} acknowledged/s, ${fmt(saturation.startsPerS, 0)} handler starts/s; ` +
        `backlog ${drained.backlog} runs, drained in ${fmt(drained.seconds)} s`,
    )

    const latencies: Latency[] = []
    const sent = [...sat.sent]
    for (const asked of rates) {
      const rate = asked || Math.max(1, Math.round(saturation.ackedPerS / 2))
      const open = await openLoop(servers, `open${processes}r${rate}`, rate)
      sent.push(...open.sent)
      const phaseBacklog = await probe.unfinished()
      await settle()
      const starts = readStarts(servers)
      const measured = open.sent.filter((s) => s.at >= open.from && s.at < open.to)
      const toStart = measured.map((s) => (starts.get(s.id) ?? NaN) - s.at).filter(Number.isFinite)
      const notStarted = measured.filter((s) => s.ok && !starts.has(s.id)).length
      if (notStarted) console.log(`  ! ${notStarted} acknowledged events in the window have no handler start recorded`)
      const latency: Latency = {
        processes,
        rate,
        toStart: summarize(toStart),
        minToStart: Math.min(...toStart),
        ack: summarize(measured.filter((s) => s.ok).map((s) => s.ackAt - s.at)),
        backlog: phaseBacklog,
      }
      latencies.push(latency)
      console.log(
        `  ${processes} process(es), ${rate} events/s: event→handler start p50 ${fmt(latency.toStart.p50, 2)} ms, ` +
          `p99 ${fmt(latency.toStart.p99, 2)} ms (min ${fmt(latency.minToStart, 2)} ms); backlog at the end ${phaseBacklog}`,
      )
    }
    const failed = sent.filter((s) => !s.ok).length
    if (failed) console.log(`  ! ${failed} requests were not answered 200`)

    // No clean shutdown: only what was committed before each 200 can be in the store.
    for (const server of servers) await stopChild(server.child, 'SIGKILL', 1000)
    const ackedIds = sent.filter((s) => s.ok).map((s) => s.id)
    const { missing } = await probe.check('bench', ackedIds)
    await probe.close()
    return { saturation, latencies, acked: ackedIds.length, missing: missing.length }
  } finally {
    for (const server of servers) {
      server.agent.destroy()
      await stopChild(server.child, 'SIGKILL', 1000)
    }
    await database.close()
  }
}

let exitCode = 0
let cluster: { url: string; stop(): Promise<void> } | undefined
try {
  const counts = String(flags.processes).split(',').map(Number)
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--processes ${flags.processes}: expected positive integers, e.g. 1,3`)
  if (flags.db === 'sqlite' && counts.some((n) => n > 1)) throw new Error('--db sqlite: one process only (SQLite is for one process); pass --processes 1')
  console.log(
    `storehook claim bench: ${flags.connections} connections, ${flags.warmup} s warm-up + ${flags.duration} s measured per phase` +
      (flags.concurrency ? `, worker.concurrency ${flags.concurrency}` : ''),
  )
  console.log(`machine: ${machine()}`)
  // One throwaway cluster for every process count, a fresh schema for each.
  if (flags.db === 'postgres') {
    const { startPostgres } = await import('../test/postgres-cluster.ts')
    cluster = await startPostgres({ durable: true })
  }
  const spec = cluster?.url ?? String(flags.db)
  console.log(`store: ${flags.db === 'postgres' ? `PostgreSQL, a throwaway cluster with fsync on${process.env.DATABASE_URL ? ' (DATABASE_URL)' : ''}` : spec.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@')}\n`)

  const rates = String(flags.rates).split(',').map(Number)
  if (rates.some((r) => !Number.isFinite(r) || r < 0)) throw new Error(`--rates ${flags.rates}: expected rates in events/s, e.g. 250,500,1000`)
  const results: Result[] = []
  for (const processes of counts) results.push(await measure(processes, spec, rates))

  const saturation = [['processes', 'acked/s', 'ack p50 / p99 ms', 'handler starts/s', 'backlog after', 'drained in s', 'storehook cores', 'postgres cores']]
  for (const { saturation: r } of results) {
    saturation.push([
      String(r.processes),
      fmt(r.ackedPerS, 0),
      `${fmt(r.ack.p50, 1)} / ${fmt(r.ack.p99, 1)}`,
      fmt(r.startsPerS, 0),
      String(r.backlog),
      fmt(r.drainS),
      fmt(r.serverCores, 2),
      fmt(r.postgresCores, 2),
    ])
  }
  console.log(`\nsaturation (closed loop, ${flags.connections} connections)\n${table(saturation)}`)
  const latency = [['processes', 'events/s', 'event→start p50 / p99 / max ms', 'ack p50 / p99 ms', 'backlog at end']]
  for (const r of results.flatMap((x) => x.latencies)) {
    latency.push([
      String(r.processes),
      String(r.rate),
      `${fmt(r.toStart.p50, 1)} / ${fmt(r.toStart.p99, 1)} / ${fmt(r.toStart.max, 0)}`,
      `${fmt(r.ack.p50, 1)} / ${fmt(r.ack.p99, 1)}`,
      String(r.backlog),
    ])
  }
  console.log(`\nopen loop, from the scheduled send\n${table(latency)}\n`)

  const best = Math.max(...results.map((r) => r.saturation.ackedPerS))
  const targets = [['target', 'measured', 'goal', 'verdict']]
  targets.push(['acknowledged events/s (best configuration)', fmt(best, 0), '≥ 3000', verdict(best >= 3000)])
  for (const r of results.flatMap((x) => x.latencies)) {
    targets.push([`event→handler-start p99, ${r.processes} process(es) at ${r.rate}/s`, `${fmt(r.toStart.p99, 1)} ms`, '≤ 50 ms', verdict(r.toStart.p99 <= 50)])
  }
  const lost = results.reduce((sum, r) => sum + r.missing, 0)
  const total = results.reduce((sum, r) => sum + r.acked, 0)
  targets.push(['acknowledged events in the store (after SIGKILL)', `${total - lost} / ${total}`, 'all', lost ? 'FAIL' : 'OK'])
  console.log(table(targets))
  if (lost) exitCode = 1
} catch (error) {
  console.error(error)
  exitCode = 1
} finally {
  await cluster?.stop()
  if (flags.keep) console.log(`kept ${tmp}`)
  else rmSync(tmp, { recursive: true, force: true })
}
process.exitCode = exitCode
