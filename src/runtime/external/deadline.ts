/**
 * @module
 * Runs a handler against a deadline. The handler gets an AbortSignal that aborts when time is up;
 * whatever it does then, the caller learns the outcome no later than the deadline. A handler that
 * keeps running after it (ignoring the signal) is left to finish in the background: its late
 * result is still reported through `late`, so a good answer can warm the last-good cache.
 *
 * What no deadline on the handler's own thread can stop is synchronous code that never yields
 * (`while (true)`): that event loop itself is blocked. So handlers run on handler threads by
 * default (handler-threads.ts) and this deadline runs on the main thread, which stays free to
 * answer; only `isolation: 'inline'` handlers share its loop.
 */

export type DeadlineOutcome<T> =
  | { kind: 'value'; value: T }
  | { kind: 'threw'; error: unknown }
  | { kind: 'timeout' }

export interface DeadlineRun<T> {
  /** Settles by the deadline at the latest; never rejects. */
  outcome: Promise<DeadlineOutcome<T>>
  /** The handler's own result, whenever it comes (never rejects). */
  late: Promise<DeadlineOutcome<T>>
}

/** The reason the signal is aborted with when time is up. */
export class DeadlineExceededError extends Error {
  constructor(ms: number) {
    super(`the deadline of ${Math.round(ms)} ms passed`)
    this.name = 'DeadlineExceededError'
  }
}

/**
 * @param msLeft time the handler may take from now; 0 or less times out at once (the handler is not started)
 * @example
 * const { outcome } = runUnderDeadline((signal) => fetch(url, { signal }), 2700)
 * const result = await outcome // { kind: 'value', value: Response } or { kind: 'timeout' }
 */
export function runUnderDeadline<T>(handler: (signal: AbortSignal) => T | Promise<T>, msLeft: number): DeadlineRun<T> {
  const controller = new AbortController()
  if (msLeft <= 0) {
    controller.abort(new DeadlineExceededError(0))
    const timeout = Promise.resolve({ kind: 'timeout' } as const)
    return { outcome: timeout, late: timeout }
  }
  // `then` runs the handler on the next microtask, so a synchronous throw becomes a rejection.
  const late: Promise<DeadlineOutcome<T>> = Promise.resolve()
    .then(() => handler(controller.signal))
    .then(
      (value) => ({ kind: 'value', value }) as const,
      (error: unknown) => ({ kind: 'threw', error }) as const,
    )
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<DeadlineOutcome<T>>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new DeadlineExceededError(msLeft))
      resolve({ kind: 'timeout' })
    }, msLeft)
  })
  const outcome = Promise.race([late, timedOut]).finally(() => clearTimeout(timer))
  return { outcome, late }
}
