/**
 * @module
 * A mirror of the platform's circuit breaker for one resource, counted from what this process
 * answered, as Commerce Layer counts (shared/reference/commerce-layer.md §2, §4): consecutive
 * failures, reset by the first success; a warning at 10 (Commerce Layer e-mails then) and the
 * circuit open above 30. Open, the platform stops calling and never closes it by itself (no
 * half-open state): only `_reset_circuit` on the owning resource does. So a call that arrives while
 * the mirror says open proves the circuit was reset, and the mirror closes too.
 *
 * A failure is an answer of status ≥ 500, or one ready later than the platform's timeout (it
 * timed out on the platform's side), and — with `counts: 'errors'`, the default, because
 * whether Commerce Layer counts 4xx is UNVERIFIED — every status ≥ 400. What the mirror cannot
 * see: calls that never reached this process, and network time after the answer left.
 */

export type BreakerState = 'closed' | 'warning' | 'open'

export interface BreakerOptions {
  warnAt: number
  openAbove: number
  counts: 'errors' | 'server-errors'
  /** An answer ready later than this was a timeout for the platform (3000 ms). */
  platformTimeoutMs: number
}

export interface BreakerStatus {
  state: BreakerState
  consecutiveFailures: number
  warnAt: number
  openAbove: number
  counts: 'errors' | 'server-errors'
  lastFailureAt: number | null
  lastSuccessAt: number | null
  /** When the current run of failures reached the warning level, or null. */
  warnedAt: number | null
  /** When the mirror presumed the platform's circuit open, or null. */
  openedAt: number | null
}

/** What changed with one recorded answer, for logging. */
export type BreakerTransition = 'warned' | 'opened' | 'recovered' | 'reset-by-platform' | null

export class BreakerMirror {
  readonly #options: BreakerOptions
  #failures = 0
  #lastFailureAt: number | null = null
  #lastSuccessAt: number | null = null
  #warnedAt: number | null = null
  #openedAt: number | null = null

  constructor(options: BreakerOptions) {
    this.#options = options
  }

  /**
   * Records one answer this process gave.
   *
   * @example
   * breaker.record(422, 12, Date.now()) // 'warned' on the 10th failure in a row
   */
  record(status: number, durationMs: number, now: number): BreakerTransition {
    let transition: BreakerTransition = null
    if (this.#openedAt !== null) {
      // The platform skips calls while its circuit is open: this call means someone reset it.
      this.reset()
      transition = 'reset-by-platform'
    }
    if (this.isFailure(status, durationMs)) {
      this.#failures += 1
      this.#lastFailureAt = now
      if (this.#failures === this.#options.warnAt) {
        this.#warnedAt = now
        transition = 'warned'
      }
      if (this.#failures === this.#options.openAbove + 1) {
        this.#openedAt = now
        transition = 'opened'
      }
      return transition
    }
    const wasWarning = this.#failures >= this.#options.warnAt
    this.#failures = 0
    this.#warnedAt = null
    this.#lastSuccessAt = now
    return wasWarning ? 'recovered' : transition
  }

  isFailure(status: number, durationMs: number): boolean {
    if (status >= 500 || durationMs > this.#options.platformTimeoutMs) return true
    return this.#options.counts === 'errors' && status >= 400
  }

  /** Forgets the current run of failures (after the platform's circuit was reset). */
  reset(): void {
    this.#failures = 0
    this.#warnedAt = null
    this.#openedAt = null
  }

  get state(): BreakerState {
    if (this.#openedAt !== null) return 'open'
    return this.#failures >= this.#options.warnAt ? 'warning' : 'closed'
  }

  status(): BreakerStatus {
    return {
      state: this.state,
      consecutiveFailures: this.#failures,
      warnAt: this.#options.warnAt,
      openAbove: this.#options.openAbove,
      counts: this.#options.counts,
      lastFailureAt: this.#lastFailureAt,
      lastSuccessAt: this.#lastSuccessAt,
      warnedAt: this.#warnedAt,
      openedAt: this.#openedAt,
    }
  }
}
