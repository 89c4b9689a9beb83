/**
 * @module
 * Ingest: an event and one run per subscribed action, in one transaction, deduplicated on
 * (source, id). A repeated delivery only bumps the event's duplicate counter.
 */
import type { DatabaseSync } from 'node:sqlite'
import type { IngestItem, IngestOutcome } from '../store.ts'
import type { GroupCommit } from './group-commit.ts'

export function makeIngest(db: DatabaseSync, commits: GroupCommit) {
  // `duplicate_deliveries` is 0 only on the row's first insert, which tells the two cases apart.
  const upsertEvent = db.prepare(/* sql */ `
    INSERT INTO events (source, id, type, payload, headers, received_at)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (source, id) DO UPDATE SET duplicate_deliveries = duplicate_deliveries + 1
    RETURNING seq, duplicate_deliveries`)
  const insertRun = db.prepare(/* sql */ `
    INSERT INTO runs (event_seq, action, state, max_attempts, ordering_key, run_at, created_at, updated_at)
    VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)
    RETURNING id`)

  function ingestOne(item: IngestItem): IngestOutcome {
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
    const runIds = item.runs.map((run) => {
      const inserted = insertRun.get(row.seq, run.action, run.maxAttempts, run.orderingKey, now, now, now)
      return Number((inserted as { id: number }).id)
    })
    return { seq: row.seq, duplicate: false, runIds }
  }

  return function ingest(items: IngestItem[]): Promise<IngestOutcome[]> {
    // One write for the whole request: a batch from the platform is durable all together or not at all.
    return commits.write(() => items.map(ingestOne))
  }
}
