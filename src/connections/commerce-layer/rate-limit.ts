/**
 * @module
 * Commerce Layer's rate limits as a client sees them (reference/commerce-layer.md §6): per IP,
 * sliding windows that are never reset, so there is no `X-Ratelimit-Reset`. Every answer carries
 * `X-Ratelimit-Limit`, `X-Ratelimit-Interval` (seconds) and `X-Ratelimit-Remaining`, which
 * describe the *average* limit of the endpoint's class only; the per-endpoint *burst* limit
 * (25 or 50 requests per 10 s for uncacheable endpoints and writes) is not described by any header.
 */
import { parseRetryAfter } from '../http/index.ts'

/** The average limit as the last answer described it. */
export interface RateLimitStatus {
  /** Requests allowed per interval for the endpoint's class. */
  limit: number
  /** The sliding window, in seconds. */
  intervalSeconds: number
  /** Requests left in the window when the answer was sent. */
  remaining: number
}

/** Commerce Layer's burst window: 10 s for every class (reference §6). */
export const BURST_WINDOW_MS = 10_000

/**
 * Reads the three headers; `undefined` when any is missing or not a number (the token endpoint
 * and error pages in front of the API may send none).
 *
 * @example
 * readRateLimit(new Headers({ 'x-ratelimit-limit': '100', 'x-ratelimit-interval': '60', 'x-ratelimit-remaining': '7' }))
 * // { limit: 100, intervalSeconds: 60, remaining: 7 }
 */
export function readRateLimit(headers: Headers): RateLimitStatus | undefined {
  const limit = Number(headers.get('x-ratelimit-limit') ?? Number.NaN)
  const intervalSeconds = Number(headers.get('x-ratelimit-interval') ?? Number.NaN)
  const remaining = Number(headers.get('x-ratelimit-remaining') ?? Number.NaN)
  if (![limit, intervalSeconds, remaining].every((value) => Number.isFinite(value) && value >= 0)) return undefined
  return { limit, intervalSeconds, remaining }
}

/**
 * How long to wait after a 429 before the same call can succeed, for the worker's backoff.
 * - `Retry-After`, should Commerce Layer (or a proxy) ever send one: UNVERIFIED that it does.
 * - The average window is used up (`X-Ratelimit-Remaining: 0`): the whole interval. The window
 *   slides, so only after a full interval without calls is a slot certain to be free.
 * - Otherwise the 429 came from the burst limit, which no header describes: `burstBackoffMs`
 *   (default the 10 s burst window), after which the burst window has slid past every call.
 *
 * @example
 * backoffAfter429(new Headers({ 'x-ratelimit-limit': '100', 'x-ratelimit-interval': '60', 'x-ratelimit-remaining': '0' }), 10_000, Date.now())
 * // 60000
 */
export function backoffAfter429(headers: Headers, burstBackoffMs: number, now: number): number {
  const retryAfter = parseRetryAfter(headers.get('retry-after'), now)
  if (retryAfter !== undefined) return retryAfter
  const status = readRateLimit(headers)
  if (status !== undefined && status.remaining === 0 && status.intervalSeconds > 0) return status.intervalSeconds * 1000
  return burstBackoffMs
}
