/**
 * @module
 * A run started in the ingest transaction (see `IngestClaim`), built from what the ingest holds
 * in memory rather than read back: the same for both stores.
 */
import type { Run, StoredEvent } from '../core/types.ts'
import type { NewRun } from './store.ts'

export function startedRun(id: number, event: StoredEvent, run: NewRun, workerId: string, now: number, lease: number): Run {
  return {
    id,
    eventSeq: event.seq,
    source: event.source,
    eventId: event.id,
    eventType: event.type,
    action: run.action,
    state: 'running',
    attempts: 1,
    maxAttempts: run.maxAttempts,
    orderingKey: run.orderingKey,
    runAt: now,
    leaseExpiresAt: lease,
    workerId,
    lastError: null,
    replayOf: null,
    pausedOn: null,
    createdAt: now,
    updatedAt: now,
  }
}
