/**
 * @module
 * The timekeeper: fires the ticks of every cron action. At each tick it stores an event from the
 * built-in source `cron` whose id names the action and the tick (`<action>@<tick ISO>`). The store
 * keeps one event per (source, id), so however many processes share the store (PostgreSQL), each
 * tick becomes exactly one run: every process fires it, one stores it, the others' are duplicates.
 *
 * Ticks are computed from the schedule (croner), never by adding intervals, so they do not drift;
 * a tick's id is its scheduled instant, not the moment a timer went off, so processes with
 * slightly different clocks or timer lateness still agree on it.
 *
 * Missed ticks: while no process runs, nothing fires, and by default nothing is replayed at start
 * (a per-minute job down for a day should not run 1440 times). With `catchUp`, a start fires the
 * most recent tick at or before now; if a process had already fired it, the store dedupes it.
 * Within a running process, ticks that passed while a tick was still being stored (a store that
 * was down for longer than the interval) are skipped, with a warning.
 */
import { Cron } from 'croner'
import type { Logger } from 'pino'
import type { CronSchedule } from './cron-action.ts'
import { MAX_TIMER_MS } from './subscriptions.ts'

/** The built-in source of cron ticks; no configured source may take its name. */
export const CRON_SOURCE = 'cron'

/** A cron action's schedule, under the action's name. */
export interface CronJob extends CronSchedule {
  action: string
}

/** Time for the timekeeper; tests inject one they can move by hand. */
export interface Clock {
  now(): number
  /** Calls `fire` after `ms` (at most MAX_TIMER_MS); returns what cancels it. Must not keep the process alive. */
  setTimer(fire: () => void, ms: number): () => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fire, ms) {
    const timer = setTimeout(fire, ms)
    timer.unref()
    return () => clearTimeout(timer)
  },
}

/** A failed tick is tried again after 1 s, 2 s, 4 s… (at most this), until the next tick is due. */
export const MAX_TICK_RETRY_MS = 30_000

export interface TimekeeperOptions {
  jobs: CronJob[]
  /** Stores the tick's event and its run; rejects if it could not (the tick is then tried again). */
  fire(job: CronJob, tick: Date): Promise<void>
  logger: Pick<Logger, 'warn' | 'error'>
  clock?: Clock
}

/**
 * Fires cron ticks while started. Each job's ticks are fired one after another (a tick is stored
 * before the next timer is set); jobs are independent of each other.
 *
 * @example
 * const keeper = new Timekeeper({ jobs: [{ action: 'sync', pattern: '*\/5 * * * *', catchUp: false }],
 *   fire: (job, tick) => ingestTick(job, tick), logger })
 * keeper.start()
 * await keeper.stop()
 */
export class Timekeeper {
  readonly #options: TimekeeperOptions
  readonly #clock: Clock
  readonly #cancels = new Map<string, () => void>()
  readonly #firing = new Set<Promise<void>>()
  #stopped = true

  constructor(options: TimekeeperOptions) {
    this.#options = options
    this.#clock = options.clock ?? systemClock
  }

  start(): void {
    if (!this.#stopped) return
    this.#stopped = false
    const now = this.#clock.now()
    for (const job of this.#options.jobs) {
      const cron = new Cron(job.pattern, { paused: true, ...(job.timezone !== undefined ? { timezone: job.timezone } : {}) })
      // croner counts a tick within the reference's second as before it: +1 ms includes a tick at exactly now.
      const missed = job.catchUp ? cron.previousRuns(1, new Date(now + 1))[0] : undefined
      if (missed) this.#fire(job, cron, missed, 0)
      else this.#arm(job, cron, cron.nextRun(new Date(now)))
    }
  }

  /** Fires no more ticks; resolves once the ticks being stored are. */
  async stop(): Promise<void> {
    this.#stopped = true
    for (const cancel of this.#cancels.values()) cancel()
    this.#cancels.clear()
    await Promise.allSettled([...this.#firing])
  }

  /** Waits for `tick` (in steps of at most MAX_TIMER_MS: a longer timer would fire at once), then fires it. */
  #arm(job: CronJob, cron: Cron, tick: Date | null, failures = 0): void {
    if (this.#stopped || tick === null) return // null: the pattern has no tick left (a bounded year field)
    const wait = tick.getTime() - this.#clock.now()
    if (wait > 0) {
      this.#cancels.set(job.action, this.#clock.setTimer(() => this.#arm(job, cron, tick, failures), Math.min(wait, MAX_TIMER_MS)))
      return
    }
    this.#fire(job, cron, tick, failures)
  }

  #fire(job: CronJob, cron: Cron, tick: Date, failures: number): void {
    this.#cancels.delete(job.action)
    if (this.#stopped) return
    const firing: Promise<void> = this.#options
      .fire(job, tick)
      .then(
        () => this.#after(job, cron, tick, null, failures),
        (error: unknown) => this.#after(job, cron, tick, error, failures),
      )
      .finally(() => this.#firing.delete(firing))
    this.#firing.add(firing)
  }

  #after(job: CronJob, cron: Cron, tick: Date, error: unknown, failures: number): void {
    if (this.#stopped) return
    const now = this.#clock.now()
    const next = cron.nextRun(new Date(Math.max(tick.getTime(), now)))
    const at = tick.toISOString()
    if (error !== null) {
      const retryMs = Math.min(1000 * 2 ** failures, MAX_TICK_RETRY_MS)
      if (next === null || now + retryMs < next.getTime()) {
        this.#options.logger.error({ err: error, action: job.action, tick: at, retryInMs: retryMs }, 'could not store a cron tick; trying again')
        this.#cancels.set(job.action, this.#clock.setTimer(() => this.#fire(job, cron, tick, failures + 1), retryMs))
        return
      }
      this.#options.logger.error({ err: error, action: job.action, tick: at }, 'could not store a cron tick before the next one was due; it is skipped')
    }
    const following = cron.nextRun(tick)
    if (next !== null && following !== null && following.getTime() < next.getTime()) {
      this.#options.logger.warn(
        { action: job.action, from: following.toISOString(), until: next.toISOString() },
        'cron ticks passed while the previous one was being stored; they are skipped',
      )
    }
    this.#arm(job, cron, next)
  }
}
