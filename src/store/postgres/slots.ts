/**
 * @module
 * Connection slots shared by every process on the database (the {@link SlotBackend} of the
 * PostgreSQL store), in the `budget_slots` table of migration 4:
 * - a budget of N is N rows, slots 0…N−1, created on first use; `free_at` is the epoch ms from
 *   which a slot may be taken, `holder` who holds it;
 * - taking one is one statement: the free row with the earliest `free_at`, locked with
 *   `FOR UPDATE SKIP LOCKED` (so two takers never wait on nor get the same row), set to expire
 *   at now + the call's timeout + its hold, so a process that dies holding it loses it for that
 *   long only; giving it back sets `free_at` to now + the hold;
 * - a paused budget (a 429's `Retry-After`) is one more row, slot −1, whose `free_at` is the end
 *   of the pause: every take looks at it, and a slot given back cannot end a pause early.
 * Every time is the database server's clock, so processes on different machines agree on it.
 */
import type pg from 'pg'
import type { SlotBackend, SlotTake } from '../../core/slots.ts'

/** The database's clock in epoch ms; stable within one statement. */
const NOW = `(extract(epoch FROM statement_timestamp()) * 1000)::bigint`
/** The row holding a budget's pause. */
const PAUSE_SLOT = -1

/**
 * @param s the quoted schema name
 * @param pollMs how often a waiter asks again when every slot is taken: other processes' releases are not announced
 * @example
 * const slots = makeSlots(pool, '"storehook"')
 * const take = await slots.take('erp:rate', 10, { holder: 'p1:1', expiresInMs: 35_000 })
 */
export function makeSlots(pool: pg.Pool, s: string, pollMs = 50): SlotBackend {
  /** Per budget, how many rows this process knows exist. */
  const created = new Map<string, number>()

  async function ensure(budget: string, size: number): Promise<void> {
    if ((created.get(budget) ?? 0) >= size) return
    await pool.query(
      `INSERT INTO ${s}.budget_slots (budget, slot, free_at, holder)
       SELECT $1, slot, 0, NULL FROM generate_series(0, $2::integer - 1) AS slot
       ON CONFLICT (budget, slot) DO NOTHING`,
      [budget, size],
    )
    created.set(budget, size)
  }

  return {
    kind: 'postgres',
    pollMs,
    async take(budget, size, lease): Promise<SlotTake> {
      await ensure(budget, size)
      const { rows } = await pool.query<{ slot: number | null; now: string; earliest: string | null; paused: string | null }>(
        `WITH free AS (
           SELECT slot FROM ${s}.budget_slots
           WHERE budget = $1 AND slot >= 0 AND slot < $2 AND free_at <= ${NOW}
             AND NOT EXISTS (SELECT 1 FROM ${s}.budget_slots p WHERE p.budget = $1 AND p.slot = ${PAUSE_SLOT} AND p.free_at > ${NOW})
           ORDER BY free_at, slot
           LIMIT 1
           FOR UPDATE SKIP LOCKED
         ), taken AS (
           UPDATE ${s}.budget_slots b SET free_at = ${NOW} + $3::bigint, holder = $4
           FROM free WHERE b.budget = $1 AND b.slot = free.slot
           RETURNING b.slot
         )
         SELECT (SELECT slot FROM taken) AS slot, ${NOW} AS now,
           (SELECT min(free_at) FROM ${s}.budget_slots WHERE budget = $1 AND slot >= 0 AND slot < $2) AS earliest,
           (SELECT max(free_at) FROM ${s}.budget_slots WHERE budget = $1 AND slot = ${PAUSE_SLOT}) AS paused`,
        [budget, size, Math.ceil(lease.expiresInMs), lease.holder],
      )
      const row = rows[0]!
      if (row.slot !== null) return { taken: true, slot: row.slot }
      const now = Number(row.now)
      // The earliest free_at may already be past: that slot was locked by another taker just now.
      const freeAt = Math.max(Number(row.earliest ?? now), Number(row.paused ?? now))
      return { taken: false, retryInMs: Math.max(0, freeAt - now) }
    },
    async release(budget, slot, holder, holdMs) {
      await pool.query(
        `UPDATE ${s}.budget_slots SET free_at = ${NOW} + $4::bigint, holder = NULL
         WHERE budget = $1 AND slot = $2 AND holder = $3`,
        [budget, slot, holder, Math.ceil(holdMs)],
      )
    },
    async pause(budget, forMs) {
      await pool.query(
        `INSERT INTO ${s}.budget_slots (budget, slot, free_at, holder) VALUES ($1, ${PAUSE_SLOT}, ${NOW} + $2::bigint, 'pause')
         ON CONFLICT (budget, slot) DO UPDATE SET free_at = GREATEST(${s}.budget_slots.free_at, EXCLUDED.free_at)`,
        [budget, Math.ceil(forMs)],
      )
    },
  }
}
