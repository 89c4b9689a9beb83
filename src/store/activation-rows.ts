/**
 * @module
 * An `activations` row as either store returns it (the two schemas name the columns alike), and
 * its mapping to {@link ActivationRecord}.
 */
import type { ActivationRecord } from './store.ts'

export const ACTIVATION_COLUMNS = 'activation_id, action, cause, started_at, ended_at, status, result, logs, left_work, run_id, attempt'

export function toActivation(row: Record<string, unknown>): ActivationRecord {
  return {
    activationId: String(row.activation_id),
    action: String(row.action),
    cause: String(row.cause),
    start: Number(row.started_at),
    end: Number(row.ended_at),
    status: String(row.status),
    result: JSON.parse(String(row.result)) as Record<string, unknown>,
    logs: JSON.parse(String(row.logs)) as string[],
    leftWork: Boolean(row.left_work),
    runId: row.run_id === null ? null : Number(row.run_id),
    attempt: row.attempt === null ? null : Number(row.attempt),
  }
}

/** The column values of an activation, in {@link ACTIVATION_COLUMNS} order. */
export function activationValues(a: ActivationRecord): (string | number | null)[] {
  return [a.activationId, a.action, a.cause, Math.round(a.start), Math.round(a.end), a.status, JSON.stringify(a.result), JSON.stringify(a.logs), a.leftWork ? 1 : 0, a.runId, a.attempt]
}
