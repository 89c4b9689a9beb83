/**
 * @module
 * A rate budget's effective size: additive increase, multiplicative decrease (AIMD). The budget
 * starts at its configured `requests`; a 429 halves it (never below 1) and the target's
 * `Retry-After` (or one window) pauses it; after that, every window without a 429 gives one slot
 * back, up to `requests`. Pure arithmetic on a clock: the slots themselves are elsewhere
 * (./slot-queue.ts), and the state is this process's (see docs/flow-control.md).
 */

export interface RateLimit {
  /** At most this many requests… */
  requests: number
  /** …in any window of this many milliseconds. */
  perMs: number
}

/** What a 429 did to the budget. */
export interface Throttle {
  /** How long the whole budget is paused, from the 429's arrival. */
  pauseMs: number
  /** The effective size afterwards. */
  effective: number
  /** False when the 429 answered a call sent before the last decrease: it was already accounted for. */
  decreased: boolean
}

/**
 * @example
 * const budget = new RateBudget({ requests: 10, perMs: 1000 })
 * budget.effective(now) // 10
 * budget.throttled(sentAt, now, 2000) // { pauseMs: 2000, effective: 5, decreased: true }
 * budget.effective(now + 2000 + 3 * 1000) // 8: one slot back per window after the pause
 */
export class RateBudget {
  readonly limit: RateLimit
  /** The size set by the last decrease. */
  #base: number
  /** From when windows without a 429 count towards recovery. */
  #recoverFrom = Number.NEGATIVE_INFINITY
  #lastDecreaseAt = Number.NEGATIVE_INFINITY
  #pausedUntil = Number.NEGATIVE_INFINITY
  #throttles = 0

  constructor(limit: RateLimit) {
    if (!Number.isInteger(limit.requests) || limit.requests < 1) throw new RangeError(`rateLimit.requests must be a positive integer, got ${limit.requests}`)
    if (!(limit.perMs > 0)) throw new RangeError(`rateLimit.perMs must be positive, got ${limit.perMs}`)
    this.limit = limit
    this.#base = limit.requests
  }

  /** How many slots may be used at `now`. */
  effective(now: number): number {
    const windows = Math.floor(Math.max(0, now - this.#recoverFrom) / this.limit.perMs)
    return Math.min(this.limit.requests, this.#base + windows)
  }

  /**
   * Records a 429 that arrived at `now` for a call sent at `sentAt`. Calls sent together meet the
   * same limit together: only the first 429 of those sent before a decrease halves the budget
   * again, the others only extend the pause.
   *
   * @param retryAfterMs the target's `Retry-After`, when it sent one; otherwise one window
   */
  throttled(sentAt: number, now: number, retryAfterMs?: number): Throttle {
    this.#throttles++
    const pauseMs = retryAfterMs !== undefined && retryAfterMs >= 0 ? retryAfterMs : this.limit.perMs
    const decreased = sentAt >= this.#lastDecreaseAt
    if (decreased) {
      this.#base = Math.max(1, Math.floor(this.effective(now) / 2))
      this.#lastDecreaseAt = now
    } else {
      this.#base = this.effective(now)
    }
    this.#pausedUntil = Math.max(this.#pausedUntil, now + pauseMs)
    // Recovery counts whole windows from the end of the pause.
    this.#recoverFrom = Math.max(this.#recoverFrom, this.#pausedUntil)
    return { pauseMs, effective: this.#base, decreased }
  }

  /** How long this process has still paused the budget, at `now` (0 when it has not). */
  pausedForMs(now: number): number {
    return Math.max(0, this.#pausedUntil - now)
  }

  /** 429s seen since the connection was created. */
  get throttles(): number {
    return this.#throttles
  }
}
