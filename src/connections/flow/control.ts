/**
 * @module
 * One connection's flow control: the one wrapper every connection kind sends through. A call
 * first passes the breaker (refused at once while it is open), then takes a concurrency slot,
 * then a rate slot (taken last, right before sending, so a rate slot is never held idle behind a
 * busy target), and is let through by the breaker once more: it may have opened during the wait.
 * When the answer arrives (or the call fails) the breaker learns how it went, a 429 throttles
 * the rate budget, and the slots go back: the concurrency slot at once, the rate slot `perMs`
 * later.
 */
import { TargetPausedError } from '../../core/errors.ts'
import type { SlotBackend } from '../../core/slots.ts'
import { RateBudget, type RateLimit } from './budget.ts'
import { Breaker, type BreakerState, type BreakerStatus, type Permit, type Verdict } from './breaker.ts'
import { breakerOptions, type FlowConfig } from './config.ts'
import type { FlowRegistry } from './registry.ts'
import { SlotQueue, type Slot } from './slot-queue.ts'

/** A slot taken for a call stays taken this much past the call's own timeout if it is never given back. */
const EXPIRY_MARGIN_MS = 5_000

/** What the registry gives each connection's control. */
export interface FlowHost {
  backend(): SlotBackend
  /** A holder id unique across processes. */
  holder(): string
  now(): number
  breakerChanged(connection: string, state: BreakerState): void
  throttled(connection: string): void
}

/** An answer as flow control reads it. */
export interface Answered {
  status: number
  /** On a 429: how long the target asked to wait (`Retry-After`, or what the platform's headers say). */
  retryAfterMs?: number
}

export interface RunOptions<T> {
  /** The caller's signal: it ends the wait for a slot, and a call it aborted counts for nothing. */
  signal?: AbortSignal
  /**
   * For a `send` that resolves with any answer: its status. Without it a resolved `send` is a
   * success, and a rejection is read from the error (`status`, `retryAfterMs`; none: no answer).
   */
  answer?: (value: T) => Answered
}

/** One connection's flow state, for the admin API and metrics. */
export interface ConnectionFlowStatus {
  connection: string
  kind: string
  /** Where the slots are: `memory` (this process) or `postgres` (shared by every process). */
  slots: string
  rateLimit: (RateLimit & { effective: number; pausedForMs: number }) | null
  maxConcurrency: number | null
  /** Calls of this process waiting for a slot. */
  waiting: number
  /** Calls of this process sent and not yet answered. */
  inFlight: number
  /** 429 answers this process has seen. */
  throttled: number
  breaker: (Omit<BreakerStatus, 'probeAt'> & { probeInMs: number | null }) | null
}

export interface FlowControlInit {
  connection: string
  kind: string
  config: FlowConfig
  /** The connection's request timeout: a slot never given back expires some time after it. */
  timeoutMs: number
  host: FlowHost
  /** The registry it belongs to, for whoever holds only the client (see `flowRegistryOf`). */
  registry: FlowRegistry
}

type Outcome = { answered: Answered } | { answered: null } | 'abandoned'

/**
 * @example
 * const control = registry.control('erp', 'http', { rateLimit: { requests: 10, perMs: 1000 } }, 30_000)
 * const response = await control.run(() => fetch(url, { signal }), { signal, answer: (r) => ({ status: r.status }) })
 */
export class FlowControl {
  readonly connection: string
  readonly kind: string
  readonly rate: RateBudget | undefined
  readonly breaker: Breaker | undefined
  readonly maxConcurrency: number | undefined
  readonly registry: FlowRegistry
  readonly #host: FlowHost
  readonly #concurrency: SlotQueue | undefined
  readonly #rateSlots: SlotQueue | undefined
  #inFlight = 0
  #throttled = 0

  constructor(init: FlowControlInit) {
    const { connection, config, host, timeoutMs } = init
    this.connection = connection
    this.kind = init.kind
    this.registry = init.registry
    this.#host = host
    this.maxConcurrency = config.maxConcurrency
    const slots = (budget: string, size: () => number, holdMs: number) =>
      new SlotQueue({ budget, size, expiresInMs: timeoutMs + holdMs + EXPIRY_MARGIN_MS, backend: () => host.backend(), holder: () => host.holder() })
    const max = config.maxConcurrency
    this.#concurrency = max === undefined ? undefined : slots(`${connection}:concurrency`, () => max, 0)
    const rate = config.rateLimit === undefined ? undefined : new RateBudget(config.rateLimit)
    this.rate = rate
    this.#rateSlots = rate === undefined ? undefined : slots(`${connection}:rate`, () => rate.effective(host.now()), rate.limit.perMs)
    const breaker = breakerOptions(config)
    this.breaker =
      breaker === undefined ? undefined : new Breaker(connection, breaker, { now: () => host.now(), onChange: (state) => host.breakerChanged(connection, state) })
  }

  /**
   * Sends one request under the connection's budget, cap and breaker.
   * @throws TargetPausedError without calling `send` while the breaker refuses calls;
   *   the signal's reason when the caller aborts the wait; otherwise whatever `send` throws
   */
  async run<T>(send: () => Promise<T>, options: RunOptions<T> = {}): Promise<T> {
    const { signal } = options
    signal?.throwIfAborted()
    this.breaker?.check()
    let concurrency: Slot | undefined
    let rate: Slot | undefined
    let sentAt: number | undefined
    try {
      concurrency = await this.#concurrency?.acquire(signal)
      rate = await this.#rateSlots?.acquire(signal)
      const permit = this.breaker?.admit()
      sentAt = this.#host.now()
      this.#inFlight++
      let outcome: Outcome = 'abandoned'
      try {
        const value = await send()
        outcome = { answered: options.answer ? options.answer(value) : { status: 200 } }
        return value
      } catch (error) {
        outcome = signal?.aborted ? 'abandoned' : { answered: answerOf(error) }
        // A failed probe says "still down", not "this run failed": the run pauses again rather
        // than spend a retry, or the oldest paused run (always the one resumed to probe) would
        // die of a long outage.
        if (permit?.probe && outcome !== 'abandoned' && isFailure(outcome.answered)) {
          throw Object.assign(new TargetPausedError(this.connection, `the probe of connection "${this.connection}" failed (${(error as Error)?.message ?? error}); paused until the next probe`), { cause: error })
        }
        throw error
      } finally {
        this.#inFlight--
        await this.#settle(permit, outcome, sentAt)
      }
    } finally {
      // A rate slot counts from the moment its request was sent; one never used costs nothing.
      rate?.release(sentAt === undefined ? 0 : this.rate!.limit.perMs)
      concurrency?.release(0)
    }
  }

  status(): ConnectionFlowStatus {
    const now = this.#host.now()
    const breaker = this.breaker?.status()
    return {
      connection: this.connection,
      kind: this.kind,
      slots: this.#host.backend().kind,
      rateLimit: this.rate ? { ...this.rate.limit, effective: this.rate.effective(now), pausedForMs: Math.ceil(this.rate.pausedForMs(now)) } : null,
      maxConcurrency: this.maxConcurrency ?? null,
      waiting: (this.#concurrency?.waiting ?? 0) + (this.#rateSlots?.waiting ?? 0),
      inFlight: this.#inFlight,
      throttled: this.#throttled,
      breaker:
        breaker === undefined
          ? null
          : {
              state: breaker.state,
              failures: breaker.failures,
              probeAfterMs: breaker.probeAfterMs,
              consecutiveFailures: breaker.consecutiveFailures,
              probing: breaker.probing,
              probeInMs: breaker.probeAt === null ? null : Math.max(0, Math.ceil(breaker.probeAt - now)),
            },
    }
  }

  async #settle(permit: Permit | undefined, outcome: Outcome, sentAt: number): Promise<void> {
    const verdict: Verdict = outcome === 'abandoned' ? 'neutral' : isFailure(outcome.answered) ? 'failure' : 'success'
    if (permit !== undefined) this.breaker!.record(permit, verdict)
    if (outcome === 'abandoned' || outcome.answered?.status !== 429) return
    this.#throttled++
    this.#host.throttled(this.connection)
    if (this.rate === undefined) return
    const { pauseMs } = this.rate.throttled(sentAt, this.#host.now(), outcome.answered.retryAfterMs)
    // Before the slot goes back: no waiter may slip in between the 429 and the pause.
    await this.#host
      .backend()
      .pause(`${this.connection}:rate`, pauseMs)
      .catch(() => undefined) // the store is unreachable: this process's budget still shrank
  }
}

/** `null`: no answer (timeout, refused, reset). */
function answerOf(error: unknown): Answered | null {
  const { status, retryAfterMs } = (error ?? {}) as { status?: unknown; retryAfterMs?: unknown }
  if (typeof status !== 'number') return null
  return typeof retryAfterMs === 'number' ? { status, retryAfterMs } : { status }
}

function isFailure(answered: Answered | null): boolean {
  return answered === null || answered.status >= 500 || answered.status === 429
}
