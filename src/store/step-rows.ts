/**
 * @module
 * A stored step's row as both stores return it (the same columns), mapped to {@link Step}.
 */
import type { Step } from './store.ts'

export function toStep(row: Record<string, unknown>): Step {
  return {
    runId: Number(row.run_id),
    name: String(row.name),
    attempt: Number(row.attempt),
    // '' is how a step that returned nothing (undefined) is stored.
    result: row.result === '' ? undefined : JSON.parse(String(row.result)),
    finishedAt: Number(row.finished_at),
  }
}
