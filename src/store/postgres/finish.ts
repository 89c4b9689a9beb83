/**
 * @module
 * The rest of the run lifecycle on PostgreSQL: finishing an attempt, releasing runs at shutdown,
 * and when the next run falls due. Finishes and releases go through group commit, so many workers
 * finishing at once share commits.
 *
 * Lock order: like a claim, these touch a run's row before its attempts' rows, so a late finish
 * racing a reclaim of the same run waits instead of deadlocking. The bookkeeping is SQLite's
 * (`../sqlite/claim.ts`), statement for statement.
 *
 * The finishes of one batch normally go in one statement (`finishBatch`), like ingest; it closes
 * the attempts of the runs it finished, which is the same as SQLite's "close the attempt either
 * way": when a run is no longer this worker's, whatever took it (a reclaim, a release, a burial)
 * has already closed the attempt.
 */
import type { Pool, PoolClient } from 'pg'
import { finishValues } from '../finish-values.ts'
import type { FinishAttempt } from '../store.ts'
import type { Combined, GroupCommit } from './group-commit.ts'
import { statement } from './rows.ts'

/**
 * SQL: per action in $1, the earliest due time (runs_due) and the soonest lease (runs_leases), the
 * first entry of an index each, where a min() over the actions' unfinished runs reads them all.
 * Exported for postgres.test.ts, which checks the plan.
 */
export const nextRunAtSql = (s: string) => /* sql */ `
  SELECT min(next) AS next FROM unnest($1::text[]) AS a (action)
  CROSS JOIN LATERAL (
    (SELECT run_at AS next FROM ${s}.runs
     WHERE action = a.action AND state IN ('pending', 'retrying') ORDER BY run_at LIMIT 1)
    UNION ALL
    (SELECT lease_expires_at FROM ${s}.runs
     WHERE action = a.action AND state = 'running' ORDER BY lease_expires_at LIMIT 1)) AS firsts`

export function makeFinish(pool: Pool, s: string, schema: string, commits: GroupCommit) {
  // A paused attempt gives its attempt back (max_attempts + 1), as a release at shutdown does.
  const finishRun = statement(schema, 'finishrun', /* sql */ `
    UPDATE ${s}.runs SET state = $5, run_at = $6, lease_expires_at = NULL, worker_id = NULL,
      last_error = $7, paused_on = $8, max_attempts = max_attempts + $9, updated_at = $4
    WHERE id = $1 AND state = 'running' AND worker_id = $2 AND attempts = $3`)
  const finishAttemptRow = statement(schema, 'finishatt', /* sql */ `
    UPDATE ${s}.attempts SET ended_at = $3, outcome = $4, error_message = $5, error_stack = $6
    WHERE run_id = $1 AND number = $2 AND ended_at IS NULL`)

  const finishBatch = statement(schema, 'finishbatch', /* sql */ `
    WITH input AS (
      SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[])
        AS f (run_id, worker_id, attempt, state, run_at, error_message, outcome, error_stack)),
    finished AS (
      UPDATE ${s}.runs r SET state = f.state, run_at = f.run_at, lease_expires_at = NULL, worker_id = NULL,
        last_error = f.error_message, updated_at = $9
      FROM input f
      WHERE r.id = f.run_id AND r.state = 'running' AND r.worker_id = f.worker_id AND r.attempts = f.attempt
      RETURNING r.id),
    closed AS (
      UPDATE ${s}.attempts a SET ended_at = $9, outcome = f.outcome, error_message = f.error_message,
        error_stack = f.error_stack
      FROM finished JOIN input f ON f.run_id = finished.id
      WHERE a.run_id = f.run_id AND a.number = f.attempt AND a.ended_at IS NULL)
    SELECT id FROM finished`)

  const batched: Combined<FinishAttempt, boolean> = {
    oneStatement: true,
    async run(client, finishes) {
      // Two finishes of one run in a batch: an UPDATE … FROM would apply one of them at random;
      // run each alone instead, in order, so the first wins and the second learns it lost.
      if (new Set(finishes.map((f) => f.runId)).size < finishes.length) throw new Error('a run finished twice in one batch')
      const now = Date.now()
      const values = finishes.map((finish) => finishValues(finish.end, now))
      const { rows } = await client.query<{ id: string }>(
        finishBatch([
          finishes.map((f) => f.runId),
          finishes.map((f) => f.workerId),
          finishes.map((f) => f.attempt),
          values.map((v) => v.state),
          values.map((v) => v.runAt),
          values.map((v) => v.message),
          finishes.map((f) => f.end.outcome),
          values.map((v) => v.stack),
          now,
        ]),
      )
      const finished = new Set(rows.map((row) => Number(row.id)))
      return finishes.map((f) => finished.has(f.runId))
    },
  }

  // Loop suppression: written with the run's success, in its transaction (see ../sqlite/fingerprints.ts).
  const upsertFingerprints = statement(schema, 'fpupsert', /* sql */ `
    INSERT INTO ${s}.fingerprints (key, digest, expires_at)
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
    ON CONFLICT (key) DO UPDATE SET digest = excluded.digest, expires_at = excluded.expires_at`)
  const sweepFingerprints = statement(schema, 'fpsweep', /* sql */ `
    DELETE FROM ${s}.fingerprints WHERE key IN (SELECT key FROM ${s}.fingerprints WHERE expires_at <= $1 LIMIT 100)`)

  const upsertVersion = statement(schema, 'verupsert', /* sql */ `
    INSERT INTO ${s}.entity_versions (action, ordering_key, version, updated_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (action, ordering_key) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`)

  function finishAttempt(finish: FinishAttempt): Promise<boolean> {
    const { runId, workerId, attempt, end } = finish
    const fingerprints = end.outcome === 'succeeded' ? (end.fingerprints ?? []) : []
    const version = end.outcome === 'succeeded' ? end.version : undefined
    const alone = async (client: PoolClient) => {
      const now = Date.now()
      const { state, runAt, message, stack, pausedOn } = finishValues(end, now)
      const givenBack = end.outcome === 'paused' ? 1 : 0
      const changed = await client.query(finishRun([runId, workerId, attempt, now, state, runAt, message, pausedOn, givenBack]))
      // The attempt happened either way; if the lease was lost a reclaim already closed it.
      await client.query(finishAttemptRow([runId, attempt, now, end.outcome, message, stack]))
      if (changed.rowCount === 1 && fingerprints.length > 0) {
        await client.query(upsertFingerprints([fingerprints.map((f) => f.key), fingerprints.map((f) => f.digest), fingerprints.map((f) => f.expiresAt)]))
        await client.query(sweepFingerprints([now]))
      }
      if (changed.rowCount === 1 && version) await client.query(upsertVersion([version.action, version.orderingKey, version.version, now]))
      return changed.rowCount === 1
    }
    // The batched statement writes only a run's state and attempt: anything more goes alone.
    const plain = fingerprints.length === 0 && !version && end.outcome !== 'paused'
    return plain ? commits.write(alone, { with: batched, input: finish }) : commits.write(alone)
  }

  const selectFingerprint = statement(schema, 'fpselect', /* sql */ `
    SELECT 1 FROM ${s}.fingerprints WHERE key = $1 AND digest = $2 AND expires_at > $3`)

  async function fingerprintMatches(key: string, digest: string, now: number): Promise<boolean> {
    return (await pool.query(selectFingerprint([key, digest, now]))).rowCount === 1
  }

  // An attempt cut short by shutdown is not the run's fault: give the attempt back. Released runs
  // are claimable at once, so other processes are told.
  const releaseSql = /* sql */ `
    WITH released AS (
      UPDATE ${s}.runs SET state = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'pending' END,
        max_attempts = max_attempts + 1, run_at = $3, lease_expires_at = NULL, worker_id = NULL, updated_at = $3
      WHERE id = ANY($1::bigint[]) AND worker_id = $2 AND state = 'running'
      RETURNING id, attempts)
    UPDATE ${s}.attempts a SET ended_at = $3, outcome = 'interrupted', error_message = 'released at shutdown'
    FROM released WHERE a.run_id = released.id AND a.number = released.attempts AND a.ended_at IS NULL`

  function releaseRuns(workerId: string, runIds: number[]): Promise<void> {
    if (runIds.length === 0) return Promise.resolve()
    return commits.write(async (client, ctx) => {
      await client.query(releaseSql, [runIds, workerId, Date.now()])
      ctx.notify()
    })
  }

  const selectNextRunAt = statement(schema, 'nextrunat', nextRunAtSql(s))

  async function nextRunAt(actions: string[]): Promise<number | null> {
    const { rows } = await pool.query<{ next: string | null }>(selectNextRunAt([actions]))
    const next = rows[0]?.next ?? null
    return next === null ? null : Number(next)
  }

  return { finishAttempt, releaseRuns, nextRunAt, fingerprintMatches }
}
