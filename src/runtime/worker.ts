/**
 * @module
 * The worker: claims due runs, executes their actions, records each attempt, and schedules the
 * next one. Claiming happens when something wakes it (an ingest, a finished run, a replay) and
 * otherwise when the store says the next run falls due, at most `pollIntervalMs` apart so that
 * runs written by other processes are found too.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { context, ROOT_CONTEXT, type Context } from '@opentelemetry/api'
import type { Logger } from 'pino'
import { coerceError, TargetPausedError } from '../core/errors.ts'
import { classifyFailure } from '../core/outcome.ts'
import { retryDelay } from '../core/retry.ts'
import type { Run } from '../core/types.ts'
import type { AttemptEnd, ClaimedRun, Fingerprint, IngestClaim, Store } from '../store/store.ts'
import type { Connections } from './action.ts'
import { AttemptContext } from './attempt-context.ts'
import type { Metrics } from './metrics.ts'
import { captureConsole } from './run-console.ts'
import type { RunLogLimits } from './run-log.ts'
import { attemptLogger } from './run-logger.ts'
import { RunRecorder } from './run-records.ts'
import { runInScope } from './run-scope.ts'
import { staleReason } from './stale-guard.ts'
import type { LoadedAction } from './subscriptions.ts'
import { endSpan, startAttemptSpan, withSpan } from './tracing.ts'

export interface WorkerOptions {
  store: Store
  actions: LoadedAction[]
  connections: Connections
  logger: Logger
  metrics: Metrics
  /** Runs executing at once in this process, over all actions. */
  concurrency: number
  pollIntervalMs: number
  /** A lease outlives the attempt's timeout by this much, so a live worker never loses its run. */
  leaseMarginMs: number
  workerId?: string
  /** Caps on what each attempt's log keeps (see run-log.ts); unset fields keep the defaults. */
  runLogs?: Partial<RunLogLimits>
  /** For tests: the jitter source. */
  random?: () => number
}

/** Raised into an attempt's signal when it runs past its action's `timeoutMs`. */
export class AttemptTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`the attempt did not finish within its timeout of ${timeoutMs} ms`)
    this.name = 'AttemptTimeoutError'
  }
}

/**
 * The longest a target's `Retry-After` may postpone a retry. Longer asks are bogus: a valid
 * `Retry-After: 9000000000000` would put the retry past the largest time a Date can hold.
 */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000

interface Execution {
  action: string
  controller: AbortController
  released: boolean
  /** Gives the run's slot back (once): when its handler has ended, before its outcome is recorded. */
  free: () => void
  /** How the attempt ended, once known (unset when it was released at shutdown, or a bug of ours ended it first). */
  end?: AttemptEnd
}

export class Worker {
  readonly id: string
  readonly #options: WorkerOptions
  readonly #executions = new Map<number, Execution>()
  /** Every attempt until its outcome is recorded (or given up), slot freed or not: what stop() waits for. */
  readonly #recording = new Set<Promise<void>>()
  readonly #perAction = new Map<string, number>()
  /** Slots promised to ingests in flight (see {@link Worker.reserve}), counted as busy. */
  readonly #reserved = new Map<string, number>()
  #reservedTotal = 0
  #ticking: Promise<void> | null = null
  #wokenWhileTicking = false
  /**
   * Whether a claim might find something: false only after a claim round in which every action
   * got fewer runs than it had room for, with nothing said since. A run of ours finishing cleanly
   * changes nothing for the others, so it then costs no claim (two store requests that would find
   * nothing, per run, at any load the ingest's own claim keeps up with). Any other wake sets it.
   */
  #mayHaveDueRuns = true
  #timer: NodeJS.Timeout | null = null
  #stopped = true
  #contiguousErrors = 0
  #rotation = 0
  /** Each attempt's log lines and outbound calls, on their way to the store. */
  readonly #records: RunRecorder
  /** Stops adding console output to runs' logs (set while the worker runs). */
  #releaseConsole: (() => void) | null = null

  constructor(options: WorkerOptions) {
    this.#options = options
    this.id = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
    this.#records = new RunRecorder(options.store, options.logger, options.runLogs, { onDropped: (count) => options.metrics.runRecordsDropped.inc(count) })
  }

  get inFlight(): number {
    return this.#executions.size
  }

  start(): void {
    this.#stopped = false
    this.#releaseConsole ??= captureConsole()
    this.wake()
  }

  /** Look for due runs now (something was just ingested, scheduled, replayed or resumed). */
  wake(): void {
    this.#mayHaveDueRuns = true
    this.#tickNow()
  }

  /**
   * After one of our runs: its slot is free, or its outcome is recorded. Claims only when that can
   * make a run claimable: the last claim was short of room, the run holds an ordering key (its
   * successor waits for its outcome), or it will be retried (the next due time moves).
   */
  #wakeAfterRun(run: Run, end: AttemptEnd | undefined): void {
    const settled = end?.outcome === 'succeeded' || end?.outcome === 'dead' || end?.outcome === 'skipped'
    if (run.orderingKey !== null || !settled) this.#mayHaveDueRuns = true
    if (this.#mayHaveDueRuns) this.#tickNow()
  }

  #tickNow(): void {
    if (this.#stopped) return
    if (this.#ticking) {
      this.#wokenWhileTicking = true
      return
    }
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    this.#ticking = this.#tick().finally(() => {
      this.#ticking = null
      // Woken after the claim loop last looked (while the next tick was being scheduled): look again.
      if (this.#wokenWhileTicking) this.#tickNow()
    })
  }

  /**
   * Stops claiming, lets in-flight runs finish for up to `graceMs`, then aborts the rest and
   * gives them back to the store (their attempt does not count) for the next process to take.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    await this.#ticking
    let timer: NodeJS.Timeout | undefined
    const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))
    await Promise.race([Promise.allSettled([...this.#recording]), graceOver])
    clearTimeout(timer)
    const remaining = [...this.#executions.entries()]
    if (remaining.length > 0) {
      for (const [, execution] of remaining) {
        execution.released = true
        execution.controller.abort(new Error('storehook is shutting down'))
      }
      await this.#options.store.releaseRuns(this.id, remaining.map(([runId]) => runId))
      this.#options.logger.info({ runs: remaining.map(([runId]) => runId) }, 'released unfinished runs at shutdown')
    }
    await this.#recorded()
    this.#releaseConsole?.()
    this.#releaseConsole = null
    await this.#records.close()
  }

  /** Outcomes being recorded are in the store's queue before the store may close. */
  async #recorded(): Promise<void> {
    await Promise.allSettled([...this.#recording])
  }

  /**
   * Reserves room for the runs an ingest is about to create, so the store can start them in the
   * ingest transaction itself (see `IngestClaim`). Give the reservation back with
   * {@link Worker.adopt} once the ingest has answered, or {@link Worker.cancel} if it failed.
   */
  reserve(runs: { action: string }[]): IngestClaim | undefined {
    if (this.#stopped || runs.length === 0) return undefined
    const wanted = new Map<string, number>()
    for (const { action } of runs) wanted.set(action, (wanted.get(action) ?? 0) + 1)
    const slots: IngestClaim['slots'] = {}
    for (const [name, count] of wanted) {
      const action = this.#options.actions.find((a) => a.name === name)
      const limit = action ? Math.min(count, this.#freeSlots(action)) : 0
      if (limit <= 0) continue
      slots[name] = { limit, leaseMs: action!.timeoutMs + this.#options.leaseMarginMs }
      this.#reserved.set(name, (this.#reserved.get(name) ?? 0) + limit)
      this.#reservedTotal += limit
    }
    return Object.keys(slots).length ? { workerId: this.id, slots } : undefined
  }

  /** Runs what the store started for a reservation, and frees the rest of it. */
  adopt(reservation: IngestClaim | undefined, claimed: ClaimedRun[]): void {
    this.cancel(reservation)
    if (this.#stopped && claimed.length > 0) {
      // Started by an ingest that was in flight when shutdown began: give them back, unrun.
      const runIds = claimed.map((c) => c.run.id)
      this.#options.store
        .releaseRuns(this.id, runIds)
        .catch((error: unknown) => this.#options.logger.error({ err: error, runs: runIds }, 'could not release runs at shutdown; they run again when their lease expires'))
      return
    }
    // Started by the ingest request itself: their attempts are children of its span.
    const ingest = context.active()
    for (const started of claimed) {
      const action = this.#options.actions.find((a) => a.name === started.run.action)!
      this.#execute(action, started, ingest)
    }
  }

  cancel(reservation: IngestClaim | undefined): void {
    for (const [name, { limit }] of Object.entries(reservation?.slots ?? {})) {
      this.#reserved.set(name, this.#reserved.get(name)! - limit)
      this.#reservedTotal -= limit
    }
  }

  #freeSlots(action: LoadedAction): number {
    return Math.min(
      this.#options.concurrency - this.#executions.size - this.#reservedTotal,
      (action.concurrency ?? Infinity) - (this.#perAction.get(action.name) ?? 0) - (this.#reserved.get(action.name) ?? 0),
    )
  }

  async #tick(): Promise<void> {
    const { store, actions, concurrency, logger } = this.#options
    try {
      let claimedSome: boolean
      do {
        this.#wokenWhileTicking = false
        this.#mayHaveDueRuns = false
        claimedSome = false
        // Rotate the starting action so one busy action cannot starve the others.
        const start = this.#rotation++ % Math.max(actions.length, 1)
        for (const action of [...actions.slice(start), ...actions.slice(0, start)]) {
          const free = this.#freeSlots(action)
          if (this.#stopped) continue
          if (free <= 0) {
            this.#mayHaveDueRuns = true
            continue
          }
          const claimed = await store.claimRuns({
            workerId: this.id,
            action: action.name,
            limit: free,
            leaseMs: action.timeoutMs + this.#options.leaseMarginMs,
          })
          // Claimed apart from any request: each attempt starts a trace of its own.
          for (const run of claimed) this.#execute(action, run, ROOT_CONTEXT)
          claimedSome ||= claimed.length > 0
          if (claimed.length >= free) this.#mayHaveDueRuns = true
        }
      } while (!this.#stopped && ((claimedSome && this.#executions.size < concurrency) || this.#wokenWhileTicking))
      this.#contiguousErrors = 0
    } catch (error) {
      this.#mayHaveDueRuns = true
      this.#contiguousErrors += 1
      logger.error({ err: error }, `failed to claim runs (${this.#contiguousErrors} contiguous failures); retrying`)
    }
    await this.#scheduleNextTick()
  }

  async #scheduleNextTick(): Promise<void> {
    if (this.#stopped || this.#wokenWhileTicking) return
    const { store, actions, pollIntervalMs, concurrency } = this.#options
    let delay = pollIntervalMs
    // With every slot taken nothing can start before a run of ours ends, and that run's end
    // wakes the worker, which asks then: asking now is a store request whose answer cannot be used.
    const full = this.#executions.size + this.#reservedTotal >= concurrency
    if (full) this.#mayHaveDueRuns = true
    else if (this.#contiguousErrors === 0) {
      try {
        const next = await store.nextRunAt(actions.map((a) => a.name))
        // A due run that was not claimed is waiting for capacity or its ordering key: a
        // finishing run wakes the worker for it, so only poll.
        if (next !== null && next > Date.now()) delay = Math.min(next - Date.now(), pollIntervalMs)
      } catch {
        // The next tick reports it.
      }
    }
    if (this.#stopped || this.#wokenWhileTicking) return
    // The poll also finds what no wake announces: runs of other processes, expired leases.
    this.#timer = setTimeout(() => this.wake(), delay)
    this.#timer.unref()
  }

  /** @param parent the context the attempt's span is a child of */
  #execute(action: LoadedAction, claimed: ClaimedRun, parent: Context): void {
    let freed = false
    const execution: Execution = {
      action: action.name,
      controller: new AbortController(),
      released: false,
      // The slot is free once the handler has ended: waiting for the outcome's commit too would
      // cap runs/s at concurrency ÷ commit time. The run stays `running` in the store until that
      // commit, so its ordering key stays blocked; the wake-up after the commit finds the next.
      free: () => {
        if (freed) return
        freed = true
        this.#executions.delete(claimed.run.id)
        this.#perAction.set(action.name, (this.#perAction.get(action.name) ?? 1) - 1)
        this.#wakeAfterRun(claimed.run, execution.end)
      },
    }
    this.#executions.set(claimed.run.id, execution)
    this.#perAction.set(action.name, (this.#perAction.get(action.name) ?? 0) + 1)
    const done = this.#attempt(action, claimed, execution, parent)
      // #attempt handles what the action throws; this is for a bug of ours: the run's lease
      // expires and it is tried again, and the process lives on.
      .catch((error: unknown) =>
        this.#options.logger.error({ err: coerceError(error), runId: claimed.run.id }, 'internal error recording an attempt; the run will be retried when its lease expires'),
      )
      .finally(() => {
        execution.free()
        this.#recording.delete(done)
        this.#wakeAfterRun(claimed.run, execution.end)
      })
    this.#recording.add(done)
  }

  async #attempt(action: LoadedAction, { run, event }: ClaimedRun, execution: Execution, parent: Context): Promise<void> {
    const { store, logger: rootLogger, metrics, connections } = this.#options
    const bindings = { runId: run.id, action: action.name, eventId: event.id, attempt: run.attempts }
    // The worker's own lines about the attempt go to the process log only, with the bindings as
    // fields rather than through a child: a pino child costs about 10 µs (its bindings go through
    // redaction), which ingest at saturation felt. The action's logger is made on first use, as
    // most runs never log; its lines go to the run's log too.
    const log = (level: 'info' | 'warn' | 'error', fields: object, message: string) => rootLogger[level]({ ...bindings, ...fields }, message)
    const recording = this.#records.begin(run.id, run.attempts)
    let made: Logger | undefined
    const actionLogger = () => (made ??= attemptLogger(rootLogger, bindings, recording.log))
    const span = startAttemptSpan(run, event, parent)
    const { signal } = execution.controller
    const timeout = setTimeout(() => execution.controller.abort(new AttemptTimeoutError(action.timeoutMs)), action.timeoutMs)
    const started = performance.now()
    const remembered: Fingerprint[] = []
    const ctx = new AttemptContext({ store, actions: this.#options.actions, connections, action, run, signal, logger: actionLogger, remembered, wake: () => this.wake() })
    let end: AttemptEnd
    try {
      const version = action.version && run.orderingKey !== null ? action.version(event) : null
      const stale = version === null ? null : await staleReason(store, action.name, run.orderingKey!, version)
      if (stale) end = { outcome: 'skipped', reason: stale }
      else {
        await untilAborted(signal, () => runInScope(recording, () => withSpan(span, () => action.handler(event, ctx), parent)))
        end = {
          outcome: 'succeeded',
          ...(remembered.length ? { fingerprints: remembered } : {}),
          ...(version !== null ? { version: { action: action.name, orderingKey: run.orderingKey!, version } } : {}),
        }
      }
    } catch (thrown) {
      end = this.#failure(action, run, coerceError(thrown))
    } finally {
      clearTimeout(timeout)
      recording.end()
    }
    const outcome = execution.released ? 'interrupted' : end.outcome === 'failed' ? 'retrying' : end.outcome
    span.setAttribute('storehook.run.outcome', outcome)
    endSpan(span, end.outcome === 'failed' || end.outcome === 'dead' ? end.error : undefined)
    if (execution.released) return

    metrics.runsFinished.inc({ action: action.name, outcome })
    metrics.runDuration.observe({ action: action.name, outcome }, (performance.now() - started) / 1000)
    if (end.outcome === 'succeeded') log('info', {}, 'run succeeded')
    else if (end.outcome === 'skipped') log('info', { reason: end.reason }, 'run skipped: its event is stale')
    else if (end.outcome === 'paused') {
      log('warn', { connection: end.connection }, `run paused until connection "${end.connection}" recovers; the attempt does not count`)
    } else if (end.outcome === 'failed') {
      log('warn', { err: end.error, retryAt: new Date(end.retryAt).toISOString() }, `attempt ${run.attempts} of ${run.maxAttempts} failed; will retry`)
    } else {
      log('error', { err: end.error }, `run is dead after attempt ${run.attempts}: this is an issue in the action's code or its target; replay it once fixed`)
    }
    execution.end = end
    execution.free()
    try {
      const stillOurs = await store.finishAttempt({ runId: run.id, workerId: this.id, attempt: run.attempts, end })
      if (!stillOurs) log('warn', {}, 'the run was reclaimed by another worker before this attempt finished; its outcome is recorded on the attempt only')
    } catch (error) {
      // The lease will expire and the run will be tried again: at least once, never lost.
      log('error', { err: error }, 'failed to record the attempt; the run will be retried when its lease expires')
    }
  }

  #failure(action: LoadedAction, run: Run, error: Error): AttemptEnd {
    // Not the run's fault, nor worth a retry: it waits for the target's breaker to close.
    if (isTargetPaused(error)) return { outcome: 'paused', connection: error.connection, error }
    const failure = classifyFailure(error)
    if (!failure.retry) return { outcome: 'dead', error }
    const delay = retryDelay({ ...action.retry, maxAttempts: run.maxAttempts }, run.attempts, this.#options.random)
    if (delay === null) return { outcome: 'dead', error }
    const notBefore = Math.min(failure.notBeforeMs ?? 0, MAX_RETRY_AFTER_MS)
    return { outcome: 'failed', error, retryAt: Date.now() + Math.max(delay, notBefore) }
  }
}

/** Runs the handler, but stops waiting for it once the signal aborts (a hung handler cannot hold its run). */
function untilAborted(signal: AbortSignal, handler: () => unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    Promise.resolve()
      .then(handler)
      .then(resolve, reject)
      .finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** Also recognizes a TargetPausedError from another copy of storehook's modules (a project's own node_modules). */
function isTargetPaused(error: Error): error is TargetPausedError {
  return error instanceof TargetPausedError || (error.name === 'TargetPausedError' && typeof (error as TargetPausedError).connection === 'string')
}
