/**
 * @module
 * Reads for the admin API, the dashboard and the CLI, and the replays they ask for. Filters become
 * WHERE clauses built from fixed fragments with numbered placeholders; values are always bound,
 * never spliced. Reads go straight to the pool; replays are writes and go through group commit,
 * and NOTIFY other processes that runs are waiting.
 */
import type { Pool, PoolClient } from 'pg'
import type { Run } from '../../core/types.ts'
import { countRunsByStateSql, runCounts } from '../run-counts.ts'
import { pageSize, type EventFilter, type RunFilter } from '../store.ts'
import type { GroupCommit } from './group-commit.ts'
import { refuseRemovedPayload } from './retention.ts'
import { runSelect, toAttempt, toEvent, toRun, type Row } from './rows.ts'

class Where {
  readonly clauses: string[] = []
  readonly params: unknown[] = []
  /**
   * `clause` uses `?` for the one value; it becomes the next `$n`. Numbers are compared with
   * integer columns, which refuse a fraction: for every bound used here (`>=` since, `<` until,
   * `<` before) the next integer up selects the same rows.
   */
  add(clause: string, value: unknown): void {
    this.params.push(typeof value === 'number' ? Math.ceil(value) : value)
    this.clauses.push(clause.replace('?', `$${this.params.length}`))
  }
  get sql(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : ''
  }
}

/** A LIKE pattern matching text that contains `text` as it is (its `%`, `_` and `\` escaped). */
function containing(text: string): string {
  return `%${text.replace(/[\\%_]/g, '\\$&')}%`
}

function eventWhere(filter: EventFilter): Where {
  const where = new Where()
  if (filter.source !== undefined) where.add('source = ?', filter.source)
  if (filter.type !== undefined) where.add('type = ?', filter.type)
  if (filter.since !== undefined) where.add('received_at >= ?', filter.since)
  if (filter.until !== undefined) where.add('received_at < ?', filter.until)
  // LIKE, not strpos: the trigram index (migration 7) serves it, and the planner estimates it.
  if (filter.idContains) where.add(`id LIKE ? ESCAPE '\\'`, containing(filter.idContains))
  if (filter.beforeSeq !== undefined) where.add('seq < ?', filter.beforeSeq)
  return where
}

function runWhere(filter: RunFilter): Where {
  const where = new Where()
  // A paused run is stored as 'retrying' with paused_on set (see PAUSED_RUN_AT).
  if (filter.state === 'paused') where.add("r.state = ? AND r.paused_on IS NOT NULL", 'retrying')
  else if (filter.state === 'retrying') where.add("r.state = ? AND r.paused_on IS NULL", 'retrying')
  else if (filter.state !== undefined) where.add('r.state = ?', filter.state)
  if (filter.action !== undefined) where.add('r.action = ?', filter.action)
  if (filter.source !== undefined) where.add('r.source = ?', filter.source)
  if (filter.type !== undefined) where.add('r.event_type = ?', filter.type)
  if (filter.since !== undefined) where.add('r.created_at >= ?', filter.since)
  if (filter.until !== undefined) where.add('r.created_at < ?', filter.until)
  if (filter.eventIdContains) where.add(`e.id LIKE ? ESCAPE '\\'`, containing(filter.eventIdContains))
  if (filter.beforeId !== undefined) where.add('r.id < ?', filter.beforeId)
  return where
}

export function makeQueries(pool: Pool, s: string, schema: string, commits: GroupCommit) {
  const RUN_SELECT = runSelect(s)
  const selectRunSql = `${RUN_SELECT} WHERE r.id = $1`
  const countRunsSql = countRunsByStateSql(`${s}.runs`, '$1')
  const selectRunsSql = `${RUN_SELECT} WHERE r.id = ANY($1::bigint[]) ORDER BY r.id`

  const insertReplaysSql = /* sql */ `
    INSERT INTO ${s}.runs (event_seq, source, event_type, action, state, max_attempts, ordering_key, run_at, replay_of, created_at, updated_at)
    SELECT event_seq, source, event_type, action, 'pending', max_attempts, ordering_key, $2, id, $2, $2
    FROM ${s}.runs WHERE id = ANY($1::bigint[])
    ORDER BY id
    RETURNING id`

  async function replay(client: PoolClient, ids: number[]): Promise<Run[]> {
    if (ids.length === 0) return []
    const inserted = await client.query<{ id: string }>(insertReplaysSql, [ids, Date.now()])
    const { rows } = await client.query<Row>(selectRunsSql, [inserted.rows.map((r) => r.id)])
    return rows.map(toRun)
  }

  // Bulk replays from two processes at once must not both replay one dead run: they take turns
  // on this lock, and the second one's next statement sees the first one's replays.
  const bulkReplayLockSql = `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`

  return {
    async listEvents(filter: EventFilter) {
      const where = eventWhere(filter)
      const sql = `SELECT * FROM ${s}.events ${where.sql} ORDER BY seq DESC LIMIT ${pageSize(filter.limit)}`
      return (await pool.query<Row>(sql, where.params)).rows.map(toEvent)
    },
    async getEvent(source: string, id: string) {
      const { rows } = await pool.query<Row>(`SELECT * FROM ${s}.events WHERE source = $1 AND id = $2`, [source, id])
      return rows[0] ? toEvent(rows[0]) : null
    },
    async listRuns(filter: RunFilter) {
      const where = runWhere(filter)
      const sql = `${RUN_SELECT} ${where.sql} ORDER BY r.id DESC LIMIT ${pageSize(filter.limit)}`
      return (await pool.query<Row>(sql, where.params)).rows.map(toRun)
    },
    async getRun(id: number) {
      const { rows } = await pool.query<Row>(selectRunSql, [id])
      return rows[0] ? toRun(rows[0]) : null
    },
    async listAttempts(runId: number) {
      const { rows } = await pool.query<Row>(`SELECT * FROM ${s}.attempts WHERE run_id = $1 ORDER BY number`, [runId])
      return rows.map(toAttempt)
    },
    async runsForEvent(eventSeq: number) {
      const { rows } = await pool.query<Row>(`${RUN_SELECT} WHERE r.event_seq = $1 ORDER BY r.id`, [eventSeq])
      return rows.map(toRun)
    },
    async countRunsByState(atMost?: number) {
      const { rows } = await pool.query<{ state: string; n: string }>(countRunsSql, [atMost === undefined ? null : Math.floor(atMost)])
      return runCounts(rows)
    },
    async countEventsPerMinute(since: number) {
      // Covered by events_received_at (received_at, source).
      const { rows } = await pool.query<{ source: string; minute: string; n: string }>(
        `SELECT source, received_at / 60000 * 60000 AS minute, count(*) AS n
         FROM ${s}.events WHERE received_at >= $1 GROUP BY 1, 2`,
        [Math.ceil(since)],
      )
      return rows.map((row) => ({ source: row.source, minute: Number(row.minute), count: Number(row.n) }))
    },
    replayRun(runId: number): Promise<Run> {
      return commits.write(async (client, ctx) => {
        await refuseRemovedPayload(client, s, runId)
        const [run] = await replay(client, [runId])
        if (!run) throw new RangeError(`run ${runId} does not exist`)
        ctx.notify()
        return run
      })
    },
    replayDeadRuns(filter: Omit<RunFilter, 'state' | 'beforeId' | 'limit'>): Promise<Run[]> {
      return commits.write(async (client, ctx) => {
        await client.query(bulkReplayLockSql, [`storehook:replay-dead:${schema}`])
        // A dead run that was already replayed is skipped, so repeating a bulk replay is harmless.
        const where = runWhere({ ...filter, state: 'dead' })
        where.clauses.push(`NOT EXISTS (SELECT 1 FROM ${s}.runs x WHERE x.replay_of = r.id)`)
        // Without its payload a run cannot run again; FOR SHARE OF e below keeps retention from
        // removing it before these replays commit.
        where.clauses.push('e.payload_removed_at IS NULL')
        const { rows } = await client.query<{ id: string }>(
          `SELECT r.id FROM ${s}.runs r JOIN ${s}.events e ON e.seq = r.event_seq ${where.sql} ORDER BY r.id FOR SHARE OF e`,
          where.params,
        )
        const runs = await replay(client, rows.map((r) => Number(r.id)))
        if (runs.length > 0) ctx.notify()
        return runs
      })
    },
  }
}
