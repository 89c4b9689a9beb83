/**
 * @module
 * Retention on PostgreSQL: the same steps as SQLite's (`../sqlite/retention.ts`), each in its own
 * short transaction with `synchronous_commit` off (a removal lost to a crash is done again).
 *
 * Several processes share the store: a step first takes a transaction-level advisory lock with
 * `pg_try_advisory_xact_lock`; a process that finds it taken answers `busy` and ends its pass,
 * leaving the work to the one already doing it. Every step is idempotent besides, so a pass cut
 * short anywhere is simply finished by the next one.
 *
 * An event is decided on twice: once to find candidates, then again after locking them
 * `FOR UPDATE`, in a new statement that sees every commit made before the lock. A replay of one of
 * its runs either committed before (its pending run keeps the event) or waits on the lock (and
 * then finds the payload removed, see {@link refuseRemovedPayload}); a run is never left pending on
 * an emptied payload, nor deleted just after being replayed.
 */
import type { Pool, PoolClient } from 'pg'
import {
  AGED_OUT,
  agedOut,
  currentCursor,
  decideActivations,
  decideEvents,
  examinedRows,
  latestCutoff,
  nextCursor,
  noneRemoved,
  PayloadRemovedError,
  retentionCutoffs,
  type ActivationFacts,
  type EventFacts,
  type Examined,
  type RetentionBatch,
  type RetentionCounts,
  type RetentionCutoffs,
  type RetentionRequest,
  type RetentionTask,
} from '../retention.ts'
import { UNFINISHED_STATES_SQL } from '../store.ts'
import { inTransaction, UNSYNCED } from './pool.ts'

/** The tables of a run's records, deleted before the runs, and what each counts as. */
const OF_RUNS = [['steps', 'steps'], ['attempts', 'attempts'], ['run_logs', 'runLogs'], ['outbound_calls', 'outboundCalls'], ['activations', 'activations']] as const

/** `s` is the quoted schema name. */
export function makeRetention(pool: Pool, s: string, schema: string) {
  const ofUnfinishedRun = (alias: string) => `EXISTS (SELECT 1 FROM ${s}.runs u WHERE u.id = ${alias}.run_id AND u.state IN ${UNFINISHED_STATES_SQL})`
  const count = async (client: PoolClient, sql: string, params: unknown[]) => (await client.query(sql, params)).rowCount ?? 0
  const newest = async (client: PoolClient, table: string, key: string, time: string, cutoff: number) => {
    const { rows } = await client.query<{ k: string }>(`SELECT ${key} AS k FROM ${s}.${table} WHERE ${time} < $1 ORDER BY ${time} DESC LIMIT 1`, [cutoff])
    return rows[0] ? Number(rows[0].k) : null
  }

  const eventFacts = /* sql */ `
    SELECT e.seq, e.received_at, e.payload_removed_at IS NOT NULL AS removed,
      EXISTS (SELECT 1 FROM ${s}.runs r WHERE r.event_seq = e.seq AND r.state IN ${UNFINISHED_STATES_SQL}) AS unfinished,
      (SELECT max(r.updated_at) FROM ${s}.runs r WHERE r.event_seq = e.seq) AS last_update
    FROM ${s}.events e`
  const runsOf = `SELECT id FROM ${s}.runs WHERE event_seq = ANY($1::bigint[])`

  async function events(client: PoolClient, after: number, cut: RetentionCutoffs, batch: number, now: number, removed: RetentionCounts): Promise<Examined | null> {
    const through = await newest(client, 'events', 'seq', 'received_at', latestCutoff(cut.payloads, cut.metadata)!)
    if (through === null) return null
    const { rows } = await client.query<EventFacts>(`${eventFacts} WHERE e.seq > $1 AND e.seq <= $2 ORDER BY e.seq LIMIT $3`, [after, through, batch])
    const first = decideEvents(rows, cut)
    const candidates = [...first.gone, ...first.emptied]
    if (candidates.length) {
      await client.query(`SELECT seq FROM ${s}.events WHERE seq = ANY($1::bigint[]) ORDER BY seq FOR UPDATE`, [candidates])
      const { gone, emptied } = decideEvents((await client.query<EventFacts>(`${eventFacts} WHERE e.seq = ANY($1::bigint[])`, [candidates])).rows, cut)
      if (gone.length) {
        for (const [table, kind] of OF_RUNS) removed[kind] += await count(client, `DELETE FROM ${s}.${table} WHERE run_id IN (${runsOf})`, [gone])
        removed.runs += await count(client, `DELETE FROM ${s}.runs WHERE event_seq = ANY($1::bigint[])`, [gone])
        removed.events += await count(client, `DELETE FROM ${s}.events WHERE seq = ANY($1::bigint[])`, [gone])
      }
      if (emptied.length) {
        removed.steps += await count(client, `DELETE FROM ${s}.steps WHERE run_id IN (${runsOf})`, [emptied])
        removed.eventPayloads += await count(
          client,
          `UPDATE ${s}.events SET payload = '{}', headers = '{}', payload_removed_at = $2 WHERE seq = ANY($1::bigint[]) AND payload_removed_at IS NULL`,
          [emptied, now],
        )
      }
    }
    return examinedRows(rows)
  }

  async function activations(client: PoolClient, after: number, cut: RetentionCutoffs, batch: number, removed: RetentionCounts): Promise<Examined | null> {
    const through = await newest(client, 'activations', 'seq', 'started_at', latestCutoff(cut.payloads, cut.metadata)!)
    if (through === null) return null
    const { rows } = await client.query<ActivationFacts>(
      `SELECT a.seq, a.started_at, a.run_id, a.result = '{}' AND a.logs = '[]' AS empty, ${ofUnfinishedRun('a')} AS unfinished
       FROM ${s}.activations a WHERE a.seq > $1 AND a.seq <= $2 ORDER BY a.seq LIMIT $3`,
      [after, through, batch],
    )
    const { gone, emptied } = decideActivations(rows, cut)
    if (gone.length) removed.activations += await count(client, `DELETE FROM ${s}.activations WHERE seq = ANY($1::bigint[])`, [gone])
    if (emptied.length) removed.activationPayloads += await count(client, `UPDATE ${s}.activations SET result = '{}', logs = '[]' WHERE seq = ANY($1::bigint[])`, [emptied])
    return examinedRows(rows)
  }

  async function runLogs(client: PoolClient, after: number, cut: RetentionCutoffs, batch: number, removed: RetentionCounts): Promise<Examined | null> {
    const through = await newest(client, 'run_logs', 'seq', 'at', cut.payloads!)
    if (through === null) return null
    const { rows } = await client.query<{ seq: string; old: boolean }>(
      `SELECT l.seq, l.at < $1 AND NOT ${ofUnfinishedRun('l')} AS old FROM ${s}.run_logs l WHERE l.seq > $2 AND l.seq <= $3 ORDER BY l.seq LIMIT $4`,
      [cut.payloads, after, through, batch],
    )
    const gone = rows.filter((row) => row.old).map((row) => Number(row.seq))
    if (gone.length) removed.runLogs += await count(client, `DELETE FROM ${s}.run_logs WHERE seq = ANY($1::bigint[])`, [gone])
    return examinedRows(rows)
  }

  async function step(client: PoolClient, task: RetentionTask, after: number, cut: RetentionCutoffs, batch: number, now: number, removed: RetentionCounts): Promise<Examined | null> {
    switch (task) {
      case 'events':
        return events(client, after, cut, batch, now, removed)
      case 'activations':
        return activations(client, after, cut, batch, removed)
      case 'run-logs':
        return runLogs(client, after, cut, batch, removed)
      case 'external-calls':
      case 'fingerprints': {
        const { table, key, time, counted } = AGED_OUT[task]
        const gone = await count(
          client,
          `DELETE FROM ${s}.${table} WHERE ${key} IN (SELECT ${key} FROM ${s}.${table} WHERE ${time} < $1 ORDER BY ${time} LIMIT $2)`,
          [cut[counted], batch],
        )
        removed[counted] += gone
        return agedOut(gone)
      }
    }
  }

  const lockKey = `storehook:retention:${schema}`
  return {
    applyRetention(request: RetentionRequest): Promise<RetentionBatch> {
      return inTransaction(
        pool,
        async (client) => {
          const removed = noneRemoved()
          const { rows } = await client.query<{ mine: boolean }>('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS mine', [lockKey])
          if (!rows[0]!.mine) return { removed, next: null, busy: true }
          const now = Math.floor(request.now)
          const cut = retentionCutoffs(request.policy, now)
          const cursor = currentCursor(request)
          const batch = Math.max(1, Math.floor(request.batchSize))
          const done = (await step(client, cursor.task, cursor.after, cut, batch, now, removed)) ?? { examined: 0, lastKey: cursor.after }
          return { removed, next: nextCursor(cursor, done.examined, batch, done.lastKey, cut) }
        },
        UNSYNCED,
      )
    },
  }
}

/**
 * For `replayRun`, in its transaction: refuses a run whose event's payload was removed. The event
 * row is locked `FOR SHARE` until the replay commits, so retention cannot empty it meanwhile, and
 * a removal committed while this waited is seen.
 *
 * @example
 * await refuseRemovedPayload(client, s, runId) // throws PayloadRemovedError
 */
export async function refuseRemovedPayload(client: PoolClient, s: string, runId: number): Promise<void> {
  const { rows } = await client.query<{ at: string | null }>(
    `SELECT e.payload_removed_at AS at FROM ${s}.runs r JOIN ${s}.events e ON e.seq = r.event_seq WHERE r.id = $1 FOR SHARE OF e`,
    [runId],
  )
  if (rows[0] && rows[0].at !== null) throw new PayloadRemovedError(runId, Number(rows[0].at))
}
