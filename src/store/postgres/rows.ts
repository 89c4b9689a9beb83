/**
 * @module
 * Row shapes as `pg` returns them, and their mapping to the core types. Shared by every query
 * module of this store. `bigint` columns arrive as strings (pg keeps 64-bit integers exact); the
 * values kept here (ids, epoch ms) fit a double, so they become numbers. `json` columns arrive
 * parsed.
 */
import type { Attempt, AttemptOutcome, Run, RunState, StoredEvent } from '../../core/types.ts'
import { storedState, type EventWithDeliveries } from '../store.ts'

export type Row = Record<string, unknown>

/** A run's own columns, listed so that a prepared statement's result never changes shape. */
export const RUN_COLUMNS = `id, event_seq, action, state, attempts, max_attempts, ordering_key, run_at, lease_expires_at,
  worker_id, last_error, replay_of, created_at, updated_at`

/**
 * A named statement: PostgreSQL parses and plans it once per connection instead of once per call,
 * which matters on the hot paths (ingest, claim, finish). The name carries the schema, since the
 * text does. Results must name their columns (no `*`): a migration adding a column would otherwise
 * break the statements prepared in processes still running the older storehook.
 *
 * @example
 * const finishRun = statement(schema, 'finish', `UPDATE … WHERE id = $1`)
 * await client.query(finishRun([runId]))
 */
export function statement(schema: string, name: string, text: string) {
  const fullName = `sh_${name}_${schema}`
  return (values: unknown[]) => ({ name: fullName, text, values })
}

/** Selects a run with the event fields a Run carries from `s.runs r`. Append WHERE/ORDER clauses. */
export const runSelect = (s: string) => /* sql */ `
  SELECT r.*, e.id AS event_id
  FROM ${s}.runs r JOIN ${s}.events e ON e.seq = r.event_seq`

const num = (value: unknown) => Number(value)
const numOrNull = (value: unknown) => (value === null ? null : Number(value))
const strOrNull = (value: unknown) => (value === null ? null : String(value))

export function toRun(row: Row): Run {
  return {
    id: num(row.id),
    eventSeq: num(row.event_seq),
    source: String(row.source),
    eventId: String(row.event_id),
    eventType: String(row.event_type),
    action: String(row.action),
    state: storedState(row.state as RunState, row.paused_on),
    attempts: num(row.attempts),
    maxAttempts: num(row.max_attempts),
    orderingKey: strOrNull(row.ordering_key),
    runAt: num(row.run_at),
    leaseExpiresAt: numOrNull(row.lease_expires_at),
    workerId: strOrNull(row.worker_id),
    lastError: strOrNull(row.last_error),
    replayOf: numOrNull(row.replay_of),
    pausedOn: row.paused_on === null || row.paused_on === undefined ? null : String(row.paused_on),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  }
}

export function toEvent(row: Row): EventWithDeliveries {
  return {
    seq: num(row.seq),
    source: String(row.source),
    id: String(row.id),
    type: String(row.type),
    payload: row.payload,
    headers: row.headers as StoredEvent['headers'],
    receivedAt: num(row.received_at),
    duplicateDeliveries: num(row.duplicate_deliveries),
    ...(row.payload_removed_at === null || row.payload_removed_at === undefined ? {} : { payloadRemovedAt: num(row.payload_removed_at) }),
  }
}

export function toAttempt(row: Row): Attempt {
  return {
    runId: num(row.run_id),
    number: num(row.number),
    workerId: String(row.worker_id),
    startedAt: num(row.started_at),
    endedAt: numOrNull(row.ended_at),
    outcome: row.outcome === null ? null : (row.outcome as AttemptOutcome),
    errorMessage: strOrNull(row.error_message),
    errorStack: strOrNull(row.error_stack),
  }
}
