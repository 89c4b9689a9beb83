/**
 * @module
 * A connection's breaker, in this process. It counts consecutive failures of the target (no
 * answer: a timeout, a refused or reset connection; or an answer of 5xx or 429); any other answer
 * resets the count. At the threshold it opens: calls are refused with {@link TargetPausedError}
 * before anything is sent. After `probeAfterMs` it is half-open: exactly one call goes through as
 * a probe while the others are still refused; the probe's success closes the breaker, its failure
 * opens it for another `probeAfterMs`. A success of any call (one sent before the breaker opened)
 * closes it too: the target answered.
 */
import { TargetPausedError } from '../../core/errors.ts'

export type BreakerState = 'closed' | 'open' | 'half-open'

/** How a call ended, as far as the breaker cares. */
export type Verdict = 'success' | 'failure' | 'neutral'

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failures: number
  /** How long it stays open before one probe is let through. */
  probeAfterMs: number
}

/** What {@link Breaker.admit} handed out: say how the call ended with {@link Breaker.record}. */
export interface Permit {
  readonly probe: boolean
}

export interface BreakerStatus extends BreakerOptions {
  state: BreakerState
  consecutiveFailures: number
  /** True while the one probe of the half-open state is in flight. */
  probing: boolean
  /** Clock ms from which a probe is allowed, while open; otherwise null. */
  probeAt: number | null
}

/**
 * @example
 * const breaker = new Breaker('erp', { failures: 5, probeAfterMs: 10_000 }, { onChange: (state) => console.log(state) })
 * const permit = breaker.admit() // throws TargetPausedError while open
 * breaker.record(permit, answered ? 'success' : 'failure')
 */
export class Breaker {
  readonly connection: string
  readonly options: BreakerOptions
  readonly #now: () => number
  readonly #onChange: (state: BreakerState) => void
  #state: BreakerState = 'closed'
  #failures = 0
  #openedAt = 0
  #probing = false
  #timer: NodeJS.Timeout | undefined

  constructor(connection: string, options: BreakerOptions, deps: { now?: () => number; onChange?: (state: BreakerState) => void } = {}) {
    this.connection = connection
    this.options = options
    this.#now = deps.now ?? (() => performance.now())
    this.#onChange = deps.onChange ?? (() => {})
  }

  get state(): BreakerState {
    this.#refresh()
    return this.#state
  }

  /** True when a call made now would be sent as the half-open state's probe. */
  get canProbe(): boolean {
    return this.state === 'half-open' && !this.#probing
  }

  /** True when a call made now would be sent (closed, or the probe is free). */
  get admits(): boolean {
    return this.state === 'closed' || this.canProbe
  }

  /**
   * Refuses a call that could not be sent now, before it queues for a slot.
   * @throws TargetPausedError unless {@link admits}
   */
  check(): void {
    if (!this.admits) throw this.#refusal(this.state)
  }

  /**
   * Lets a call be sent, or refuses it.
   * @throws TargetPausedError while open, and while half-open with the probe in flight
   */
  admit(): Permit {
    const state = this.state
    if (state === 'closed') return { probe: false }
    if (state === 'half-open' && !this.#probing) {
      this.#probing = true
      return { probe: true }
    }
    throw this.#refusal(state)
  }

  /** How the call of `permit` ended. */
  record(permit: Permit, verdict: Verdict): void {
    this.#refresh()
    if (permit.probe) this.#probing = false
    if (verdict === 'success') {
      this.#failures = 0
      if (this.#state !== 'closed') this.#set('closed')
    } else if (verdict === 'failure') {
      if (permit.probe) this.#open()
      else if (this.#state === 'closed' && ++this.#failures >= this.options.failures) this.#open()
      // A late failure while open or half-open (a call sent before it opened) says nothing new.
    } else if (permit.probe && this.#state === 'half-open') {
      this.#set('half-open') // the probe was abandoned by its caller: another call may probe
    }
  }

  status(): BreakerStatus {
    const state = this.state
    return {
      ...this.options,
      state,
      consecutiveFailures: this.#failures,
      probing: this.#probing,
      probeAt: state === 'open' ? this.#openedAt + this.options.probeAfterMs : null,
    }
  }

  #open(): void {
    this.#openedAt = this.#now()
    clearTimeout(this.#timer)
    // Unref'd: a breaker waiting to half-open must not keep a finished process alive.
    this.#timer = setTimeout(() => this.#refresh(true), this.options.probeAfterMs).unref()
    this.#set('open')
  }

  /** Open → half-open once `probeAfterMs` has passed, whether or not the timer has fired yet. */
  #refresh(fromTimer = false): void {
    if (this.#state !== 'open') return
    const due = this.#openedAt + this.options.probeAfterMs
    const now = this.#now()
    if (now >= due) this.#set('half-open')
    // The timer fired early (a clock that is not the timers' own, in tests): look again when due.
    else if (fromTimer) this.#timer = setTimeout(() => this.#refresh(true), Math.max(1, due - now)).unref()
  }

  #set(state: BreakerState): void {
    if (state !== 'open') {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    this.#state = state
    if (state === 'closed') this.#failures = 0
    try {
      this.#onChange(state)
    } catch {
      // A listener's bug must not change the outcome of the call that moved the breaker.
    }
  }

  #refusal(state: BreakerState): TargetPausedError {
    const why = `its target failed ${this.options.failures} time${this.options.failures === 1 ? '' : 's'} in a row`
    const next =
      state === 'open'
        ? `a probe goes through in ${Math.max(0, Math.ceil(this.#openedAt + this.options.probeAfterMs - this.#now()))} ms`
        : 'a probe is in flight'
    return new TargetPausedError(this.connection, `${this.connection}: not sent, the connection is paused: ${why}; ${next}`)
  }
}
