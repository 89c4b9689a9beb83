/**
 * @module
 * The `ctx` an action's handler gets on each attempt (see {@link ActionContext}).
 *
 * Why a class: its logger is made on first use (a pino child costs about 10 µs and most runs
 * never log), and the obvious way to write that, an object literal with a `get logger()` closure,
 * kept each attempt's closures, event and payload alive through V8's young-generation GCs once the
 * worker was optimized. Measured on Node 24: 20 000 such objects, dropped at once, each reaching a
 * 1 KB payload, left 19.4 MB in the old generation after two scavenges; without the getter, or as a
 * class, 0.0 MB. Under load every scavenge then copied megabytes and paused the process 10–50 ms
 * (docs/benchmarks.md). A getter on a prototype does not do this.
 * `ExternalHandlerContext` (external/load.ts) is the same for external resource handlers.
 */
import type { Logger } from 'pino'
import type { Run } from '../core/types.ts'
import type { Fingerprint, Store } from '../store/store.ts'
import { idempotencyKey, type ActionContext, type Connections } from './action.ts'
import { makeLoopGuard, type LoopGuard } from './loop-guard.ts'
import { makeSchedule, type ScheduleFunction } from './schedule.ts'
import { makeStep, type StepFunction } from './steps.ts'
import type { LoadedAction } from './subscriptions.ts'

export interface AttemptContextOptions {
  store: Store
  actions: LoadedAction[]
  connections: Connections
  action: LoadedAction
  run: Run
  signal: AbortSignal
  /** Makes the action's logger; called on the first read of `ctx.logger` only. */
  logger: () => Logger
  /** Filled by `loopGuard.remember`, kept by the worker if the attempt succeeds. */
  remembered: Fingerprint[]
  /** Wakes the worker (a scheduled follow-up may be due at once). */
  wake: () => void
}

/**
 * @example
 * const ctx = new AttemptContext({ store, actions, connections, action, run, signal, logger: () => child, remembered: [], wake })
 * await action.handler(event, ctx)
 */
export class AttemptContext implements ActionContext {
  readonly connections: Connections
  readonly signal: AbortSignal
  readonly attempt: number
  readonly maxAttempts: number
  readonly runId: number
  readonly idempotencyKey: string
  readonly loopGuard: LoopGuard
  readonly schedule: ScheduleFunction
  readonly step: StepFunction
  readonly #logger: () => Logger

  constructor({ store, actions, connections, action, run, signal, logger, remembered, wake }: AttemptContextOptions) {
    this.connections = connections
    this.signal = signal
    this.attempt = run.attempts
    this.maxAttempts = run.maxAttempts
    this.runId = run.id
    this.idempotencyKey = idempotencyKey(action.name, run.source, run.eventId)
    this.loopGuard = makeLoopGuard(store, remembered)
    this.schedule = makeSchedule({ store, actions, logger, run, wake })
    this.step = makeStep({ store, runId: run.id, attempt: run.attempts, logger })
    this.#logger = logger
  }

  get logger(): Logger {
    return this.#logger()
  }
}
