/**
 * @module
 * Records external resource calls off the response path: `push` only appends to a queue; a timer
 * writes the queue to the store in batches, one write at a time. If the store falls behind, the
 * queue is capped and the oldest records are dropped (and counted): an answer is never held up,
 * and memory never grows without bound, for the sake of a record.
 */
import type { Logger } from 'pino'
import type { NewExternalCall, Store } from '../../store/store.ts'

export interface RecorderOptions {
  /** How long a record may wait for company before its batch is written (default 100 ms). */
  flushIntervalMs?: number
  /** Most records per store write (default 500). */
  maxBatch?: number
  /** Most records waiting; beyond it the oldest are dropped (default 10 000). */
  maxQueue?: number
  /** Called with the number of records dropped, for metrics. */
  onDropped?: (count: number) => void
}

export class ExternalCallRecorder {
  readonly #store: Store
  readonly #logger: Logger
  readonly #flushIntervalMs: number
  readonly #maxBatch: number
  readonly #maxQueue: number
  readonly #onDropped: (count: number) => void
  #queue: NewExternalCall[] = []
  #timer: NodeJS.Timeout | undefined
  #writing: Promise<void> | null = null

  constructor(store: Store, logger: Logger, options: RecorderOptions = {}) {
    this.#store = store
    this.#logger = logger
    this.#flushIntervalMs = options.flushIntervalMs ?? 100
    this.#maxBatch = options.maxBatch ?? 500
    this.#maxQueue = options.maxQueue ?? 10_000
    this.#onDropped = options.onDropped ?? (() => {})
  }

  /** Whether the store can keep records at all. */
  get enabled(): boolean {
    return typeof this.#store.recordExternalCalls === 'function'
  }

  /**
   * Queues a record; returns at once.
   *
   * @example
   * recorder.push({ resource: 'price', kind: 'commerce-layer/price', startedAt, durationMs, inputDigest, status: 200,
   *   outcome: 'answered', fallback: 'none', answer: body, error: null })
   */
  push(call: NewExternalCall): void {
    if (!this.enabled) return
    this.#queue.push(call)
    if (this.#queue.length > this.#maxQueue) {
      const dropped = this.#queue.length - this.#maxQueue
      this.#queue.splice(0, dropped)
      this.#onDropped(dropped)
    }
    this.#schedule()
  }

  /** Records waiting to be written. */
  get pending(): number {
    return this.#queue.length
  }

  /** Writes everything queued and waits for it (at shutdown, before the store closes). */
  async close(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    while (this.#writing || this.#queue.length > 0) {
      if (this.#writing) await this.#writing
      else this.#write()
    }
  }

  #schedule(): void {
    if (this.#timer || this.#writing) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#write()
    }, this.#flushIntervalMs)
    // A pending record must not keep a stopping process alive; close() writes it.
    this.#timer.unref()
  }

  #write(): void {
    if (this.#writing || this.#queue.length === 0) return
    const batch = this.#queue.splice(0, this.#maxBatch)
    this.#writing = Promise.resolve()
      .then(() => this.#store.recordExternalCalls!(batch))
      .catch((error: unknown) => {
        this.#onDropped(batch.length)
        this.#logger.error({ err: error, records: batch.length }, 'could not record external resource calls; they are lost (the answers were sent)')
      })
      .finally(() => {
        this.#writing = null
        if (this.#queue.length > 0) this.#schedule()
      })
  }
}
