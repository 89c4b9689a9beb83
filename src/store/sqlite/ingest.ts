/**
 * @module
 * Ingest: an event and one run per subscribed action, in one transaction, deduplicated on
 * (source, id). A repeated delivery only bumps the event's duplicate counter. With an
 * {@link IngestClaim}, runs the ingesting worker has room for start right here, as a claim would
 * start them, and are handed back built from memory instead of read again.
 */
import type { DatabaseSync } from 'node:sqlite'
import type { StoredEvent } from '../../core/types.ts'
import { startedRun } from '../started-run.ts'
import type { ClaimedRun, IngestClaim, IngestItem, IngestOutcome } from '../store.ts'
import type { GroupCommit } from './group-commit.ts'

export function makeIngest(db: DatabaseSync, commits: GroupCommit) {
  // `duplicate_deliveries` is 0 only on the row's first insert, which tells the two cases apart.
  const upsertEvent = db.prepare(/* sql */ `
    INSERT INTO events (source, id, type, payload, headers, received_at)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (source, id) DO UPDATE SET duplicate_deliveries = duplicate_deliveries + 1
    RETURNING seq, duplicate_deliveries`)
  const insertRun = db.prepare(/* sql */ `
    INSERT INTO runs (event_seq, source, event_type, action, state, max_attempts, ordering_key, run_at, created_at, updated_at)
    VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)
    RETURNING id`)
  const insertRunningRun = db.prepare(/* sql */ `
    INSERT INTO runs (event_seq, source, event_type, action, state, attempts, max_attempts, ordering_key, run_at, lease_expires_at, worker_id, created_at, updated_at)
    VALUES (:seq, :source, :type, :action, 'running', 1, :max_attempts, :ordering_key, :now, :lease, :worker, :now, :now)
    RETURNING id`)
  const insertAttempt = db.prepare(/* sql */ `
    INSERT INTO attempts (run_id, number, worker_id, started_at) VALUES (?, 1, ?, ?)`)
  // The new run is the key's latest, so any unfinished run with its key comes before it.
  const keyBusy = db.prepare(/* sql */ `
    SELECT 1 FROM runs
    WHERE action = ? AND ordering_key = ? AND state IN ('pending', 'retrying', 'running')
    LIMIT 1`)

  function ingestOne(item: IngestItem, claim: IngestClaim | undefined, slotsLeft: Map<string, number>): IngestOutcome {
    const now = Date.now()
    const { event } = item
    const row = upsertEvent.get(
      item.source,
      event.id,
      event.type,
      JSON.stringify(event.payload ?? null),
      JSON.stringify(event.headers),
      now,
    ) as { seq: number; duplicate_deliveries: number }
    if (row.duplicate_deliveries > 0) return { seq: row.seq, duplicate: true, runIds: [] }
    const stored: StoredEvent = { ...event, seq: row.seq, source: item.source, receivedAt: now }
    const claimed: ClaimedRun[] = []
    const runIds = item.runs.map((run) => {
      const left = slotsLeft.get(run.action) ?? 0
      const runAt = run.runAt === undefined ? now : Math.ceil(run.runAt)
      // A run not yet due (scheduled for later) waits for a claim at its time, like a retry.
      const startNow =
        claim !== undefined && left > 0 && runAt <= now && (run.orderingKey === null || !keyBusy.get(run.action, run.orderingKey))
      if (!startNow) {
        return Number((insertRun.get(row.seq, item.source, event.type, run.action, run.maxAttempts, run.orderingKey, runAt, now, now) as { id: number }).id)
      }
      slotsLeft.set(run.action, left - 1)
      const lease = now + claim.slots[run.action]!.leaseMs
      const { id } = insertRunningRun.get({
        seq: row.seq,
        source: item.source,
        type: event.type,
        action: run.action,
        max_attempts: run.maxAttempts,
        ordering_key: run.orderingKey,
        now,
        lease,
        worker: claim.workerId,
      }) as { id: number }
      insertAttempt.run(id, claim.workerId, now)
      claimed.push({ run: startedRun(Number(id), stored, run, claim.workerId, now, lease), event: stored })
      return Number(id)
    })
    return { seq: row.seq, duplicate: false, runIds, ...(claimed.length ? { claimed } : {}) }
  }

  return function ingest(items: IngestItem[], claim?: IngestClaim): Promise<IngestOutcome[]> {
    // One write for the whole request: a batch from the platform is durable all together or not at all.
    return commits.write(() => {
      const slotsLeft = new Map(Object.entries(claim?.slots ?? {}).map(([action, { limit }]) => [action, limit]))
      return items.map((item) => ingestOne(item, claim, slotsLeft))
    })
  }
}

