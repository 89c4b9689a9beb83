/**
 * @module
 * The retention pass inside the runtime: at start and then every `retention.intervalMs`, it asks
 * the store to remove what is past the project's retention (`store/retention.ts` has the rules), a
 * small batch per call, logs what went and counts it in `storehook_retention_removed_total`.
 *
 * With several processes on one PostgreSQL store each runs its passes; the store lets one work at a
 * time and tells the others they are `busy`, so they end their pass and try again next interval.
 */
import type { Logger } from 'pino'
import { Counter, Gauge, type Registry } from 'prom-client'
import { z } from 'zod'
import { noneRemoved, RETENTION_COUNTS, type RetentionCounts, type RetentionCursor, type RetentionPolicy } from '../store/retention.ts'
import type { Store } from '../store/store.ts'
import { MAX_TIMER_MS } from './subscriptions.ts'

export interface RetentionSettings extends RetentionPolicy {
  /** How often a pass runs, in ms (the first runs at start). */
  intervalMs: number
  /** Rows one store call examines at most. */
  batchSize: number
}

export const DEFAULT_RETENTION: RetentionSettings = {
  payloadsDays: 30,
  metadataDays: 90,
  externalCallsDays: 30,
  intervalMs: 3_600_000,
  batchSize: 500,
}

/** Days to keep; `null` or `0` keeps for ever. */
const days = z.number().nonnegative().nullable().transform((value) => (value === 0 ? null : value))

/** The `retention` block of a project's settings, validated by the project loader. */
export const retentionSettingsSchema = z
  .object({
    payloadsDays: days.default(DEFAULT_RETENTION.payloadsDays),
    metadataDays: days.default(DEFAULT_RETENTION.metadataDays),
    externalCallsDays: days.default(DEFAULT_RETENTION.externalCallsDays),
    intervalMs: z.number().int().min(1000).max(MAX_TIMER_MS).default(DEFAULT_RETENTION.intervalMs),
    batchSize: z.number().int().positive().max(10_000).default(DEFAULT_RETENTION.batchSize),
  })
  .strict()
  .refine((r) => r.metadataDays === null || r.payloadsDays === null || r.payloadsDays <= r.metadataDays, {
    message: 'must be at least payloadsDays: an event and its runs are kept at least as long as its payload',
    path: ['metadataDays'],
  })
  .default(DEFAULT_RETENTION)

/** Metric labels: `event_payloads`, `runs`, … */
const label = (kind: string) => kind.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

export class RetentionPass {
  readonly #store: Store
  readonly #settings: RetentionSettings
  readonly #logger: Logger
  readonly #removedTotal: Counter
  readonly #lastPass: Gauge
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> | undefined
  #stopped = false

  /**
   * @example
   * const retention = new RetentionPass({ store, settings: project.settings.retention, logger, registry: metrics.registry })
   * retention.start() // … await retention.stop()
   */
  constructor(options: { store: Store; settings: RetentionSettings; logger: Logger; registry: Registry }) {
    this.#store = options.store
    this.#settings = options.settings
    this.#logger = options.logger
    this.#removedTotal = new Counter({
      name: 'storehook_retention_removed_total',
      help: 'Records removed by retention, by kind: event_payloads and activation_payloads emptied, the others deleted.',
      labelNames: ['record'],
      registers: [options.registry],
    })
    this.#lastPass = new Gauge({
      name: 'storehook_retention_last_pass_timestamp_seconds',
      help: 'When this process last completed a retention pass (0: not yet); alert when it falls behind.',
      registers: [options.registry],
    })
    this.#lastPass.set(0)
  }

  /** Runs a pass now, then one every `intervalMs`. */
  start(): void {
    this.#stopped = false
    this.#schedule(0)
  }

  /** Stops scheduling passes and waits for the store call in flight (a pass cut short is finished by the next). */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }

  /**
   * One whole pass measured from `now`. Resolves with what it removed, or null when another
   * process was applying retention. Rejects when the store fails (the periodic pass logs it).
   *
   * @example
   * const removed = await retention.run() // { eventPayloads: 12, events: 3, … }
   */
  async run(now = Date.now()): Promise<RetentionCounts | null> {
    const removed = noneRemoved()
    const started = Date.now()
    let cursor: RetentionCursor | null | undefined
    do {
      const batch = await this.#store.applyRetention({ policy: this.#settings, now, batchSize: this.#settings.batchSize, ...(cursor ? { cursor } : {}) })
      for (const kind of RETENTION_COUNTS) {
        removed[kind] += batch.removed[kind]
        if (batch.removed[kind] > 0) this.#removedTotal.inc({ record: label(kind) }, batch.removed[kind])
      }
      if (batch.busy) {
        this.#logger.debug('retention: another process is applying retention; this pass ends')
        return null
      }
      cursor = batch.next
    } while (cursor && !this.#stopped)
    if (!cursor) this.#lastPass.set(Date.now() / 1000)
    const nonZero = Object.fromEntries(Object.entries(removed).filter(([, n]) => n > 0))
    const fields = { removed: nonZero, durationMs: Date.now() - started }
    if (Object.keys(nonZero).length > 0) this.#logger.info(fields, 'retention: removed records past their retention')
    else this.#logger.debug(fields, 'retention: nothing past its retention')
    return removed
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#running = this.run()
        .catch((error: unknown) => this.#logger.error({ err: error }, 'retention: the pass failed; the next one tries again'))
        .finally(() => {
          this.#running = undefined
          this.#schedule(this.#settings.intervalMs)
        })
    }, delayMs).unref()
  }
}
