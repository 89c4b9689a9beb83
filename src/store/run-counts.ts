/**
 * @module
 * The SQL both stores count runs by state with. One index range scan per state (runs_state; the
 * paused ones through runs_paused_on), each stopping at `atMost` rows: a million succeeded runs
 * need not be read to show the overview (bench/dashboard.ts).
 */
import { RUN_STATES, type RunState } from '../core/types.ts'

/**
 * @param runs the runs table as the store names it
 * @param cap the placeholder bound to the row limit (SQLite: `:cap` bound to -1 for none;
 *   PostgreSQL: `$1`, bound to null for none)
 */
export function countRunsByStateSql(runs: string, cap: string): string {
  // A paused run is stored as 'retrying' with paused_on set (see PAUSED_RUN_AT).
  const where: Record<RunState, string> = {
    pending: "state = 'pending'",
    running: "state = 'running'",
    succeeded: "state = 'succeeded'",
    retrying: "state = 'retrying' AND paused_on IS NULL",
    paused: 'paused_on IS NOT NULL',
    dead: "state = 'dead'",
    skipped: "state = 'skipped'",
  }
  return RUN_STATES.map((state) => `SELECT '${state}' AS state, count(*) AS n FROM (SELECT 1 FROM ${runs} WHERE ${where[state]} LIMIT ${cap}) x`).join('\nUNION ALL ')
}

export function runCounts(rows: { state: string; n: unknown }[]): Record<RunState, number> {
  const counts = Object.fromEntries(RUN_STATES.map((state) => [state, 0])) as Record<RunState, number>
  for (const row of rows) counts[row.state as RunState] = Number(row.n)
  return counts
}
