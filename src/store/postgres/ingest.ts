/**
 * @module
 * Ingest: an event and one run per subscribed action, deduplicated on (source, id). A repeated
 * delivery only bumps the event's duplicate counter. A request's events are one write: durable all
 * together or not at all. Writes that created runs NOTIFY idle workers in every process at commit.
 *
 * Two paths with the same outcome. Normally every ingest of a group-commit batch goes into one
 * statement (`ingestBatch`): one round trip and one plan for hundreds of events, which is what
 * keeps PostgreSQL ingest in the thousands per second. If that statement fails (one event
 * PostgreSQL cannot store, say a NUL character in its id), the batch is rolled back and each
 * request runs alone through `ingestOne` under its own savepoint, so only the bad one fails.
 *
 * With an {@link IngestClaim}, the batched statement starts the runs the ingesting worker has
 * room for (due now, without an ordering key) as a claim would, attempt row included, and they
 * are handed back built from memory: no claim transaction and no re-read per event. Runs with an
 * ordering key are left to the claim, which alone decides key order across processes; the
 * savepoint path claims nothing (the contract allows it).
 */
import type { PoolClient } from 'pg'
import type { StoredEvent } from '../../core/types.ts'
import { startedRun } from '../started-run.ts'
import type { ClaimedRun, IngestClaim, IngestItem, IngestOutcome } from '../store.ts'
import type { Combined, GroupCommit, WriteContext } from './group-commit.ts'
import { statement } from './rows.ts'

export function makeIngest(s: string, schema: string, commits: GroupCommit) {
  // `duplicate_deliveries` is 0 only on the row's first insert, which tells the two cases apart.
  // Runs are inserted in the order given, so their ids ascend in that order.
  const ingestOne = statement(schema, 'ingest', /* sql */ `
    WITH event AS (
      INSERT INTO ${s}.events (source, id, type, payload, headers, received_at)
      VALUES ($1, $2, $3, $4::json, $5::json, $6)
      ON CONFLICT (source, id) DO UPDATE SET duplicate_deliveries = ${s}.events.duplicate_deliveries + 1
      RETURNING seq, duplicate_deliveries),
    created AS (
      INSERT INTO ${s}.runs (event_seq, source, event_type, action, state, max_attempts, ordering_key, run_at, created_at, updated_at)
      SELECT event.seq, $1, $3, r.action, 'pending', r.max_attempts, r.ordering_key, COALESCE(r.run_at, $6), $6, $6
      FROM event, unnest($7::text[], $8::int[], $9::text[], $10::bigint[]) WITH ORDINALITY AS r (action, max_attempts, ordering_key, run_at, n)
      WHERE event.duplicate_deliveries = 0
      ORDER BY r.n
      RETURNING id)
    SELECT seq, duplicate_deliveries, ARRAY(SELECT id FROM created ORDER BY id) AS run_ids FROM event`)

  async function ingestAlone(client: PoolClient, ctx: WriteContext, items: IngestItem[]): Promise<IngestOutcome[]> {
    const outcomes: IngestOutcome[] = []
    for (const item of items) {
      const { event } = item
      const { rows } = await client.query<{ seq: string; duplicate_deliveries: number; run_ids: string[] }>(
        ingestOne([
          item.source,
          event.id,
          event.type,
          JSON.stringify(event.payload ?? null),
          JSON.stringify(event.headers),
          Date.now(),
          item.runs.map((r) => r.action),
          item.runs.map((r) => r.maxAttempts),
          item.runs.map((r) => r.orderingKey),
          item.runs.map((r) => (r.runAt === undefined ? null : Math.ceil(r.runAt))),
        ]),
      )
      const row = rows[0]!
      const duplicate = row.duplicate_deliveries > 0
      if (!duplicate && row.run_ids.length > 0) ctx.notify()
      outcomes.push({ seq: Number(row.seq), duplicate, runIds: duplicate ? [] : row.run_ids.map(Number) })
    }
    return outcomes
  }

  // The batch's distinct events, in arrival order (ordinality n); `extra` counts the repeats of an
  // event within the batch, which are its duplicates. A new row therefore has exactly `extra`
  // duplicate deliveries, an existing one more (its old count, plus this delivery, plus repeats).
  // Payloads and headers travel as one JSON array each; `json` keeps every element's text as sent.
  // The result is one row per distinct event (n set) followed by one per run created (n null):
  // grouping runs by event in SQL made PostgreSQL re-aggregate once per event.
  const ingestBatch = statement(schema, 'ingestbatch', /* sql */ `
    WITH input AS (
      SELECT i.source, i.id, i.type, i.extra, i.n, p.value AS payload, h.value AS headers
      FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) WITH ORDINALITY AS i (source, id, type, extra, n)
      JOIN json_array_elements($5::json) WITH ORDINALITY AS p (value, n) ON p.n = i.n
      JOIN json_array_elements($6::json) WITH ORDINALITY AS h (value, n) ON h.n = i.n),
    event AS (
      INSERT INTO ${s}.events (source, id, type, payload, headers, received_at, duplicate_deliveries)
      SELECT source, id, type, payload, headers, $7, extra FROM input ORDER BY n
      ON CONFLICT (source, id) DO UPDATE
        SET duplicate_deliveries = ${s}.events.duplicate_deliveries + 1 + excluded.duplicate_deliveries
      RETURNING seq, source, id, duplicate_deliveries),
    fresh AS (
      SELECT i.n, e.seq, i.source, i.type, e.duplicate_deliveries = i.extra AS inserted
      FROM input i JOIN event e ON e.source = i.source AND e.id = i.id),
    created AS (
      INSERT INTO ${s}.runs (event_seq, source, event_type, action, state, attempts, max_attempts, ordering_key, run_at,
          lease_expires_at, worker_id, created_at, updated_at)
      SELECT f.seq, f.source, f.type, r.action, CASE WHEN r.worker_id IS NULL THEN 'pending' ELSE 'running' END,
        CASE WHEN r.worker_id IS NULL THEN 0 ELSE 1 END, r.max_attempts, r.ordering_key,
        COALESCE(r.run_at, $7), r.lease, r.worker_id, $7, $7
      FROM unnest($8::int[], $9::text[], $10::int[], $11::text[], $12::bigint[], $13::text[], $14::bigint[])
        WITH ORDINALITY AS r (item, action, max_attempts, ordering_key, run_at, worker_id, lease, n)
      JOIN fresh f ON f.n = r.item
      WHERE f.inserted
      ORDER BY r.n
      RETURNING id, event_seq, worker_id),
    started AS (
      INSERT INTO ${s}.attempts (run_id, number, worker_id, started_at)
      SELECT id, 1, worker_id, $7 FROM created WHERE worker_id IS NOT NULL)
    SELECT f.n, f.seq, f.inserted, NULL::bigint AS run_id FROM fresh f
    UNION ALL
    SELECT NULL, c.event_seq, NULL, c.id FROM created c`)

  const batched: Combined<{ items: IngestItem[]; claim: IngestClaim | undefined }, IngestOutcome[]> = {
    oneStatement: true,
    async run(client, writes, ctx) {
      const now = Date.now()
      const sources: string[] = []
      const ids: string[] = []
      const types: string[] = []
      const extras: number[] = []
      const payloads: unknown[] = []
      const headers: unknown[] = []
      const runItem: number[] = []
      const runAction: string[] = []
      const runMaxAttempts: number[] = []
      const runKey: (string | null)[] = []
      const runAt: (number | null)[] = []
      const runWorker: (string | null)[] = []
      const runLease: (number | null)[] = []
      /** Per distinct event: which of its runs (by position) start now, with their lease. */
      const starts: (number | null)[][] = []
      let pendingRuns = 0
      const firstOf = new Map<string, number>()
      // For each item of each write: the index of its distinct event, and whether it is the first.
      const refs = writes.map(({ items, claim }) => {
        const slotsLeft = new Map(Object.entries(claim?.slots ?? {}).map(([action, { limit }]) => [action, limit]))
        return items.map((item) => {
          const key = `${item.source.length}:${item.source}${item.event.id}`
          const seen = firstOf.get(key)
          if (seen !== undefined) {
            extras[seen]! += 1
            return { index: seen, first: false, item, claim }
          }
          const index = sources.length
          firstOf.set(key, index)
          sources.push(item.source)
          ids.push(item.event.id)
          types.push(item.event.type)
          extras.push(0)
          payloads.push(item.event.payload ?? null)
          headers.push(item.event.headers)
          const leases: (number | null)[] = []
          for (const run of item.runs) {
            const left = slotsLeft.get(run.action) ?? 0
            const startNow = claim !== undefined && left > 0 && run.orderingKey === null && (run.runAt === undefined || run.runAt <= now)
            const lease = startNow ? now + claim.slots[run.action]!.leaseMs : null
            if (startNow) slotsLeft.set(run.action, left - 1)
            else pendingRuns += 1
            leases.push(lease)
            runItem.push(index + 1)
            runAction.push(run.action)
            runMaxAttempts.push(run.maxAttempts)
            runKey.push(run.orderingKey)
            runAt.push(run.runAt === undefined ? null : Math.ceil(run.runAt))
            runWorker.push(startNow ? claim.workerId : null)
            runLease.push(lease === null ? null : Math.ceil(lease))
          }
          starts.push(leases)
          return { index, first: true, item, claim }
        })
      })
      const { rows } = await client.query<{ n: string | null; seq: string; inserted: boolean | null; run_id: string | null }>(
        ingestBatch([
          sources,
          ids,
          types,
          extras,
          JSON.stringify(payloads),
          JSON.stringify(headers),
          now,
          runItem,
          runAction,
          runMaxAttempts,
          runKey,
          runAt,
          runWorker,
          runLease,
        ]),
      )
      const byIndex: { seq: number; inserted: boolean; runIds: number[] }[] = []
      const bySeq = new Map<string, number[]>()
      for (const row of rows) {
        if (row.n !== null) {
          const runIds: number[] = []
          bySeq.set(row.seq, runIds)
          byIndex[Number(row.n) - 1] = { seq: Number(row.seq), inserted: row.inserted!, runIds }
        }
      }
      for (const row of rows) if (row.run_id !== null) bySeq.get(row.seq)!.push(Number(row.run_id))
      for (const runIds of bySeq.values()) runIds.sort((a, b) => a - b)
      // Other processes need waking only for runs left pending.
      if (pendingRuns > 0 && byIndex.some((event) => event.inserted && event.runIds.length > 0)) ctx.notify()
      return refs.map((items) =>
        items.map(({ index, first, item, claim }): IngestOutcome => {
          const event = byIndex[index]!
          const duplicate = !first || !event.inserted
          if (duplicate) return { seq: event.seq, duplicate, runIds: [] }
          // Run ids ascend in input order, so the k-th id is the item's k-th run.
          const stored: StoredEvent = { ...item.event, seq: event.seq, source: item.source, receivedAt: now }
          const claimed: ClaimedRun[] = []
          starts[index]!.forEach((lease, k) => {
            if (lease === null) return
            const run = startedRun(event.runIds[k]!, stored, item.runs[k]!, claim!.workerId, now, Math.ceil(lease))
            claimed.push({ run, event: stored })
          })
          return { seq: event.seq, duplicate, runIds: event.runIds, ...(claimed.length ? { claimed } : {}) }
        }),
      )
    },
  }

  return function ingest(items: IngestItem[], claim?: IngestClaim): Promise<IngestOutcome[]> {
    return commits.write((client, ctx) => ingestAlone(client, ctx, items), { with: batched, input: { items, claim } })
  }
}
