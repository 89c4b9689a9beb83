/**
 * @module
 * The in-process {@link SlotBackend}: what every connection uses on SQLite (one process per
 * database file) and until a shared backend is handed over. Same rules as the PostgreSQL table
 * (store/postgres/slots.ts), kept in a Map.
 */
import type { SlotBackend, SlotTake } from '../../core/slots.ts'

interface Budget {
  /** Per slot: from when it may be taken (clock ms), and who holds it. */
  slots: { freeAt: number; holder: string | null }[]
  pausedUntil: number
}

/**
 * @param now the clock, in ms; default `performance.now` (monotonic: a wall-clock step must not
 *   free or freeze every slot at once)
 * @example
 * const backend = new MemorySlotBackend()
 * const take = await backend.take('erp:concurrency', 4, { holder: 'a', expiresInMs: 30_000 })
 */
export class MemorySlotBackend implements SlotBackend {
  readonly kind = 'memory'
  readonly #budgets = new Map<string, Budget>()
  readonly #now: () => number

  constructor(now: () => number = () => performance.now()) {
    this.#now = now
  }

  async take(budget: string, size: number, lease: { holder: string; expiresInMs: number }): Promise<SlotTake> {
    const state = this.#budget(budget, size)
    const now = this.#now()
    if (state.pausedUntil > now) return { taken: false, retryInMs: state.pausedUntil - now }
    let best = -1
    let earliest = Number.POSITIVE_INFINITY
    for (let slot = 0; slot < size; slot++) {
      const freeAt = state.slots[slot]!.freeAt
      if (freeAt <= now && (best < 0 || freeAt < state.slots[best]!.freeAt)) best = slot
      earliest = Math.min(earliest, freeAt)
    }
    if (best < 0) return { taken: false, retryInMs: earliest - now }
    state.slots[best] = { freeAt: now + lease.expiresInMs, holder: lease.holder }
    return { taken: true, slot: best }
  }

  async release(budget: string, slot: number, holder: string, holdMs: number): Promise<void> {
    const entry = this.#budgets.get(budget)?.slots[slot]
    if (entry === undefined || entry.holder !== holder) return
    entry.freeAt = this.#now() + holdMs
    entry.holder = null
  }

  async pause(budget: string, forMs: number): Promise<void> {
    const state = this.#budget(budget, 0)
    state.pausedUntil = Math.max(state.pausedUntil, this.#now() + forMs)
  }

  #budget(name: string, size: number): Budget {
    let state = this.#budgets.get(name)
    if (state === undefined) {
      state = { slots: [], pausedUntil: Number.NEGATIVE_INFINITY }
      this.#budgets.set(name, state)
    }
    while (state.slots.length < size) state.slots.push({ freeAt: Number.NEGATIVE_INFINITY, holder: null })
    return state
  }
}
