/**
 * @module
 * Row shapes as SQLite returns them, and their mapping to the core types. Shared by every query
 * module of this store.
 */
import type { Attempt, AttemptOutcome, Run, RunState } from '../../core/types.ts'
import { storedState, type EventWithDeliveries } from '../store.ts'

/** Selects a run with the event fields a Run carries. Append WHERE/ORDER clauses. */
export const RUN_SELECT = /* sql */ `
  SELECT r.*, e.id AS event_id
  FROM runs r JOIN events e ON e.seq = r.event_seq`

export type Row = Record<string, unknown>

export function toRun(row: Row): Run {
  return {
    id: Number(row.id),
    eventSeq: Number(row.event_seq),
    source: String(row.source),
    eventId: String(row.event_id),
    eventType: String(row.event_type),
    action: String(row.action),
    state: storedState(row.state as RunState, row.paused_on),
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    orderingKey: row.ordering_key === null ? null : String(row.ordering_key),
    runAt: Number(row.run_at),
    leaseExpiresAt: row.lease_expires_at === null ? null : Number(row.lease_expires_at),
    workerId: row.worker_id === null ? null : String(row.worker_id),
    lastError: row.last_error === null ? null : String(row.last_error),
    replayOf: row.replay_of === null ? null : Number(row.replay_of),
    pausedOn: row.paused_on === null || row.paused_on === undefined ? null : String(row.paused_on),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}

export function toEvent(row: Row): EventWithDeliveries {
  return {
    seq: Number(row.seq),
    source: String(row.source),
    id: String(row.id),
    type: String(row.type),
    payload: JSON.parse(String(row.payload)),
    headers: JSON.parse(String(row.headers)),
    receivedAt: Number(row.received_at),
    duplicateDeliveries: Number(row.duplicate_deliveries),
    ...(row.payload_removed_at === null || row.payload_removed_at === undefined ? {} : { payloadRemovedAt: Number(row.payload_removed_at) }),
  }
}

export function toAttempt(row: Row): Attempt {
  return {
    runId: Number(row.run_id),
    number: Number(row.number),
    workerId: String(row.worker_id),
    startedAt: Number(row.started_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    outcome: row.outcome === null ? null : (row.outcome as AttemptOutcome),
    errorMessage: row.error_message === null ? null : String(row.error_message),
    errorStack: row.error_stack === null ? null : String(row.error_stack),
  }
}
