/**
 * @module
 * Records external resource calls off the response path, through a {@link BatchWriter}: `push`
 * only queues; batches are written one at a time; if the store falls behind, the oldest records
 * are dropped (and counted). An answer is never held up, and memory never grows without bound,
 * for the sake of a record.
 */
import type { Logger } from 'pino'
import type { NewExternalCall, Store } from '../../store/store.ts'
import { BatchWriter, type BatchWriterOptions } from '../batch-writer.ts'

export type RecorderOptions = BatchWriterOptions

export class ExternalCallRecorder {
  readonly #writer: BatchWriter<NewExternalCall> | null

  constructor(store: Store, logger: Logger, options: RecorderOptions = {}) {
    this.#writer = store.recordExternalCalls ? new BatchWriter((batch) => store.recordExternalCalls!(batch), logger, 'external resource calls', options) : null
  }

  /** Whether the store can keep records at all. */
  get enabled(): boolean {
    return this.#writer !== null
  }

  /**
   * Queues a record; returns at once.
   *
   * @example
   * recorder.push({ resource: 'price', kind: 'commerce-layer/price', startedAt, durationMs, inputDigest, status: 200,
   *   outcome: 'answered', fallback: 'none', answer: body, error: null })
   */
  push(call: NewExternalCall): void {
    this.#writer?.push(call)
  }

  /** Records waiting to be written. */
  get pending(): number {
    return this.#writer?.pending ?? 0
  }

  /** Writes everything queued and waits for it (at shutdown, before the store closes). */
  async close(): Promise<void> {
    await this.#writer?.close()
  }
}
