/**
 * @module
 * Small helpers shared by the bench scripts: flags, percentiles, child processes that announce
 * readiness with one JSON line, /proc readings, plain-text tables, and the database a bench runs on
 * (SQLite, or PostgreSQL: a throwaway cluster or a given server) with a probe reading its tables.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import type { IncomingMessage } from 'node:http'
import { createInterface } from 'node:readline'

/**
 * Collects a request's raw body for the bare baselines: `done` gets it, or null once it passed
 * `limit` bytes (the rest is read and dropped). A callback rather than a promise, so that a
 * baseline pays no extra microtask per request.
 */
export function readBody(req: IncomingMessage, limit: number, done: (body: Buffer | null) => void): void {
  const chunks: Buffer[] = []
  let received = 0
  req.on('data', (chunk: Buffer) => {
    received += chunk.length
    if (received <= limit) chunks.push(chunk)
  })
  req.on('end', () => done(received > limit ? null : Buffer.concat(chunks, received)))
}

/** Parses `--name value` and `--name=value` flags; unknown names are an error naming the known ones. */
export function parseFlags<T extends Record<string, string | number>>(argv: string[], defaults: T): T {
  const flags: Record<string, string | number> = { ...defaults }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--help' || arg === '-h') {
      console.log(`flags: ${Object.entries(defaults).map(([k, v]) => `--${k} ${v}`).join(' ')}`)
      process.exit(0)
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    if (!match || !(match[1]! in defaults)) {
      throw new Error(`unknown argument ${arg}; known flags: ${Object.keys(defaults).map((k) => `--${k}`).join(', ')}`)
    }
    const name = match[1]!
    const raw = match[2] ?? argv[++i]
    if (raw === undefined) throw new Error(`--${name} needs a value`)
    if (typeof defaults[name] === 'number') {
      const value = Number(raw)
      if (!Number.isFinite(value) || value < 0) throw new Error(`--${name}: expected a non-negative number, got ${raw}`)
      flags[name] = value
    } else {
      flags[name] = raw
    }
  }
  return flags as T
}

export interface LatencySummary {
  count: number
  mean: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

/** Nearest-rank percentiles of a list of milliseconds. */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort()
  const n = sorted.length
  const at = (p: number) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!)
  let sum = 0
  for (const v of sorted) sum += v
  return { count: n, mean: n ? sum / n : NaN, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: n ? sorted[n - 1]! : NaN }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** The machine, as the tables print it. */
export function machine(): string {
  const list = cpus()
  return `${list.length} cpus (${list[0]?.model.trim() ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${process.platform} ${process.arch}`
}

/** A memory field of a live process, in MiB, from /proc (Linux): VmRSS (resident now), VmHWM (peak resident). */
export function memoryMiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(status)
  if (!kb) throw new Error(`no ${field} in /proc/${pid}/status`)
  return Number(kb[1]) / 1024
}

/** CPU seconds (user + system) a live process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name is in parentheses and may contain spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15)
  return ticks / 100 // USER_HZ is 100 on Linux
}

/** CPU time the hypervisor gave to other guests (steal), in seconds over all vCPUs, since boot. */
export function stolenSeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/)
  return Number(fields[8]) / 100 // "cpu user nice system idle iowait irq softirq steal …", USER_HZ 100
}

/**
 * An idle process that only watches its own timers: the longest it waited past a 10 ms timer is a
 * stall of the machine (steal, a host pause, the disk holding the kernel), not of the code under
 * test. `take()` returns the longest since the last call.
 *
 * @example
 * const probe = startStallProbe()
 * // … an interval later
 * console.log(`machine stalled up to ${probe.take()} ms`)
 * probe.stop()
 */
export function startStallProbe(): { take(): number; stop(): void } {
  const script = `process.stdout.on('error', () => process.exit()) // the parent is gone
let last = performance.now(), max = 0
setInterval(() => { const now = performance.now(); max = Math.max(max, now - last - 10); last = now }, 10)
setInterval(() => { process.stdout.write(max.toFixed(1) + '\\n'); max = 0 }, 1000)`
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let max = 0
  createInterface({ input: child.stdout! }).on('line', (line) => (max = Math.max(max, Number(line))))
  return {
    take() {
      const taken = max
      max = 0
      return taken
    },
    stop: () => void child.kill(),
  }
}

export interface Child {
  process: ChildProcess
  /** Everything the child wrote to stderr, for error messages. */
  stderr(): string
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>
}

/** Spawns `node <args>` (this same Node) with stdout and stderr piped. */
export function spawnNode(args: string[], options: SpawnOptions = {}): Child {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  let err = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => {
    err = (err + chunk).slice(-20_000)
  })
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  return { process: child, stderr: () => err, exited }
}

/** Resolves with the first stdout line that `match` accepts; rejects if the child exits first or time runs out. */
export function waitForLine(child: Child, match: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.process.stdout! })
    const timer = setTimeout(() => fail(new Error(`no matching line within ${timeoutMs} ms`)), timeoutMs)
    const onExit = (code: unknown) => fail(new Error(`exited (${String(code)}) before printing the expected line`))
    const fail = (error: Error) => {
      cleanup()
      reject(new Error(`${error.message}\n--- child stderr ---\n${child.stderr()}`))
    }
    const cleanup = () => {
      clearTimeout(timer)
      child.process.off('exit', onExit)
      lines.off('line', onLine)
    }
    const onLine = (line: string) => {
      if (!match(line)) return
      cleanup()
      resolve(line)
    }
    lines.on('line', onLine)
    child.process.once('exit', onExit)
  })
}

/** Signals a child and waits for it to exit, escalating to SIGKILL after `graceMs`. */
export async function stopChild(child: Child, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<number | string> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return child.exited
  child.process.kill(signal)
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs)
  const result = await child.exited
  clearTimeout(timer)
  return result
}

/** A plain-text table with aligned columns; the first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length)))
  const line = (row: string[]) => row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ')
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')
}

export const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a')
export const verdict = (met: boolean) => (met ? 'PASS' : 'MISS')

// ---- Stores under test -------------------------------------------------------------------------

export interface BenchDatabase {
  /** `sqlite:PATH` or `postgres://…?schema=NAME` (a fresh schema), as `--db` takes it. */
  url: string
  kind: 'sqlite' | 'postgres'
  /** Where it is, for the report (never a password). */
  where: string
  /** Drops the schema (PostgreSQL) and stops the throwaway server if this bench started one. */
  close(): Promise<void>
}

/**
 * The database a bench runs on, from its `--db` flag:
 * - `''` or `sqlite`: a SQLite file `storehook.db` in `dir`;
 * - `postgres`: a throwaway cluster from the installed server binaries (`test/postgres-cluster.ts`)
 *   with fsync on, as a production server runs (tests run theirs with fsync off), or DATABASE_URL;
 * - `postgres://…`: that server, in a fresh schema dropped afterwards (the database is left as it was).
 * Call `close()` when done; a throwaway cluster is also stopped if the bench exits without it.
 */
export async function benchDatabase(spec: string, dir: string): Promise<BenchDatabase> {
  if (spec === '' || spec === 'sqlite') {
    const path = `${dir}/storehook.db`
    return { url: `sqlite:${path}`, kind: 'sqlite', where: `SQLite file ${path}`, close: async () => {} }
  }
  let server: { url: string; stop(): Promise<void> }
  if (spec === 'postgres') {
    const { startPostgres } = await import('../test/postgres-cluster.ts')
    server = await startPostgres({ durable: true })
  } else if (/^postgres(ql)?:\/\//.test(spec)) {
    server = { url: spec, stop: async () => {} }
  } else {
    throw new Error(`--db ${spec}: expected sqlite, postgres (a throwaway cluster) or a postgres:// URL`)
  }
  const schema = `bench_${process.pid}_${Date.now().toString(36)}`
  const url = new URL(server.url)
  url.searchParams.set('schema', schema)
  return {
    url: url.toString(),
    kind: 'postgres',
    where: `PostgreSQL ${url.host}${url.pathname}${spec === 'postgres' ? ' (throwaway cluster, fsync on)' : ''}, schema ${schema}`,
    async close() {
      await withPostgres(server.url, (pool) => pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).catch(() => {})
      await server.stop()
    },
  }
}

/** A `postgres://…?schema=NAME` URL with its schema renamed. */
export function withSchema(url: string, rename: (schema: string) => string): string {
  const renamed = new URL(url)
  renamed.searchParams.set('schema', rename(renamed.searchParams.get('schema') ?? 'storehook'))
  return renamed.toString()
}

/** Drops the schema a `postgres://…?schema=NAME` URL names, with everything in it. */
export async function dropSchema(url: string): Promise<void> {
  const schema = new URL(url).searchParams.get('schema') ?? 'storehook'
  await withPostgres(url, (pool) => pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
}

/** Runs `body` with a small `pg` pool on `url`. */
async function withPostgres<T>(url: string, body: (pool: import('pg').Pool) => Promise<T>): Promise<T> {
  const pool = await pgPool(url)
  try {
    return await body(pool)
  } finally {
    await pool.end()
  }
}

/** A small `pg` pool on a `--db` URL, without the parameters only storehook reads. */
export async function pgPool(url: string, max = 2): Promise<import('pg').Pool> {
  const { default: pg } = await import('pg')
  const clean = new URL(url)
  clean.searchParams.delete('schema')
  clean.searchParams.delete('pool_max')
  const pool = new pg.Pool({ connectionString: clean.toString(), max })
  // The server may go first (a throwaway cluster stopping); idle connections must not crash the bench.
  pool.on('error', () => {})
  return pool
}

export interface StoreProbe {
  /** Runs not yet finished (pending, retrying, running). */
  unfinished(): Promise<number>
  /** Which of `ids` (events of `source`) are not stored, and totals for the report. */
  check(source: string, ids: string[]): Promise<{ missing: string[]; stored: number; withoutRun: number; succeeded: number }>
  close(): Promise<void>
}

/** Reads a store's tables directly (not through storehook), to check what a bench's server did. */
export async function openProbe(db: string): Promise<StoreProbe> {
  const checkSql = (t: (name: string) => string) => ({
    stored: `SELECT count(*) AS n FROM ${t('events')}`,
    withoutRun: `SELECT count(*) AS n FROM ${t('events')} e WHERE NOT EXISTS (SELECT 1 FROM ${t('runs')} r WHERE r.event_seq = e.seq)`,
    succeeded: `SELECT count(*) AS n FROM ${t('runs')} WHERE state = 'succeeded'`,
    unfinished: `SELECT count(*) AS n FROM ${t('runs')} WHERE state IN ('pending', 'running', 'retrying')`,
  })
  if (db.startsWith('sqlite:')) {
    const { DatabaseSync } = await import('node:sqlite')
    // Read-write (though it only reads): after a SIGKILL the first connection may have to recover the WAL.
    const file = new DatabaseSync(db.slice('sqlite:'.length))
    const sql = checkSql((name) => name)
    const count = (text: string) => Number((file.prepare(text).get() as { n: number }).n)
    return {
      unfinished: async () => count(sql.unfinished),
      async check(source, ids) {
        const find = file.prepare(`SELECT 1 FROM events WHERE source = ? AND id = ?`)
        const missing = ids.filter((id) => find.get(source, id) === undefined)
        return { missing, stored: count(sql.stored), withoutRun: count(sql.withoutRun), succeeded: count(sql.succeeded) }
      },
      close: async () => file.close(),
    }
  }
  const schema = new URL(db).searchParams.get('schema') ?? 'storehook'
  const pool = await pgPool(db)
  const sql = checkSql((name) => `"${schema}".${name}`)
  const count = async (text: string) => Number((await pool.query<{ n: string }>(text)).rows[0]!.n)
  return {
    unfinished: () => count(sql.unfinished),
    async check(source, ids) {
      const { rows } = await pool.query<{ id: string }>(
        `SELECT x.id FROM unnest($1::text[]) AS x (id) WHERE NOT EXISTS (SELECT 1 FROM "${schema}".events e WHERE e.source = $2 AND e.id = x.id)`,
        [ids, source],
      )
      return { missing: rows.map((r) => r.id), stored: await count(sql.stored), withoutRun: await count(sql.withoutRun), succeeded: await count(sql.succeeded) }
    },
    close: () => pool.end(),
  }
}

/** Waits until the store has no unfinished run; returns the backlog found first and the seconds it took. */
export async function drain(probe: StoreProbe, timeoutS: number): Promise<{ backlog: number; seconds: number }> {
  const t0 = performance.now()
  const backlog = await probe.unfinished()
  let left = backlog
  while (left > 0) {
    if (performance.now() - t0 > timeoutS * 1000) throw new Error(`${left} runs still unfinished after ${timeoutS} s`)
    await new Promise((resolve) => setTimeout(resolve, 100))
    left = await probe.unfinished()
  }
  return { backlog, seconds: (performance.now() - t0) / 1000 }
}

/**
 * CPU seconds used so far by the PostgreSQL server listening on `port` on this machine: its
 * postmaster (found by the `port=` in its command line, as the throwaway cluster starts it) and
 * every child (backends, WAL writer, checkpointer). NaN when no such server runs here.
 */
export function postgresCpuSeconds(port: number): number {
  const pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  const read = (pid: string, file: string) => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, 'utf8')
    } catch {
      return '' // gone meanwhile
    }
  }
  const postmaster = pids.find((pid) => read(pid, 'comm').trim() === 'postgres' && read(pid, 'cmdline').split('\0').includes(`port=${port}`))
  if (!postmaster) return NaN
  let total = 0
  for (const pid of pids) {
    const stat = read(pid, 'stat')
    if (!stat) continue
    const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]
    if (pid === postmaster || ppid === postmaster) {
      try {
        total += cpuSeconds(Number(pid))
      } catch {
        // exited between the two reads
      }
    }
  }
  return total
}
