/**
 * @module
 * Start-to-ready time and idle memory of `storehook start`, against a bare `node:http` server
 * started the same way. `npm run bench:footprint -- [--runs 5] [--idle 2]`
 *
 * Each run spawns `node bin/storehook.js start --project examples/quickstart --port 0
 * --db sqlite:<fresh temp file>` (the quickstart's `.env` provides WEBHOOK_SECRET and FORWARD_URL),
 * twice over: from this checkout's TypeScript sources (what `npm start` runs), and from the
 * compiled package as `npm install storehook` gets it (`dist/`, built into a temporary copy),
 * which spares Node's type stripper (about 16 MiB in each thread that loads `.ts`). It measures,
 * from just before the spawn:
 * - listening: until the "listening on" line is printed;
 * - ready: until `GET /healthz` answers 200 (polled every 2 ms from the first line on; healthz
 *   queries the store, so the database is open and migrated);
 * then waits `--idle` seconds and reads the process's resident memory (VmRSS in /proc/<pid>/status)
 * and its peak (VmHWM), then stops it with SIGTERM. The baseline is `node -e` running a bare
 * `node:http` server that prints the same line and answers every path with 200.
 * One unmeasured run of each comes first (`--warmup`), so files are in the page cache.
 *
 * Targets: idle RSS ≤ 120 MB (judged both as MiB and as 10^6 bytes); start-to-ready ≤ 500 ms;
 * judged for both ways of running.
 * Verdicts are given for the median and for the worst run; a missed target prints MISS, only
 * errors exit non-zero.
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fmt, machine, median, memoryMiB, parseFlags, spawnNode, stopChild, table, verdict, waitForLine } from './lib.ts'

const flags = parseFlags(process.argv.slice(2), { runs: 5, idle: 2, warmup: 1 })
const root = fileURLToPath(new URL('..', import.meta.url))
const tmp = mkdtempSync(join(tmpdir(), 'storehook-footprint-'))

const BASELINE = `
const http = require('node:http')
const server = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'))
server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
`

interface Sample {
  listeningMs: number
  readyMs: number
  rssMiB: number
  peakMiB: number
  exit: number | string
}

function healthz(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${url}/healthz`, { agent: false }, (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode ?? 0))
    })
    req.once('error', () => resolve(0))
    req.end()
  })
}

async function measure(args: string[]): Promise<Sample> {
  const t0 = performance.now()
  const child = spawnNode(args, { cwd: root })
  try {
    const line = await waitForLine(child, (l) => l.includes('listening on '))
    const listeningMs = performance.now() - t0
    const url = /listening on (http:\/\/\S+)/.exec(line)![1]!
    while ((await healthz(url)) !== 200) {
      if (performance.now() - t0 > 30_000) throw new Error(`${url}/healthz did not answer 200 within 30 s`)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const readyMs = performance.now() - t0
    await new Promise((resolve) => setTimeout(resolve, flags.idle * 1000))
    const pid = child.process.pid!
    const sample = { listeningMs, readyMs, rssMiB: memoryMiB(pid, 'VmRSS'), peakMiB: memoryMiB(pid, 'VmHWM') }
    const exit = await stopChild(child, 'SIGTERM')
    return { ...sample, exit }
  } catch (error) {
    await stopChild(child, 'SIGKILL', 1000)
    throw error
  }
}

let exitCode = 0
try {
  console.log(`storehook footprint bench: ${flags.runs} runs each (+${flags.warmup} unmeasured), RSS read after ${flags.idle} s idle`)
  console.log(`machine: ${machine()}\n`)
  let n = 0
  const built = buildPackage()
  const startArgs = (bin: string) => () => [
    bin,
    ...['start', '--project', join(root, 'examples', 'quickstart'), '--port', '0', '--db', `sqlite:${join(tmp, `run-${n++}.db`)}`],
  ]
  const variants = {
    'storehook (source)': startArgs(join(root, 'bin', 'storehook.js')),
    'storehook (built)': startArgs(join(built, 'bin', 'storehook.js')),
    baseline: () => ['-e', BASELINE],
  }
  type Variant = keyof typeof variants
  const names = Object.keys(variants) as Variant[]
  const storehooks = names.filter((name) => name !== 'baseline')

  const results = Object.fromEntries(names.map((name) => [name, [] as Sample[]])) as Record<Variant, Sample[]>
  for (let i = 0; i < flags.warmup; i++) for (const name of names) await measure(variants[name]())
  // Alternate, so a slow moment of the machine hits all alike.
  for (let i = 0; i < flags.runs; i++) for (const name of names) results[name].push(await measure(variants[name]()))
  for (const [name, samples] of Object.entries(results)) {
    const bad = samples.filter((s) => s.exit !== 0)
    if (bad.length > 0) throw new Error(`${name}: ${bad.length} runs did not exit 0 on SIGTERM (${bad.map((s) => s.exit).join(', ')})`)
  }

  const stat = (samples: Sample[], key: keyof Omit<Sample, 'exit'>) => ({
    median: median(samples.map((s) => s[key])),
    max: Math.max(...samples.map((s) => s[key])),
  })
  const summary = (samples: Sample[]) => ({
    listening: stat(samples, 'listeningMs'),
    ready: stat(samples, 'readyMs'),
    rss: stat(samples, 'rssMiB'),
    peak: stat(samples, 'peakMiB'),
  })
  const all = Object.fromEntries(names.map((name) => [name, summary(results[name])])) as Record<Variant, ReturnType<typeof summary>>
  const b = all.baseline
  const rows = [['measure', 'variant', 'median', 'max', 'baseline median', 'ratio (medians)']]
  for (const name of storehooks) {
    const s = all[name]
    const add = (label: string, x: { median: number; max: number }, y: { median: number }, unit: string, digits: number) =>
      rows.push([label, name, `${fmt(x.median, digits)} ${unit}`, `${fmt(x.max, digits)} ${unit}`, `${fmt(y.median, digits)} ${unit}`, `${fmt(x.median / y.median, 1)}×`])
    add('spawn → "listening on" printed', s.listening, b.listening, 'ms', 0)
    add('spawn → GET /healthz 200', s.ready, b.ready, 'ms', 0)
    add(`idle RSS after ${flags.idle} s`, s.rss, b.rss, 'MiB', 1)
    add('peak RSS (VmHWM)', s.peak, b.peak, 'MiB', 1)
    console.log(`${name}: ready ${results[name].map((r) => fmt(r.readyMs, 0)).join(', ')} ms; RSS ${results[name].map((r) => fmt(r.rssMiB, 1)).join(', ')} MiB`)
  }
  console.log(`\n${table(rows)}\n`)

  // "120 MB" read as MiB (what top and ps print) and, stricter, as 10^6 bytes: both are shown.
  const targets = [['target', 'variant', 'goal', 'median', 'verdict', 'worst run', 'verdict']]
  for (const name of storehooks) {
    const s = all[name]
    const rssRow = (goal: string, limitMiB: number) =>
      ['idle RSS', name, goal, `${fmt(s.rss.median)} MiB`, verdict(s.rss.median <= limitMiB), `${fmt(s.rss.max)} MiB`, verdict(s.rss.max <= limitMiB)]
    targets.push(
      rssRow('≤ 120 MiB', 120),
      rssRow('≤ 120 MB = 114.4 MiB', (120 * 1e6) / 2 ** 20),
      ['start-to-ready (/healthz 200)', name, '≤ 500 ms', `${fmt(s.ready.median, 0)} ms`, verdict(s.ready.median <= 500), `${fmt(s.ready.max, 0)} ms`, verdict(s.ready.max <= 500)],
    )
  }
  console.log(table(targets))
} catch (error) {
  console.error(error)
  exitCode = 1
} finally {
  rmSync(tmp, { recursive: true, force: true })
}

/** The package as npm installs it: bin, package.json and `dist/` (no sources), sharing our node_modules. */
function buildPackage(): string {
  const dir = join(tmp, 'package')
  mkdirSync(join(dir, 'bin'), { recursive: true })
  copyFileSync(join(root, 'bin', 'storehook.js'), join(dir, 'bin', 'storehook.js'))
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'))
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], { stdio: 'inherit' })
  return dir
}
process.exitCode = exitCode
