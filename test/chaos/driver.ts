/**
 * @module
 * The shared driver of the fault suite (`test/chaos/*.test.ts` at a small size, `bench/chaos.ts`
 * at a large one): a steady load of signed events, the counters every case reports, and the
 * plumbing a case needs without `node:test` (the bench script runs outside the test runner, so
 * nothing here calls `after()`: every case cleans up through its own {@link Cleanup}).
 *
 * The counters follow one rule: an event counts as acknowledged only when storehook answered 2xx;
 * it is lost when acknowledged and never accepted by the ERP; a duplicate *without key* is a second
 * accepted ERP delivery of one event under a different (or no) `Idempotency-Key`, which an ERP
 * could not drop. Duplicates under the same key are at-least-once at work, counted but allowed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ErpDelivery, ErpSimulator } from '../../src/testkit/erp-simulator.ts'
import { signStandardWebhook } from '../../src/sources/standard-webhooks/index.ts'

export const CHAOS_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
export const REPO_ROOT = new URL('../..', import.meta.url).pathname
const CLI = join(REPO_ROOT, 'bin', 'storehook.js')

/** What one case measured; every `mustBeZero` field is a broken promise when not 0. */
export interface CaseResult {
  name: string
  faults: number
  sent: number
  acknowledged: number
  /** Non-2xx answers by status, e.g. `{ 503: 12 }`. */
  rejected: Record<number, number>
  connectionErrors: number
  /** Runs that reached a final state, from the admin API (or, where noted, ERP requests). */
  runs: number
  /** Requests the ERP received, failed ones included. */
  erpRequests: number
  delivered: number
  duplicatesSameKey: number
  duplicatesWithoutKey: number
  lost: number
  /** 2xx answers given while the store could not make the event durable (must be 0). */
  ackedWhileNotDurable: number
  /** External-resource answers later than the platform's timeout (must be 0). */
  pastDeadline: number
  /** Processes that died without being killed by the case (must be 0). */
  unexpectedCrashes: number
  ms: number
  notes: string[]
}

export function emptyResult(name: string): CaseResult {
  return {
    name, faults: 0, sent: 0, acknowledged: 0, rejected: {}, connectionErrors: 0, runs: 0, erpRequests: 0, delivered: 0,
    duplicatesSameKey: 0, duplicatesWithoutKey: 0, lost: 0, ackedWhileNotDurable: 0, pastDeadline: 0, unexpectedCrashes: 0, ms: 0, notes: [],
  }
}

/** The fields of a {@link CaseResult} that must be 0. */
export const MUST_BE_ZERO = ['lost', 'duplicatesWithoutKey', 'ackedWhileNotDurable', 'pastDeadline', 'unexpectedCrashes'] as const

/** Teardown steps, run last-in first-out; failures are collected, not thrown half-way. */
export class Cleanup {
  #steps: (() => unknown)[] = []
  add(step: () => unknown): void {
    this.#steps.push(step)
  }
  async run(): Promise<void> {
    while (this.#steps.length) await Promise.resolve().then(this.#steps.pop()!).catch(() => undefined)
  }
}

/** A temp project directory with `files` (path → content), removed by `cleanup`. */
export function tempProject(cleanup: Cleanup, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'storehook-chaos-'))
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }))
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}

/**
 * A project with one Standard Webhooks source `webhooks` and one action forwarding each event to
 * the ERP as `{ id, ...data }` under `Idempotency-Key: <event id>`, retried quickly and for long
 * enough that no run goes dead during a case.
 */
export function forwardProject(cleanup: Cleanup, erpUrl: string, options: { erpTimeoutMs?: number; extraConfig?: string } = {}): string {
  return tempProject(cleanup, {
    'storehook.config.ts': `import { defineConfig } from 'storehook'
export default defineConfig({
  sources: { webhooks: { kind: 'standard-webhooks', secrets: ['${CHAOS_SECRET}'] } },
  connections: { erp: { kind: 'http', baseUrl: '${erpUrl}/orders', timeoutMs: ${options.erpTimeoutMs ?? 1500} } },
  worker: { pollIntervalMs: 100, leaseMarginMs: 500, shutdownGraceMs: 1000 },
  ${options.extraConfig ?? ''}
})
`,
    'actions/forward.ts': `import { onEvent, type HttpClient } from 'storehook'
export default onEvent({ types: '*', timeoutMs: ${(options.erpTimeoutMs ?? 1500) + 1000}, retry: { maxAttempts: 1000, baseDelayMs: 100, maxDelayMs: 500 } },
  async (event, { connections, signal }) => {
    const erp: HttpClient = connections.erp
    await erp.post('', { json: { id: event.id, ...event.payload.data }, idempotencyKey: event.id, signal })
  })
`,
  })
}

/** A Standard Webhooks request for `POST /events/webhooks`. */
export function signedEvent(n: number) {
  const id = `msg_${process.pid}_${Date.now().toString(36)}_${n}`
  const ts = Math.floor(Date.now() / 1000)
  const body = new TextEncoder().encode(JSON.stringify({ type: 'order.created', data: { order: n, sku: 'MJ01', qty: n % 7 } }))
  const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signStandardWebhook(CHAOS_SECRET, id, ts, body) }
  return { id, body, headers }
}

/**
 * Senders posting signed events to whichever URL `target()` names (none while it is null),
 * remembering which were acknowledged. `gapMs` paces each sender.
 */
export class Load {
  readonly acknowledged = new Set<string>()
  readonly rejected: Record<number, number> = {}
  sent = 0
  connectionErrors = 0
  /** Set by the case while the store cannot make events durable; 2xx then are counted. */
  notDurable = false
  ackedWhileNotDurable = 0
  #stop = false
  #senders: Promise<void>[] = []
  #counter = 0

  readonly target: () => string | null
  readonly options: { senders: number; gapMs?: number; limit?: number }

  constructor(target: () => string | null, options: { senders: number; gapMs?: number; limit?: number }) {
    this.target = target
    this.options = options
  }

  start(): this {
    for (let i = 0; i < this.options.senders; i++) this.#senders.push(this.#send())
    return this
  }

  async stop(): Promise<void> {
    this.#stop = true
    await Promise.allSettled(this.#senders)
  }

  /** Resolves once the load has sent `limit` events (or was stopped). */
  async done(): Promise<void> {
    await Promise.allSettled(this.#senders)
  }

  async #send(): Promise<void> {
    while (!this.#stop && (this.options.limit === undefined || this.#counter < this.options.limit)) {
      const url = this.target()
      if (!url) {
        await sleep(10)
        continue
      }
      const request = signedEvent(++this.#counter)
      this.sent += 1
      const notDurableAtStart = this.notDurable
      try {
        const response = await fetch(`${url}/events/webhooks`, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(10_000) })
        await response.arrayBuffer().catch(() => undefined)
        if (response.ok) {
          this.acknowledged.add(request.id)
          if (notDurableAtStart && this.notDurable) this.ackedWhileNotDurable += 1
        } else this.rejected[response.status] = (this.rejected[response.status] ?? 0) + 1
      } catch {
        this.connectionErrors += 1
        await sleep(10)
      }
      if (this.options.gapMs) await sleep(this.options.gapMs)
    }
  }
}

/**
 * Accepted ERP deliveries by event id (read from the body's `id`, or by `keyOf`). A delivery whose
 * body is not JSON is `unreadable`: what the action sends always is, so one is a fault to look at.
 */
export function tally(erp: ErpSimulator, acknowledged: Iterable<string>, keyOf: (body: any) => string = (b) => b.id) {
  const firstKey = new Map<string, string | undefined>()
  let duplicatesSameKey = 0
  let duplicatesWithoutKey = 0
  const unreadable: ErpDelivery[] = []
  for (const d of erp.accepted()) {
    let body: unknown
    try {
      body = JSON.parse(d.body)
    } catch {
      unreadable.push(d)
      continue
    }
    const id = keyOf(body)
    if (!firstKey.has(id)) firstKey.set(id, d.idempotencyKey)
    else if (d.idempotencyKey !== undefined && d.idempotencyKey === firstKey.get(id)) duplicatesSameKey += 1
    else duplicatesWithoutKey += 1
  }
  const missing = [...acknowledged].filter((id) => !firstKey.has(id))
  return { delivered: firstKey.size, duplicatesSameKey, duplicatesWithoutKey, missing, unreadable }
}

/** Polls until every acknowledged event reached the ERP, or `timeoutMs`; returns the final tally. */
export async function awaitDelivery(erp: ErpSimulator, acknowledged: Iterable<string>, timeoutMs: number, keyOf?: (body: any) => string) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const result = tally(erp, acknowledged, keyOf)
    if (result.missing.length === 0 || Date.now() > deadline) return result
    await sleep(100)
  }
}

/** Runs in a final state (`succeeded` or `dead`) and still open, from the admin API. */
export async function runStates(url: string): Promise<Record<string, number>> {
  const states: Record<string, number> = {}
  for (const state of ['pending', 'running', 'retrying', 'succeeded', 'dead']) {
    let before: number | undefined
    let n = 0
    for (;;) {
      const page = await fetch(`${url}/admin/api/runs?state=${state}&limit=1000${before === undefined ? '' : `&before=${before}`}`, { signal: AbortSignal.timeout(10_000) })
      const { runs } = (await page.json()) as { runs: { id: number }[] }
      n += runs.length
      if (runs.length < 1000) break
      before = runs.at(-1)!.id
    }
    states[state] = n
  }
  return states
}

/** Copies the tally and the load's counters into `result`. */
export function record(result: CaseResult, load: Load, t: ReturnType<typeof tally>, erp: ErpSimulator): CaseResult {
  Object.assign(result, {
    sent: load.sent,
    acknowledged: load.acknowledged.size,
    rejected: { ...load.rejected },
    connectionErrors: load.connectionErrors,
    ackedWhileNotDurable: load.ackedWhileNotDurable,
    erpRequests: erp.deliveries.length,
    delivered: t.delivered,
    duplicatesSameKey: t.duplicatesSameKey,
    duplicatesWithoutKey: t.duplicatesWithoutKey,
    lost: t.missing.length,
  })
  if (t.missing.length) result.notes.push(`lost, e.g. ${t.missing.slice(0, 3).join(', ')}`)
  return result
}

/**
 * An HTTP forwarder in front of the ERP that can hold each request for `delayMs` before passing it
 * on: an ERP slower than the connection's timeout, which still processes what it gets late.
 */
export async function startSlowProxy(cleanup: Cleanup, targetUrl: string) {
  const target = new URL(targetUrl)
  const state = { delayMs: 0 }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      if (state.delayMs) await sleep(state.delayMs)
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      })
      upstream.on('error', () => res.destroy())
      upstream.end(Buffer.concat(chunks))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanup.add(() => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(resolve))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state }
}

export interface ChildStorehook {
  url: string
  child: ChildProcess
  output: string[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Set when the process exited. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | null
}

/**
 * `storehook start` as a child process (the CLI exactly as users run it), killed by `cleanup`.
 * Resolves once it prints its URL; rejects with its output if it exits or is not ready in time.
 */
export async function startChild(cleanup: Cleanup, options: { project: string; db: string; uid?: number; gid?: number; readyTimeoutMs?: number }): Promise<ChildStorehook> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' }
  for (const name of ['NODE_TEST_CONTEXT', 'NODE_OPTIONS', 'STOREHOOK_ADMIN_TOKEN', 'STOREHOOK_DB', 'STOREHOOK_HOST', 'PORT']) delete env[name]
  const child = spawn(process.execPath, [CLI, 'start', '--project', options.project, '--port', '0', '--db', options.db], {
    cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
  })
  const output: string[] = []
  const keep = (line: string) => (output.push(line), output.length > 200 && output.shift())
  const proc: ChildStorehook = { url: '', child, output, exit: null, exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve((proc.exit = { code, signal })))) }
  cleanup.add(() => proc.exit || (child.kill('SIGKILL'), proc.exited))
  createInterface({ input: child.stderr! }).on('line', (line) => keep(`[stderr] ${line}`))
  proc.url = await new Promise<string>((resolve, reject) => {
    const timeoutMs = options.readyTimeoutMs ?? 20_000
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`storehook was not ready within ${timeoutMs} ms:\n${output.join('\n')}`))), timeoutMs)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line)
      const match = /^storehook listening on (http:\/\/\S+)/.exec(line)
      if (match) (clearTimeout(timer), resolve(match[1]!))
    })
    void proc.exited.then((e) => (clearTimeout(timer), setTimeout(() => reject(new Error(`storehook exited (${e.code ?? e.signal}) before it was ready:\n${output.join('\n')}`)), 50)))
  })
  return proc
}

/** SIGKILLs a child and waits for it to be gone. */
export async function kill9(proc: ChildStorehook): Promise<void> {
  if (!proc.exit) proc.child.kill('SIGKILL')
  await proc.exited
}

/** A seeded PRNG (mulberry32), so a failing run's fault timing can be replayed with its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Milliseconds from `CHAOS_SCALE` (default 1): cases stretch their fault windows by it. */
export function scaled(ms: number, scale = Number(process.env.CHAOS_SCALE ?? 1)): number {
  return Math.round(ms * (Number.isFinite(scale) && scale > 0 ? scale : 1))
}
