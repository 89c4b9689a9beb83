/**
 * @module
 * Writes records off the path that produced them: `push` only appends to a queue; a timer writes
 * the queue in batches, one write at a time. If the store falls behind, the queue is capped and
 * the oldest records are dropped (and counted): the work that produced a record is never held up,
 * and memory never grows without bound, for the sake of a record. External resource calls, run
 * log lines and runs' outbound calls are all recorded this way.
 */
import type { Logger } from 'pino'

export interface BatchWriterOptions {
  /** How long a record may wait for company before its batch is written (default 100 ms). */
  flushIntervalMs?: number
  /** Most records per write (default 500). */
  maxBatch?: number
  /** Most records waiting; beyond it the oldest are dropped (default 10 000). */
  maxQueue?: number
  /** Called with the number of records dropped (queue full, or a failed write), for metrics. */
  onDropped?: (count: number) => void
}

export class BatchWriter<T> {
  readonly #write: (batch: T[]) => Promise<void>
  readonly #logger: Logger
  /** What the records are, for the log line of a failed write: `run log lines`. */
  readonly #what: string
  readonly #flushIntervalMs: number
  readonly #maxBatch: number
  readonly #maxQueue: number
  readonly #onDropped: (count: number) => void
  #queue: T[] = []
  #timer: NodeJS.Timeout | undefined
  #writing: Promise<void> | null = null
  /** Dropped from a full queue since the last warning. */
  #overflow = 0

  /**
   * @param write stores one batch; a rejection loses that batch (logged and counted), not the writer
   * @example
   * const lines = new BatchWriter((batch) => store.recordRunLogs!(batch), logger, 'run log lines')
   * lines.push(line)
   * await lines.close() // before the store closes
   */
  constructor(write: (batch: T[]) => Promise<void>, logger: Logger, what: string, options: BatchWriterOptions = {}) {
    this.#write = write
    this.#logger = logger
    this.#what = what
    this.#flushIntervalMs = options.flushIntervalMs ?? 100
    this.#maxBatch = options.maxBatch ?? 500
    this.#maxQueue = options.maxQueue ?? 10_000
    this.#onDropped = options.onDropped ?? (() => {})
  }

  /** Queues a record; returns at once. */
  push(record: T): void {
    this.#queue.push(record)
    if (this.#queue.length > this.#maxQueue) {
      const dropped = this.#queue.length - this.#maxQueue
      this.#queue.splice(0, dropped)
      this.#overflow += dropped
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
      else this.#flush()
    }
  }

  #schedule(): void {
    if (this.#timer || this.#writing) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#flush()
    }, this.#flushIntervalMs)
    // A pending record must not keep a stopping process alive; close() writes it.
    this.#timer.unref()
  }

  #flush(): void {
    if (this.#writing || this.#queue.length === 0) return
    if (this.#overflow > 0) {
      this.#logger.warn({ records: this.#overflow }, `dropped ${this.#overflow} ${this.#what}: the store fell behind`)
      this.#overflow = 0
    }
    const batch = this.#queue.splice(0, this.#maxBatch)
    this.#writing = Promise.resolve()
      .then(() => this.#write(batch))
      .catch((error: unknown) => {
        this.#onDropped(batch.length)
        this.#logger.error({ err: error, records: batch.length }, `could not record ${this.#what}; they are lost (nothing else is)`)
      })
      .finally(() => {
        this.#writing = null
        // A full batch waiting goes at once: waiting the interval again would cap the rate at one
        // batch per interval, and a busy run log would then drop lines.
        if (this.#queue.length >= this.#maxBatch) this.#flush()
        else if (this.#queue.length > 0) this.#schedule()
      })
  }
}
