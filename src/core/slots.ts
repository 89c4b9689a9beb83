/**
 * @module
 * Slots: the unit of flow control for connections (rate budgets and concurrency caps). A budget
 * of N is N slots; a call takes one before it is sent and gives it back when it is over, saying
 * how long the slot must stay unusable after that (the rate window; 0 for a concurrency cap).
 * Where the slots live is a {@link SlotBackend}: this process's memory, or a table every process
 * sharing a PostgreSQL store reads (store/postgres/slots.ts). The waiting is not the backend's
 * job: connections/flow/slot-queue.ts queues callers and asks the backend again when it is told
 * a slot may be free.
 */

/** What {@link SlotBackend.take} found. */
export type SlotTake =
  | { taken: true; slot: number }
  /** No slot is free, or the budget is paused: ask again in `retryInMs` (0: soon, one was free but contended). */
  | { taken: false; retryInMs: number }

/**
 * Where the slots of every budget are kept. Times are the backend's own clock (PostgreSQL's for
 * the shared one, so processes on different machines agree); callers pass durations only.
 *
 * @example
 * const take = await backend.take('erp:rate', 10, { holder: 'p1:42', expiresInMs: 35_000 })
 * if (take.taken) {
 *   try { await send() } finally { await backend.release('erp:rate', take.slot, 'p1:42', 1000) }
 * }
 */
export interface SlotBackend {
  /** `memory` (this process only) or `postgres` (every process on the database). */
  readonly kind: string
  /**
   * The longest a waiter should sleep before asking again, when other processes can free slots
   * without this one hearing of it; `undefined` when every release is seen locally.
   */
  readonly pollMs?: number
  /**
   * Takes a free slot of `budget` among its first `size` (the slots are created on first use),
   * unless the budget is paused. A slot taken is unusable for `expiresInMs` unless released
   * earlier: a process that dies holding it loses it only for that long.
   */
  take(budget: string, size: number, lease: { holder: string; expiresInMs: number }): Promise<SlotTake>
  /**
   * Gives a slot back: it may be taken again `holdMs` from now. Does nothing when `holder` no
   * longer holds it (it expired and was taken again).
   */
  release(budget: string, slot: number, holder: string, holdMs: number): Promise<void>
  /** No slot of `budget` may be taken for `forMs` from now (a longer pause already set stays). */
  pause(budget: string, forMs: number): Promise<void>
}
