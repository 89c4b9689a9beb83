/**
 * @module
 * Reads for the admin API, the dashboard and the CLI, and the replays they ask for. Filters become
 * WHERE clauses built from fixed fragments; values are always bound, never spliced.
 */
import type { DatabaseSync, SQLInputValue } from 'node:sqlite'
import type { Run } from '../../core/types.ts'
import { countRunsByStateSql, runCounts } from '../run-counts.ts'
import { pageSize, type EventFilter, type RunFilter } from '../store.ts'
import type { GroupCommit } from './group-commit.ts'
import { makeReplayGuard } from './retention.ts'
import { RUN_SELECT, toAttempt, toEvent, toRun, type Row } from './rows.ts'

type Where = { clauses: string[]; params: SQLInputValue[] }

function eventWhere(filter: EventFilter): Where {
  const where: Where = { clauses: [], params: [] }
  const add = (clause: string, value: SQLInputValue) => (where.clauses.push(clause), where.params.push(value))
  if (filter.source !== undefined) add('source = ?', filter.source)
  if (filter.type !== undefined) add('type = ?', filter.type)
  if (filter.since !== undefined) add('received_at >= ?', filter.since)
  if (filter.until !== undefined) add('received_at < ?', filter.until)
  // Through events_id (ids only), not the rows with their payloads.
  if (filter.idContains) add('seq IN (SELECT seq FROM events WHERE instr(id, ?) > 0)', filter.idContains)
  if (filter.beforeSeq !== undefined) add('seq < ?', filter.beforeSeq)
  return where
}

function runWhere(filter: RunFilter): Where {
  const where: Where = { clauses: [], params: [] }
  const add = (clause: string, value: SQLInputValue) => (where.clauses.push(clause), where.params.push(value))
  // A paused run is stored as 'retrying' with paused_on set (see PAUSED_RUN_AT).
  if (filter.state === 'paused') add("r.state = ? AND r.paused_on IS NOT NULL", 'retrying')
  else if (filter.state === 'retrying') add("r.state = ? AND r.paused_on IS NULL", 'retrying')
  else if (filter.state !== undefined) add('r.state = ?', filter.state)
  if (filter.action !== undefined) add('r.action = ?', filter.action)
  if (filter.source !== undefined) add('r.source = ?', filter.source)
  if (filter.type !== undefined) add('r.event_type = ?', filter.type)
  if (filter.since !== undefined) add('r.created_at >= ?', filter.since)
  if (filter.until !== undefined) add('r.created_at < ?', filter.until)
  // Through events_id (ids only), not the events' rows with their payloads.
  if (filter.eventIdContains) add('r.event_seq IN (SELECT seq FROM events WHERE instr(id, ?) > 0)', filter.eventIdContains)
  if (filter.beforeId !== undefined) add('r.id < ?', filter.beforeId)
  return where
}

const whereSql = (where: Where) => (where.clauses.length ? `WHERE ${where.clauses.join(' AND ')}` : '')

export function makeQueries(db: DatabaseSync, commits: GroupCommit) {
  const selectEvent = db.prepare('SELECT * FROM events WHERE source = ? AND id = ?')
  const selectRun = db.prepare(`${RUN_SELECT} WHERE r.id = ?`)
  const selectAttempts = db.prepare('SELECT * FROM attempts WHERE run_id = ? ORDER BY number')
  const selectRunsForEvent = db.prepare(`${RUN_SELECT} WHERE r.event_seq = ? ORDER BY r.id`)
  const selectCounts = db.prepare(countRunsByStateSql('runs', ':cap'))

  // Covered by events_received_at (received_at, source).
  const selectPerMinute = db.prepare(/* sql */ `
    SELECT source, received_at / 60000 * 60000 AS minute, count(*) AS n
    FROM events WHERE received_at >= ? GROUP BY 1, 2`)

  const insertReplay = db.prepare(/* sql */ `
    INSERT INTO runs (event_seq, source, event_type, action, state, max_attempts, ordering_key, run_at, replay_of, created_at, updated_at)
    SELECT event_seq, source, event_type, action, 'pending', max_attempts, ordering_key, :now, id, :now, :now
    FROM runs WHERE id = :id
    RETURNING id`)

  const refuseRemovedPayload = makeReplayGuard(db)
  function replayOne(id: number): Run {
    const inserted = insertReplay.get({ id, now: Date.now() }) as { id: number } | undefined
    if (!inserted) throw new RangeError(`run ${id} does not exist`)
    return toRun(selectRun.get(inserted.id) as Row)
  }

  return {
    async listEvents(filter: EventFilter) {
      const where = eventWhere(filter)
      const sql = `SELECT * FROM events ${whereSql(where)} ORDER BY seq DESC LIMIT ${pageSize(filter.limit)}`
      return (db.prepare(sql).all(...where.params) as Row[]).map(toEvent)
    },
    async getEvent(source: string, id: string) {
      const row = selectEvent.get(source, id) as Row | undefined
      return row ? toEvent(row) : null
    },
    async listRuns(filter: RunFilter) {
      const where = runWhere(filter)
      const sql = `${RUN_SELECT} ${whereSql(where)} ORDER BY r.id DESC LIMIT ${pageSize(filter.limit)}`
      return (db.prepare(sql).all(...where.params) as Row[]).map(toRun)
    },
    async getRun(id: number) {
      const row = selectRun.get(id) as Row | undefined
      return row ? toRun(row) : null
    },
    async listAttempts(runId: number) {
      return (selectAttempts.all(runId) as Row[]).map(toAttempt)
    },
    async runsForEvent(eventSeq: number) {
      return (selectRunsForEvent.all(eventSeq) as Row[]).map(toRun)
    },
    async countRunsByState(atMost?: number) {
      return runCounts(selectCounts.all({ cap: atMost === undefined ? -1 : Math.floor(atMost) }) as { state: string; n: number }[])
    },
    async countEventsPerMinute(since: number) {
      return (selectPerMinute.all(since) as { source: string; minute: number; n: number }[]).map((row) => ({
        source: row.source,
        minute: Number(row.minute),
        count: Number(row.n),
      }))
    },
    replayRun(runId: number): Promise<Run> {
      return commits.write(() => {
        refuseRemovedPayload(runId)
        return replayOne(runId)
      })
    },
    replayDeadRuns(filter: Omit<RunFilter, 'state' | 'beforeId' | 'limit'>): Promise<Run[]> {
      return commits.write(() => {
        // A dead run that was already replayed is skipped, so repeating a bulk replay is harmless.
        const where = runWhere({ ...filter, state: 'dead' })
        where.clauses.push('NOT EXISTS (SELECT 1 FROM runs x WHERE x.replay_of = r.id)')
        // Without its payload a run cannot run again (retention or an expunge removed it).
        where.clauses.push('e.payload_removed_at IS NULL')
        const ids = db.prepare(`SELECT r.id FROM runs r JOIN events e ON e.seq = r.event_seq ${whereSql(where)} ORDER BY r.id`)
          .all(...where.params) as { id: number }[]
        return ids.map(({ id }) => replayOne(Number(id)))
      })
    },
  }
}
