/**
 * @module
 * When to try a failed run again. Exponential backoff with full jitter (a delay drawn uniformly
 * between 0 and min(cap, base·2^(n-1))), so that many runs failing together against one target
 * spread their retries instead of returning in a herd.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included. After the last one fails the run is dead. */
  maxAttempts: number
  /** Ceiling of the delay after the first failure, in ms. */
  baseDelayMs: number
  /** Largest ceiling any delay can have, in ms. */
  maxDelayMs: number
  /** Draw each delay at random below its ceiling (default). `false` waits the ceiling itself. */
  jitter?: boolean
}

/**
 * The default spans days, longer than Adobe I/O Events' own 24 h of retries, so an ERP that is
 * down over a weekend still gets every order: the ceilings of its 24 delays add up to about 83 h
 * (about 41 h expected with jitter).
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 25,
  baseDelayMs: 10_000,
  maxDelayMs: 6 * 60 * 60 * 1000,
}

/** The largest delay after failed attempt number `attempt` (1-based). */
export function retryDelayCeiling(policy: RetryPolicy, attempt: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 52)
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent)
}

/**
 * The delay before the next attempt, or `null` when `attempt` was the last one allowed.
 *
 * @example
 * retryDelay(DEFAULT_RETRY_POLICY, 1) // somewhere in [0, 10 000] ms
 */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number | null {
  if (attempt >= policy.maxAttempts) return null
  const ceiling = retryDelayCeiling(policy, attempt)
  return policy.jitter === false ? ceiling : Math.floor(random() * ceiling)
}
