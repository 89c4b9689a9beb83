/**
 * @module
 * Claiming runs on PostgreSQL, where many processes claim from one table at once.
 *
 * Runs without an ordering key are claimed by one statement in autocommit (`claimUnkeyed`): bury,
 * pick `FOR NO KEY UPDATE SKIP LOCKED` and start, in one round trip — the queue statement
 * graphile-worker and pg-boss use. Keyed runs need a lock per key taken *between* picking and
 * starting (below), so they are claimed by a transaction on its own pooled connection (never
 * inside a group-commit batch, so its row and advisory locks are held for milliseconds):
 * 1. bury runs whose lease expired on their last attempt (they may be what kills a process);
 * 2. pick candidates `FOR NO KEY UPDATE SKIP LOCKED`, in run order, up to the limit: a run another
 *    claimer has locked is skipped, not waited for, so claimers never queue behind each other
 *    (NO KEY: the lock an UPDATE of non-key columns takes, which lets inserts referencing the run,
 *    such as its attempts or a replay, go on);
 * 3. take a transaction-scoped advisory lock per ordering key among the candidates
 *    (`pg_try_advisory_xact_lock`, skipping keys another claimer holds);
 * 4. in a new statement, re-check the keyed candidates and mark every survivor `running`, close
 *    a reclaimed run's lost attempt and start the new one, returning run and event together.
 *
 * Why the advisory lock per (action, ordering key). Row locks alone cannot keep two runs of one
 * key from running at once under READ COMMITTED, because each claimer decides from its own
 * snapshot and locks *different* rows. Run ids come from a sequence, and two ingests in two
 * processes can commit in the opposite order to their ids: run 11 of key k commits, then run 10.
 * A claimer whose snapshot falls between the two commits sees only 11 and picks it; a concurrent
 * claimer with a later snapshot sees 10 and 11 both pending and picks 10, the head. Neither row is
 * locked by the other, so SKIP LOCKED does not help, and a head-only rule cannot either: the heads
 * differ between snapshots. (Once 11 is `running`, the rule below keeps 10 waiting; the race is
 * the two claims in flight at once.) Holding one lock per key makes "is anything of this key
 * running? if not, start its head" atomic across processes: the lock is taken before the re-check
 * statement begins, and READ COMMITTED gives that statement a fresh snapshot, which includes the
 * claim the previous holder committed (its xact lock is released only after its commit is
 * visible).
 * Only claims move a keyed run to `running`, and every claim of a keyed run holds its key's lock,
 * so at most one run of a key is `running` at any time. A try-lock, not a waiting one, so a claim
 * never waits on another and lock order cannot deadlock; a skipped key is some other claimer's
 * now, and that claimer starts its head.
 *
 * The key's rule is therefore: a keyed run may start when no other run of its key is `running`
 * and no earlier run of its key is unfinished; an expired `running` run is the key's one running
 * run and may be reclaimed whatever arrived before it. In SQLite (one writer, ids in commit order)
 * this is the same rule as "the earliest unfinished run of the key". Events whose ingests overlap
 * in time have no order between them; an event ingested after another was acknowledged always
 * has the higher id, so the order the platform can observe is kept.
 *
 * Lock keys hash (schema, action, ordering key) with `hashtextextended`: a collision between two
 * keys only makes them take turns.
 */
import type { Pool, PoolClient } from 'pg'
import type { ClaimedRun, ClaimRequest } from '../store.ts'
import { RUN_COLUMNS, statement, toRun, type Row } from './rows.ts'
import { inTransaction } from './pool.ts'

export const LEASE_LOST_ON_LAST_ATTEMPT =
  'the worker running the last attempt stopped without finishing it (lease expired)'
const LEASE_LOST = 'the worker stopped without finishing (lease expired)'

/**
 * SQL: may run `r` start now as far as its ordering key is concerned? (see the module comment)
 * Two probes, each a short index range: `runs_ordering_key` for an earlier unfinished run,
 * `runs_running_key` (running runs only) for another running one.
 */
const keyAllows = (s: string) => /* sql */ `
  (r.ordering_key IS NULL OR r.state = 'running' OR (
    NOT EXISTS (
      SELECT 1 FROM ${s}.runs p
      WHERE p.action = r.action AND p.ordering_key = r.ordering_key AND p.id < r.id
        AND p.state IN ('pending', 'retrying', 'running'))
    AND NOT EXISTS (
      SELECT 1 FROM ${s}.runs p
      WHERE p.action = r.action AND p.ordering_key = r.ordering_key AND p.state = 'running'
        AND p.id <> r.id)))`

/**
 * SQL: the CTEs burying runs of action $1 whose lease expired (now: $2) on their last attempt,
 * with `message` as their error. SKIP LOCKED: a run a concurrent claim is burying or claiming is
 * that claim's business.
 */
const buryCtes = (s: string, message: string) => /* sql */ `
    doomed AS (
      SELECT id FROM ${s}.runs
      WHERE action = $1 AND state = 'running' AND lease_expires_at <= $2 AND attempts >= max_attempts
      FOR NO KEY UPDATE SKIP LOCKED),
    buried AS (
      UPDATE ${s}.runs r SET state = 'dead', lease_expires_at = NULL, worker_id = NULL, last_error = ${message}, updated_at = $2
      FROM doomed WHERE r.id = doomed.id
      RETURNING r.id),
    buried_attempts AS (
      UPDATE ${s}.attempts a SET ended_at = $2, outcome = 'interrupted', error_message = ${message}
      FROM buried WHERE a.run_id = buried.id AND a.ended_at IS NULL)`

/**
 * SQL: up to $3 runs of action $1 that may start now ($2), locked: runs whose lease ran out first
 * (runs_leases), then waiting runs that are due, earliest due first (runs_due). Each is an index
 * range read in order, so a claim reads what it takes (plus runs an ordering key holds back),
 * however many runs wait for a later retry. Two CTEs because row locks are not allowed on the
 * branches of a UNION. Exported for postgres.test.ts, which checks the plan.
 */
export const dueRuns = (s: string) => /* sql */ `
    WITH leased AS (
      SELECT r.id, r.ordering_key FROM ${s}.runs r
      WHERE r.action = $1 AND r.state = 'running' AND r.lease_expires_at <= $2 AND r.attempts < r.max_attempts
        AND ${keyAllows(s)}
      ORDER BY r.lease_expires_at
      LIMIT $3
      FOR NO KEY UPDATE OF r SKIP LOCKED),
    waiting AS (
      SELECT r.id, r.ordering_key FROM ${s}.runs r
      WHERE r.action = $1 AND r.state IN ('pending', 'retrying') AND r.run_at <= $2
        AND ${keyAllows(s)}
      ORDER BY r.run_at, r.id
      LIMIT $3
      FOR NO KEY UPDATE OF r SKIP LOCKED)
    SELECT * FROM leased UNION ALL SELECT * FROM waiting
    LIMIT $3`

/**
 * SQL: the CTEs starting the runs `which` selects (`claimed`, returning the runs), closing a
 * reclaimed run's lost attempt and opening the new one. A statement with data-modifying CTEs sees
 * the tables as they were before it, so run fields come from the UPDATE's RETURNING.
 */
const startCtes = (s: string, which: string, p: { now: string; lease: string; worker: string; lost: string }) => /* sql */ `
    claimed AS (
      UPDATE ${s}.runs r SET state = 'running', attempts = r.attempts + 1, lease_expires_at = ${p.lease},
        worker_id = ${p.worker}, updated_at = ${p.now}
      ${which}
      RETURNING ${RUN_COLUMNS.replace(/(\w+)/g, 'r.$1')}),
    closed AS (
      UPDATE ${s}.attempts a SET ended_at = ${p.now}, outcome = 'interrupted', error_message = ${p.lost}
      FROM claimed WHERE a.run_id = claimed.id AND a.ended_at IS NULL),
    started AS (
      INSERT INTO ${s}.attempts (run_id, number, worker_id, started_at)
      SELECT id, attempts, ${p.worker}, ${p.now} FROM claimed)`

/** SQL: the claimed runs (`c`) with their events' fields, as {@link toClaimed} reads them. */
const CLAIMED_COLUMNS = `${RUN_COLUMNS.replace(/(\w+)/g, 'c.$1')}, e.source, e.id AS event_id, e.type AS event_type, e.payload, e.headers, e.received_at`

export function makeClaim(pool: Pool, s: string, schema: string) {
  const buryAbandonedLastAttempts = statement(schema, 'bury', /* sql */ `
    WITH ${buryCtes(s, '$3')}
    SELECT count(*) FROM buried`)

  const candidates = statement(schema, 'candidates', dueRuns(s))

  const lockKeys = statement(schema, 'lockkeys', /* sql */ `
    SELECT k FROM unnest($1::text[]) AS k WHERE pg_try_advisory_xact_lock(hashtextextended($2 || k, 0))`)

  // Keyed runs are re-checked here, after their keys' locks (see the module comment).
  const start = statement(schema, 'start', /* sql */ `
    WITH ${startCtes(s, `WHERE r.id = ANY($1::bigint[]) AND ${keyAllows(s)}`, { lease: '$2', worker: '$3', now: '$4', lost: '$5' })}
    SELECT ${CLAIMED_COLUMNS}
    FROM claimed c JOIN ${s}.events e ON e.seq = c.event_seq
    ORDER BY c.id`)

  // The transaction's statements as one, for runs without a key; keyed candidates are only
  // counted (`keyed`), their rows unlocked at the statement's end. The outer join returns one row
  // even when nothing was claimed, to carry that count.
  const claimUnkeyed = statement(schema, 'claimunkeyed', /* sql */ `
    WITH ${buryCtes(s, '$6')},
    picked AS (${dueRuns(s)}),
    ${startCtes(s, 'FROM picked p WHERE r.id = p.id AND p.ordering_key IS NULL', { now: '$2', lease: '$4', worker: '$5', lost: '$7' })}
    SELECT ${CLAIMED_COLUMNS}, k.keyed
    FROM (SELECT count(*) FILTER (WHERE ordering_key IS NOT NULL) AS keyed FROM picked) k
    LEFT JOIN (claimed c JOIN ${s}.events e ON e.seq = c.event_seq) ON true
    ORDER BY c.id`)

  /** Actions whose last claim met keyed runs: they go straight to the transaction. */
  const keyedActions = new Set<string>()

  async function claimIn(client: PoolClient, request: ClaimRequest): Promise<ClaimedRun[]> {
    const now = Date.now()
    await client.query(buryAbandonedLastAttempts([request.action, now, LEASE_LOST_ON_LAST_ATTEMPT]))
    const found = await client.query<{ id: string; ordering_key: string | null }>(
      candidates([request.action, now, request.limit]),
    )
    if (found.rows.every((row) => row.ordering_key === null)) keyedActions.delete(request.action)
    if (found.rows.length === 0) return []

    const ids: string[] = []
    const keyed = new Map<string, string>()
    for (const { id, ordering_key: key } of found.rows) {
      if (key === null) ids.push(id)
      else if (!keyed.has(key)) keyed.set(key, id)
    }
    if (keyed.size > 0) {
      const locked = await client.query<{ k: string }>(lockKeys([[...keyed.keys()], `${schema}\n${request.action}\n`]))
      for (const { k } of locked.rows) ids.push(keyed.get(k)!)
    }
    if (ids.length === 0) return []

    // The attempt starts now, after the key locks, not when the claim began: on a busy machine the
    // statements before can take long enough that the earlier time would predate the end of the
    // run this one waited for.
    const startedAt = Date.now()
    const started = await client.query<Row>(start([ids, Math.ceil(startedAt + request.leaseMs), request.workerId, startedAt, LEASE_LOST]))
    return started.rows.map(toClaimed)
  }

  // If COMMIT itself is lost the claim may have happened; its lease then runs out and another
  // claim takes the runs up again. Nothing is handed out that was not committed.
  return async (request: ClaimRequest): Promise<ClaimedRun[]> => {
    if (keyedActions.has(request.action)) return inTransaction(pool, (client) => claimIn(client, request))
    const now = Date.now()
    const { rows } = await pool.query<Row>(claimUnkeyed([request.action, now, request.limit, Math.ceil(now + request.leaseMs), request.workerId, LEASE_LOST_ON_LAST_ATTEMPT, LEASE_LOST]))
    const claimed = rows.filter((row) => row.id !== null).map(toClaimed)
    if (Number(rows[0]!.keyed) === 0) return claimed
    keyedActions.add(request.action)
    const limit = request.limit - claimed.length
    if (limit === 0) return claimed
    const keyed = await inTransaction(pool, (client) => claimIn(client, { ...request, limit }))
    return [...claimed, ...keyed].sort((a, b) => a.run.id - b.run.id)
  }
}

function toClaimed(row: Row): ClaimedRun {
  return {
    run: toRun(row),
    event: {
      seq: Number(row.event_seq),
      source: String(row.source),
      id: String(row.event_id),
      type: String(row.event_type),
      payload: row.payload,
      headers: row.headers as Record<string, string>,
      receivedAt: Number(row.received_at),
    },
  }
}
