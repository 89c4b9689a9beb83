/**
 * @module
 * Waiting for a slot: the callers of one process queue in arrival order, and only the first asks
 * the {@link SlotBackend}. When no slot is free it sleeps until the earliest one will be (capped
 * by the backend's `pollMs`, since another process may free one sooner without telling us), or
 * until a slot of this process is given back. Callers wait, however long; only their own
 * `AbortSignal` ends a wait early.
 */
import type { SlotBackend, SlotTake } from '../../core/slots.ts'

/** A slot held. */
export interface Slot {
  /** Gives it back: it may be taken again `holdMs` from now. Calling it again does nothing. */
  release(holdMs: number): void
}

export interface SlotQueueOptions {
  /** The budget's name in the backend, e.g. `erp:rate`. */
  budget: string
  /** How many slots may be used now; read at every take (a rate budget shrinks after a 429). */
  size: () => number
  /** How long a slot stays taken if it is never given back (its process died). */
  expiresInMs: number
  /** Read at every take: the shared backend is handed over after the project loads. */
  backend: () => SlotBackend
  /** A new holder id for every take, unique across processes. */
  holder: () => string
}

/** The longest sleep between two asks, whatever the backend says: a safety net, not a clock. */
const MAX_SLEEP_MS = 1000

interface Waiter {
  resolve(slot: Slot): void
  reject(error: unknown): void
}

/**
 * @example
 * const queue = new SlotQueue({ budget: 'erp:concurrency', size: () => 4, expiresInMs: 35_000, backend: () => backend, holder: () => randomUUID() })
 * const slot = await queue.acquire(signal)
 * try { await send() } finally { slot.release(0) }
 */
export class SlotQueue {
  readonly #options: SlotQueueOptions
  readonly #waiters: Waiter[] = []
  #pumping = false
  /** Set when something may have freed a slot since the last take began. */
  #woken = false
  #interrupt: (() => void) | undefined

  constructor(options: SlotQueueOptions) {
    this.#options = options
  }

  /** Callers of this process waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length
  }

  /** Resolves with a slot once one is free, in arrival order; rejects only with the signal's reason or a backend failure. */
  acquire(signal?: AbortSignal): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise<Slot>((resolve, reject) => {
      const onAbort = (): void => {
        if (this.#remove(waiter)) reject(signal?.reason)
        this.wake() // the head may have left: the next one asks now
      }
      const waiter: Waiter = {
        resolve: (slot) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(slot)
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort)
          reject(error)
        },
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(waiter)
      void this.#pump()
    })
  }

  /** Something may have freed a slot (a release here, a pause lifted): the first waiter asks again now. */
  wake(): void {
    this.#woken = true
    this.#interrupt?.()
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return
    this.#pumping = true
    try {
      while (this.#waiters.length > 0) {
        const head = this.#waiters[0]!
        const backend = this.#options.backend()
        const holder = this.#options.holder()
        this.#woken = false
        let take: SlotTake
        try {
          take = await backend.take(this.#options.budget, this.#options.size(), { holder, expiresInMs: this.#options.expiresInMs })
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error)
          const failure = new Error(`${this.#options.budget}: could not take a slot from the ${backend.kind} slot store: ${message}`, { cause: error })
          if (this.#remove(head)) head.reject(failure)
          continue
        }
        if (take.taken) {
          const slot = this.#slot(backend, take.slot, holder)
          if (this.#remove(head)) head.resolve(slot)
          else slot.release(0) // its caller gave up meanwhile: nothing was sent
          continue
        }
        if (this.#woken || this.#waiters[0] !== head) continue
        const cap = Math.min(backend.pollMs ?? MAX_SLEEP_MS, MAX_SLEEP_MS)
        await this.#sleep(Math.max(1, Math.min(take.retryInMs, cap)))
      }
    } finally {
      this.#pumping = false
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.#interrupt = undefined
        resolve()
      }
      // Not unref'd: a caller is waiting on it, and must not see the process exit under it.
      const timer = setTimeout(done, ms)
      this.#interrupt = done
    })
  }

  #slot(backend: SlotBackend, index: number, holder: string): Slot {
    let released = false
    return {
      release: (holdMs) => {
        if (released) return
        released = true
        backend
          .release(this.#options.budget, index, holder, holdMs)
          // A release that fails (the database went away) frees the slot when it expires instead.
          .catch(() => undefined)
          .finally(() => this.wake())
      },
    }
  }

  #remove(waiter: Waiter): boolean {
    const index = this.#waiters.indexOf(waiter)
    if (index < 0) return false
    this.#waiters.splice(index, 1)
    return true
  }
}
