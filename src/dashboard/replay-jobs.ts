/**
 * @module
 * Bulk replays as jobs that report progress. `store.replayDeadRuns` replays every dead run matching
 * a filter in one transaction; thousands at once would hold the store (and every ingest behind it)
 * for that long. So a job lists the matching dead runs first, cuts their creation times into
 * windows of {@link BATCH_SIZE} runs, and replays window by window: the windows cover the filter's
 * whole time range with no gap, and the store skips a dead run that already has a replay, so each
 * run is replayed once even if another replay of the same filter runs meanwhile.
 *
 * Jobs live in this process's memory (the page that started one polls it here), and are forgotten
 * an hour after they end.
 */
import { randomBytes } from 'node:crypto'
import { setImmediate } from 'node:timers/promises'
import type { Runtime } from '../runtime/runtime.ts'
import { MAX_PAGE_SIZE, type RunFilter } from '../store/store.ts'

export const BATCH_SIZE = 100
/** Counting stops here: a confirmation says "at least" beyond it, and a job replays in further passes. */
export const COUNT_LIMIT = 100_000
const KEEP_MS = 60 * 60 * 1000

export type ReplayFilter = Omit<RunFilter, 'state' | 'beforeId' | 'limit'>

export interface ReplayJob {
  id: string
  filter: ReplayFilter
  state: 'listing' | 'replaying' | 'done' | 'failed'
  /** Dead runs matching the filter when the job listed them. */
  total: number
  /** Of those, how many the batches done so far covered. */
  done: number
  /** New runs created (fewer than `done` when some had been replayed already). */
  replayed: number
  error: string | null
  startedAt: number
  endedAt: number | null
}

/**
 * Creation times (epoch ms, ascending) of the dead runs matching `filter`, at most `limit` of them.
 *
 * @example
 * (await deadRunTimes(runtime, { action: 'forward' })).length // how many dead runs of `forward`
 */
export async function deadRunTimes(runtime: Runtime, filter: ReplayFilter, limit = COUNT_LIMIT): Promise<number[]> {
  const times: number[] = []
  let beforeId: number | undefined
  for (;;) {
    const page = await runtime.store.listRuns({ ...filter, state: 'dead', limit: MAX_PAGE_SIZE, ...(beforeId === undefined ? {} : { beforeId }) })
    for (const run of page) times.push(run.createdAt)
    if (page.length < MAX_PAGE_SIZE || times.length >= limit) break
    beforeId = page.at(-1)!.id
  }
  return times.slice(0, limit).sort((a, b) => a - b)
}

/**
 * Windows of creation time, each holding about `size` of the listed runs, together covering the
 * filter's range from `since` to `until` (either open) without a gap.
 */
export function timeWindows(times: number[], size: number, since: number | undefined, until: number | undefined): { since?: number; until?: number; count: number }[] {
  const bounds: number[] = []
  for (let i = size; i < times.length; i += size) if (times[i]! > (bounds.at(-1) ?? times[0]!)) bounds.push(times[i]!)
  const counts = bounds.map(() => 0).concat(0)
  let window = 0
  for (const time of times) {
    while (window < bounds.length && time >= bounds[window]!) window++
    counts[window] = (counts[window] ?? 0) + 1
  }
  return counts.map((count, i) => {
    const start = i === 0 ? since : bounds[i - 1]
    const end = i < bounds.length ? bounds[i] : until
    return { ...(start === undefined ? {} : { since: start }), ...(end === undefined ? {} : { until: end }), count }
  })
}

export class ReplayJobs {
  readonly #jobs = new Map<string, ReplayJob>()
  readonly #runtime: Runtime

  constructor(runtime: Runtime) {
    this.#runtime = runtime
  }

  get(id: string): ReplayJob | undefined {
    return this.#jobs.get(id)
  }

  /**
   * Starts replaying every dead run matching `filter`; returns at once with the job to poll.
   *
   * @example
   * const job = jobs.start({ source: 'shop', type: 'order.created' })
   * // later: jobs.get(job.id)!.state === 'done'
   */
  start(filter: ReplayFilter): ReplayJob {
    this.#forgetOld()
    const job: ReplayJob = { id: randomBytes(12).toString('base64url'), filter, state: 'listing', total: 0, done: 0, replayed: 0, error: null, startedAt: Date.now(), endedAt: null }
    this.#jobs.set(job.id, job)
    void this.#run(job).catch((error: unknown) => {
      job.state = 'failed'
      job.error = (error as Error).message
      job.endedAt = Date.now()
      this.#runtime.logger.error({ err: error, filter }, 'dashboard: a bulk replay failed part way; the runs replayed so far stay replayed')
    })
    return job
  }

  async #run(job: ReplayJob): Promise<void> {
    const { store, worker, logger } = this.#runtime
    const times = await deadRunTimes(this.#runtime, job.filter, Number.MAX_SAFE_INTEGER)
    job.total = times.length
    job.state = 'replaying'
    for (const window of timeWindows(times, BATCH_SIZE, job.filter.since, job.filter.until)) {
      const { count, ...range } = window
      const runs = await store.replayDeadRuns({ ...job.filter, ...range })
      job.done += count
      job.replayed += runs.length
      if (runs.length > 0) worker.wake()
      await setImmediate() // let requests (ingests, the progress poll) in between batches
    }
    job.done = job.total
    job.state = 'done'
    job.endedAt = Date.now()
    logger.info({ filter: job.filter, dead: job.total, replayed: job.replayed }, 'dashboard: bulk replay done')
  }

  #forgetOld(): void {
    const now = Date.now()
    for (const [id, job] of this.#jobs) if (job.endedAt !== null && now - job.endedAt > KEEP_MS) this.#jobs.delete(id)
  }
}
