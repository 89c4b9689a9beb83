/**
 * @module
 * What a thrown error means for its run: try again later, or give up now.
 */
import { PermanentError } from './errors.ts'

export type FailureClass =
  | { retry: false; reason: string }
  | { retry: true; reason: string; /** Wait at least this long, as the target asked (Retry-After). */ notBeforeMs?: number }

/**
 * HTTP statuses that say "this request will never succeed as it is". 408 (timeout), 409
 * (conflict, often a lock), 425 (too early) and 429 (rate limited) are the 4xx that say the
 * opposite, so they are retried.
 */
export function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && ![408, 409, 425, 429].includes(status)
}

/**
 * Classifies an error thrown by an action. {@link PermanentError} is never retried; an error with
 * a numeric `status` (what connections throw for a non-2xx answer) is retried unless the status
 * is a permanent 4xx; anything else (network failures, bugs, timeouts) is retried, since the
 * next attempt may find the world fixed.
 */
export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof PermanentError) return { retry: false, reason: 'PermanentError' }
  const status = (error as { status?: unknown } | null)?.status
  if (typeof status === 'number' && isPermanentStatus(status)) {
    return { retry: false, reason: `target answered ${status}` }
  }
  const retryAfterMs = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs
  if (typeof retryAfterMs === 'number' && retryAfterMs > 0) {
    return { retry: true, reason: 'retryable', notBeforeMs: retryAfterMs }
  }
  return { retry: true, reason: 'retryable' }
}
