/**
 * @module
 * A FIFO counting semaphore that limits how many requests a connection has in flight.
 * Hand-written on purpose: it is twenty lines, and no package is worth a dependency for that.
 */

/** Gives the slot back; calling it more than once has no further effect. */
export type Release = () => void

export class Semaphore {
  #free: number
  readonly #waiters: Array<() => void> = []

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`semaphore size must be a positive integer, got ${max}`)
    this.#free = max
  }

  /** Number of callers waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length
  }

  /**
   * Waits for a slot, in arrival order. If `signal` aborts while waiting, the caller leaves the
   * queue and the promise rejects with the signal's reason.
   *
   * @example
   * const release = await semaphore.acquire(signal)
   * try { await work() } finally { release() }
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (this.#free > 0) {
      this.#free--
      return Promise.resolve(this.#releaser())
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(grant)
        if (index >= 0) this.#waiters.splice(index, 1)
        reject(signal?.reason)
      }
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve(this.#releaser())
      }
      this.#waiters.push(grant)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  #releaser(): Release {
    let released = false
    return () => {
      if (released) return
      released = true
      // Hand the slot straight to the next waiter, so nobody can overtake the queue.
      const next = this.#waiters.shift()
      if (next) next()
      else this.#free++
    }
  }
}
