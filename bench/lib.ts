/**
 * @module
 * Small helpers shared by the bench scripts: flags, percentiles, child processes that announce
 * readiness with one JSON line, /proc readings and plain-text tables. No dependencies.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { createInterface } from 'node:readline'

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
