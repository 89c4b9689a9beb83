/**
 * @module
 * `ctx.schedule`: an action asks for a follow-up run at a time or after a delay ("check the ERP's
 * order status in 10 minutes"). The follow-up is an ordinary event from the built-in source
 * `schedule`, stored with runs for the actions subscribed to its type, each not claimable before
 * its time: it is as durable as any inbound event, survives restarts, shows in the admin API, and
 * is retried, ordered and replayed like one.
 *
 * Its id is derived from the scheduling run and a key, and the store keeps one event per
 * (source, id): an attempt that schedules and then fails schedules nothing new when retried.
 */
import type { Logger } from 'pino'
import { PermanentError } from '../core/errors.ts'
import type { InboundEvent, Run } from '../core/types.ts'
import type { Store } from '../store/store.ts'
import { planRuns, subscribers, type LoadedAction } from './subscriptions.ts'

/** The built-in source of scheduled events; no configured source may take its name. */
export const SCHEDULE_SOURCE = 'schedule'

export interface ScheduleOptions {
  /** When the follow-up runs: a Date or epoch ms. A time already past means now. */
  at?: Date | number
  /** Or: this many ms from now. Give at most one of `at` and `delayMs`; neither means now. */
  delayMs?: number
  /**
   * Tells apart several follow-ups of one type scheduled by the same run (default: the type).
   * Scheduling the same key again from the same run (a retry of it) is a no-op.
   */
  key?: string
}

export interface ScheduledEvent {
  /** The scheduled event's id: `run-<scheduling run id>:<key>`. */
  id: string
  /**
   * Epoch ms from which the runs this call created may start; null for a duplicate, whose runs
   * keep the time the first call gave them.
   */
  runAt: number | null
  /** True when this run had already scheduled it (an earlier attempt): nothing new was stored. */
  duplicate: boolean
  /** How many runs it got (one per subscribed action); 0 for a duplicate. */
  runs: number
}

/**
 * Stores a follow-up event; see {@link ActionContext.schedule}.
 *
 * @example
 * await ctx.schedule('erp.check-order', { orderId }, { delayMs: 10 * 60_000 })
 */
export type ScheduleFunction = (type: string, payload?: unknown, options?: ScheduleOptions) => Promise<ScheduledEvent>

export interface ScheduleDeps {
  store: Store
  actions: LoadedAction[]
  /** The scheduling run's logger (made when first needed): problems computing an ordering key are logged there. */
  logger: () => Logger
  /** The scheduling run. */
  run: Pick<Run, 'id'>
  /** Lets the worker look for runs at once (a follow-up due now need not wait for the next poll). */
  wake(): void
  now?: () => number
}

/**
 * Makes a run's `ctx.schedule`. Misuse (a bad time, a type no action consumes) throws a
 * {@link PermanentError}: the project must change before a retry could succeed.
 *
 * @example
 * const schedule = makeSchedule({ store, actions, logger: () => logger, run, wake: () => worker.wake() })
 * await schedule('erp.check-order', { orderId: 42 }, { delayMs: 600_000 })
 */
export function makeSchedule(deps: ScheduleDeps): ScheduleFunction {
  return async (type, payload, options = {}) => {
    if (typeof type !== 'string' || type === '') throw new PermanentError('ctx.schedule(type, …): type must be a non-empty string')
    const key = options.key ?? type
    if (typeof key !== 'string' || key === '') throw new PermanentError('ctx.schedule: key must be a non-empty string')
    const now = (deps.now ?? Date.now)()
    const runAt = dueAt(options, now)
    const event: InboundEvent = { id: `run-${deps.run.id}:${key}`, type, payload: payload ?? null, headers: {} }
    const actions = subscribers(deps.actions, SCHEDULE_SOURCE, event)
    if (actions.length === 0) {
      // Stored, it would wait forever for an action that does not exist: say so while it can be fixed.
      throw new PermanentError(
        `ctx.schedule: no action consumes events of type "${type}" from the source "${SCHEDULE_SOURCE}"; ` +
          `add one, e.g. onEvent({ types: '${type}' }, …)`,
      )
    }
    const runs = planRuns(actions, SCHEDULE_SOURCE, event, deps.logger(), runAt)
    const [outcome] = await deps.store.ingest([{ source: SCHEDULE_SOURCE, event, runs }])
    // Due now, it is claimed at once; later, the worker sets its timer for it.
    deps.wake()
    const { duplicate, runIds } = outcome!
    return { id: event.id, runAt: duplicate ? null : runAt, duplicate, runs: runIds.length }
  }
}

function dueAt({ at, delayMs }: ScheduleOptions, now: number): number {
  if (at !== undefined && delayMs !== undefined) throw new PermanentError('ctx.schedule: give `at` or `delayMs`, not both')
  if (delayMs !== undefined) {
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new PermanentError(`ctx.schedule: delayMs must be a finite number of ms, 0 or more (got ${String(delayMs)})`)
    }
    return Math.ceil(now + delayMs)
  }
  if (at === undefined) return now
  const time = at instanceof Date ? at.getTime() : at
  // new Date(t) is valid only for |t| ≤ 8.64e15: beyond, a time cannot even be shown.
  if (typeof time !== 'number' || Number.isNaN(new Date(time).getTime())) {
    throw new PermanentError(`ctx.schedule: at must be a valid Date or epoch ms (got ${String(at)})`)
  }
  return Math.max(Math.ceil(time), now)
}
