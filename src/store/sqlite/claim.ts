/**
 * @module
 * The run lifecycle on SQLite: claim, finish, release. SQLite has one writer at a time, so a claim
 * is a plain UPDATE … RETURNING inside the write transaction; no row locks are needed.
 */
import type { DatabaseSync } from 'node:sqlite'
import { finishValues } from '../finish-values.ts'
import type { ClaimedRun, ClaimRequest, FinishAttempt } from '../store.ts'
import type { makeFingerprints } from './fingerprints.ts'
import type { GroupCommit } from './group-commit.ts'
import { RUN_SELECT, toEvent, toRun, type Row } from './rows.ts'
import type { makeVersions } from './steps.ts'

const LEASE_LOST_ON_LAST_ATTEMPT =
  'the worker running the last attempt stopped without finishing it (lease expired)'

/** Claims and outcomes are not acknowledged to anyone: no fsync of their own (see group-commit.ts). */
const WORKER_BOOKKEEPING = { durable: false }

/*
 * INDEXED BY in the statements below: without statistics SQLite may prefer the dashboard's
 * runs_action (every run of the action, finished ones included), whose cost grows with the
 * action's whole history. runs_due holds waiting runs by due time and runs_leases running runs by
 * lease, so each statement reads what it takes (plus runs an ordering key holds back), however
 * many runs wait for later. The state lists repeat the partial indexes', which SQLite needs to
 * use them. Exported for sqlite.test.ts, which checks the plans.
 */

/** A run whose process died on its last attempt must not run again: it may be what kills it. */
export const BURY_SQL = /* sql */ `
  UPDATE runs SET state = 'dead', lease_expires_at = NULL, worker_id = NULL,
    last_error = '${LEASE_LOST_ON_LAST_ATTEMPT}', updated_at = :now
  WHERE id IN (
    SELECT id FROM runs INDEXED BY runs_leases
    WHERE action = :action AND state = 'running' AND lease_expires_at <= :now AND attempts >= max_attempts)
  RETURNING id`

/** The ordering-key test admits only the earliest unfinished run of each key. */
const KEY_ALLOWS = /* sql */ `
  (r.ordering_key IS NULL OR NOT EXISTS (
    SELECT 1 FROM runs p
    WHERE p.action = r.action AND p.ordering_key = r.ordering_key AND p.id < r.id
      AND p.state IN ('pending', 'retrying', 'running')))`

const START = /* sql */ `
  UPDATE runs SET state = 'running', attempts = attempts + 1, lease_expires_at = :lease,
    worker_id = :worker, updated_at = :now`

/** Runs whose lease ran out (their process died), soonest first: they go before waiting runs. */
export const RECLAIM_SQL = /* sql */ `${START}
  WHERE id IN (
    SELECT r.id FROM runs r INDEXED BY runs_leases
    WHERE r.action = :action AND r.state = 'running' AND r.lease_expires_at <= :now AND ${KEY_ALLOWS}
    ORDER BY r.lease_expires_at, r.id
    LIMIT :limit)
  RETURNING id, attempts`

/** Per action, the earliest due time and the soonest lease: each the first entry of an index. */
export const NEXT_RUN_AT_SQL = /* sql */ `
  SELECT min(next) AS next FROM (
    SELECT (SELECT min(run_at) FROM runs INDEXED BY runs_due
            WHERE action = a.value AND state IN ('pending', 'retrying')) AS next
    FROM json_each(:actions) a
    UNION ALL
    SELECT (SELECT min(lease_expires_at) FROM runs INDEXED BY runs_leases
            WHERE action = a.value AND state = 'running')
    FROM json_each(:actions) a)`

/** Waiting runs that are due, earliest due first (for new runs, the order they arrived in). */
export const CLAIM_SQL = /* sql */ `${START}
  WHERE id IN (
    SELECT r.id FROM runs r INDEXED BY runs_due
    WHERE r.action = :action AND r.state IN ('pending', 'retrying') AND r.run_at <= :now AND ${KEY_ALLOWS}
    ORDER BY r.run_at, r.id
    LIMIT :limit)
  RETURNING id, attempts`

export function makeRunLifecycle(
  db: DatabaseSync,
  commits: GroupCommit,
  fingerprints: ReturnType<typeof makeFingerprints>,
  versions: ReturnType<typeof makeVersions>,
) {
  const buryAbandonedLastAttempts = db.prepare(BURY_SQL)
  const markInterrupted = db.prepare(/* sql */ `
    UPDATE attempts SET ended_at = :now, outcome = 'interrupted', error_message = :message
    WHERE run_id = :run_id AND ended_at IS NULL`)
  const reclaim = db.prepare(RECLAIM_SQL)
  const claim = db.prepare(CLAIM_SQL)
  const insertAttempt = db.prepare(/* sql */ `
    INSERT INTO attempts (run_id, number, worker_id, started_at) VALUES (?, ?, ?, ?)`)
  const selectRun = db.prepare(`${RUN_SELECT} WHERE r.id = ?`)
  const selectEvent = db.prepare(`SELECT * FROM events WHERE seq = ?`)

  function claimRuns(request: ClaimRequest): Promise<ClaimedRun[]> {
    return commits.write(() => {
      const now = Date.now()
      for (const { id } of buryAbandonedLastAttempts.all({ action: request.action, now }) as Row[]) {
        markInterrupted.run({ run_id: id as number, now, message: LEASE_LOST_ON_LAST_ATTEMPT })
      }
      const params = { action: request.action, now, lease: now + request.leaseMs, worker: request.workerId, limit: request.limit }
      const claimed = reclaim.all(params) as { id: number; attempts: number }[]
      if (claimed.length < request.limit) claimed.push(...(claim.all({ ...params, limit: request.limit - claimed.length }) as typeof claimed))
      claimed.sort((a, b) => a.id - b.id)
      return claimed.map(({ id, attempts }) => {
        // A reclaimed run's previous attempt never ended: its process died holding the lease.
        // (A first attempt has no previous one: skip the statement on the common path.)
        if (attempts > 1) markInterrupted.run({ run_id: id, now, message: 'the worker stopped without finishing (lease expired)' })
        insertAttempt.run(id, attempts, request.workerId, now)
        const run = toRun(selectRun.get(id) as Row)
        return { run, event: toEvent(selectEvent.get(run.eventSeq) as Row) }
      })
    }, WORKER_BOOKKEEPING)
  }

  // A paused attempt gives its attempt back (max_attempts + 1), as a release at shutdown does.
  const finishRun = db.prepare(/* sql */ `
    UPDATE runs SET state = :state, run_at = :run_at, lease_expires_at = NULL, worker_id = NULL,
      last_error = :error, paused_on = :paused_on, max_attempts = max_attempts + :given_back, updated_at = :now
    WHERE id = :id AND state = 'running' AND worker_id = :worker AND attempts = :attempt
    RETURNING action, ordering_key`)
  const finishAttemptRow = db.prepare(/* sql */ `
    UPDATE attempts SET ended_at = :now, outcome = :outcome, error_message = :message, error_stack = :stack
    WHERE run_id = :id AND number = :attempt AND ended_at IS NULL`)

  function finishAttempt({ runId, workerId, attempt, end }: FinishAttempt): Promise<boolean> {
    return commits.write(() => {
      const now = Date.now()
      const { state, runAt, message, stack, pausedOn } = finishValues(end, now)
      const finished = finishRun.get({
        id: runId,
        worker: workerId,
        attempt,
        state,
        run_at: runAt,
        error: message,
        paused_on: pausedOn,
        given_back: end.outcome === 'paused' ? 1 : 0,
        now,
      }) as Row | undefined
      // The attempt happened either way; if the lease was lost a reclaim already closed it.
      finishAttemptRow.run({ id: runId, attempt, now, outcome: end.outcome, message, stack })
      if (finished && end.outcome === 'succeeded') {
        if (end.fingerprints?.length) fingerprints.record(end.fingerprints, now)
        if (end.version) versions.record(end.version.action, end.version.orderingKey, end.version.version, now)
      }
      return finished !== undefined
    }, WORKER_BOOKKEEPING)
  }

  const resume = db.prepare(/* sql */ `
    UPDATE runs SET paused_on = NULL, run_at = :now, updated_at = :now
    WHERE id IN (SELECT id FROM runs WHERE paused_on = :connection AND state = 'retrying' ORDER BY id LIMIT :limit)`)

  function resumePausedRuns(connection: string, limit?: number): Promise<number> {
    return commits.write(
      () => Number(resume.run({ connection, limit: limit ?? -1, now: Date.now() }).changes),
      WORKER_BOOKKEEPING,
    )
  }

  // An attempt cut short by shutdown is not the run's fault: give the attempt back.
  const releaseRun = db.prepare(/* sql */ `
    UPDATE runs SET state = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'pending' END,
      max_attempts = max_attempts + 1, run_at = :now, lease_expires_at = NULL, worker_id = NULL,
      updated_at = :now
    WHERE id = :id AND worker_id = :worker AND state = 'running'
    RETURNING attempts`)
  const releaseAttempt = db.prepare(/* sql */ `
    UPDATE attempts SET ended_at = :now, outcome = 'interrupted', error_message = 'released at shutdown'
    WHERE run_id = :id AND number = :attempt AND ended_at IS NULL`)

  function releaseRuns(workerId: string, runIds: number[]): Promise<void> {
    return commits.write(() => {
      const now = Date.now()
      for (const id of runIds) {
        const released = releaseRun.get({ id, worker: workerId, now }) as { attempts: number } | undefined
        if (released) releaseAttempt.run({ id, attempt: released.attempts, now })
      }
    }, WORKER_BOOKKEEPING)
  }

  const selectNextRunAt = db.prepare(NEXT_RUN_AT_SQL)

  async function nextRunAt(actions: string[]): Promise<number | null> {
    const row = selectNextRunAt.get({ actions: JSON.stringify(actions) }) as { next: number | null }
    return row.next === null ? null : Number(row.next)
  }

  return { claimRuns, finishAttempt, releaseRuns, nextRunAt, resumePausedRuns }
}

