/**
 * @module
 * What finishing an attempt writes to the run and attempt rows, the same for both stores: the
 * run's next state and when it may run again, and the error shown for the attempt.
 */
import { PAUSED_RUN_AT, type AttemptEnd } from './store.ts'

/** The row values a finish writes. */
export function finishValues(end: AttemptEnd, now: number) {
  const error = end.outcome === 'succeeded' || end.outcome === 'skipped' ? null : end.error
  const state =
    end.outcome === 'succeeded' || end.outcome === 'dead' || end.outcome === 'skipped' ? end.outcome : 'retrying'
  return {
    state,
    // Times are integer ms in the schema; a retry is never due earlier than asked.
    runAt: end.outcome === 'failed' ? Math.ceil(end.retryAt) : end.outcome === 'paused' ? PAUSED_RUN_AT : now,
    message: end.outcome === 'skipped' ? end.reason : error ? error.message : null,
    stack: error?.stack ?? null,
    pausedOn: end.outcome === 'paused' ? end.connection : null,
  }
}
