/**
 * @module
 * What a run did, recorded per attempt: its log lines and its outbound HTTP calls, each queued
 * for the store in batches (batch-writer.ts), off the run's path. A store without the methods
 * records nothing; the run goes on the same.
 */
import type { Logger } from 'pino'
import type { OutboundCall } from '../connections/connection.ts'
import type { NewOutboundCall, NewRunLogLine, Store } from '../store/store.ts'
import { BatchWriter, type BatchWriterOptions } from './batch-writer.ts'
import { AttemptLog, DEFAULT_RUN_LOG_LIMITS, type RunLogLimits } from './run-log.ts'
import type { RunScope } from './run-scope.ts'
import { activeTraceId } from './tracing.ts'

export interface AttemptRecording extends RunScope {
  /** The attempt is over: partial lines are added, and what comes later is not kept. */
  end(): void
}

export class RunRecorder {
  readonly #lines: BatchWriter<NewRunLogLine> | null
  readonly #calls: BatchWriter<NewOutboundCall> | null
  readonly #limits: RunLogLimits

  /**
   * @example
   * const records = new RunRecorder(store, logger, { linesPerAttempt: 500 })
   * const recording = records.begin(7, 1)
   * recording.log.add('info', 'order sent')
   * recording.end()
   * await records.close() // before the store closes
   */
  constructor(store: Store, logger: Logger, limits: Partial<RunLogLimits> = {}, options: BatchWriterOptions = {}) {
    this.#limits = { ...DEFAULT_RUN_LOG_LIMITS, ...limits }
    this.#lines = store.recordRunLogs ? new BatchWriter((batch) => store.recordRunLogs!(batch), logger, 'run log lines', options) : null
    this.#calls = store.recordOutboundCalls ? new BatchWriter((batch) => store.recordOutboundCalls!(batch), logger, 'outbound calls of runs', options) : null
  }

  /** Starts recording an attempt; enter the result as its run scope (`runInScope`). */
  begin(runId: number, attempt: number): AttemptRecording {
    const lines = this.#lines
    const calls = this.#calls
    const log = new AttemptLog(runId, attempt, lines ? (line) => lines.push(line) : () => {}, this.#limits)
    return {
      log,
      outbound(call: OutboundCall) {
        if (!calls || log.ended) return
        calls.push({
          runId,
          attempt,
          connection: call.connection,
          method: call.method,
          url: call.url,
          status: call.status,
          // Reported when the call ended; its start is that much earlier.
          startedAt: Math.round(Date.now() - call.durationMs),
          durationMs: call.durationMs,
          error: call.error ?? null,
          // The reporting code runs in the call's trace (the attempt's, or a step's beneath it).
          traceId: activeTraceId(),
        })
      },
      end: () => log.end(),
    }
  }

  /** Writes what is queued (at shutdown, before the store closes). */
  async close(): Promise<void> {
    await Promise.all([this.#lines?.close(), this.#calls?.close()])
  }
}
