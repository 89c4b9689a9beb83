/**
 * @module
 * Expunge on SQLite (what it does is in ../expunge-plan.ts). A search call reads one window of
 * one table, filtered by `instr(lower(column), needle)` before the precise match; the writes go
 * in one durable group-commit write, with the audit record.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite'
import {
  changeSql,
  changeValues,
  ENDED_BY_EXPUNGE,
  EXPUNGE_WINDOW,
  expungedEvent,
  expungeSpec,
  noCounts,
  planRows,
  removedBy,
  searchedColumns,
  toExpungeRecord,
  windowResult,
  withoutEnded,
  type ExpungeApplyRequest,
  type ExpungedEvent,
  type ExpungeFilter,
  type ExpungeRecord,
  type ExpungeSearchRequest,
  type ExpungeSearchResult,
  type ExpungeTableSpec,
} from '../expunge-plan.ts'
import { subjectDigest, SubjectMatcher } from '../expunge-subject.ts'
import { pageSize, UNFINISHED_STATES_SQL } from '../store.ts'
import type { GroupCommit } from './group-commit.ts'
import type { Row } from './rows.ts'

const inList = 'IN (SELECT value FROM json_each(?))'

export function makeExpunge(db: DatabaseSync, commits: GroupCommit) {
  const cache = new Map<string, StatementSync>()
  const prepared = (sql: string) => cache.get(sql) ?? cache.set(sql, db.prepare(sql)).get(sql)!

  /** The window after `after` of `table`'s first key column: up to EXPUNGE_WINDOW rows. */
  function window(table: string, key: string, after: number): { through: number; last: number } | null {
    const last = Number((prepared(`SELECT max(${key}) AS k FROM ${table}`).get() as { k: number | null }).k ?? 0)
    if (last <= after) return null
    const edge = prepared(`SELECT ${key} AS k FROM ${table} WHERE ${key} > ? ORDER BY ${key} LIMIT 1 OFFSET ${EXPUNGE_WINDOW - 1}`).get(after) as { k: number } | undefined
    return { through: edge ? Number(edge.k) : last, last }
  }
  const mentions = (columns: string[]) => `EXISTS (SELECT 1 FROM json_each(?) n WHERE ${columns.map((c) => `instr(lower(${c}), n.value) > 0`).join(' OR ')})`

  const selectEvents = db.prepare(/* sql */ `
    SELECT seq, source, id, type, payload, headers FROM events
    WHERE seq > ? AND seq <= ? AND payload_removed_at IS NULL AND ${mentions(['payload', 'headers'])}`)
  const selectRunsOf = db.prepare('SELECT id, state FROM runs WHERE event_seq = ? ORDER BY id')

  function searchEvents(request: ExpungeSearchRequest, matcher: SubjectMatcher): ExpungeSearchResult {
    const range = window('events', 'seq', request.after)
    if (!range) return windowResult(request.after, null)
    const events: ExpungedEvent[] = []
    for (const row of selectEvents.all(request.after, range.through, JSON.stringify(matcher.needles)) as Row[]) {
      if (!matcher.matchesEvent(String(row.type), JSON.parse(String(row.payload)), JSON.parse(String(row.headers)))) continue
      events.push(expungedEvent(row, selectRunsOf.all(row.seq as number) as Row[]))
    }
    return windowResult(request.after, range, { events })
  }

  function searchTable(spec: ExpungeTableSpec, request: ExpungeSearchRequest, matcher: SubjectMatcher): ExpungeSearchResult {
    const first = spec.key[0]!
    const range = window(spec.table, first, request.after)
    if (!range) return windowResult(request.after, null)
    const ownRuns = spec.ownRun && spec.run ? ` OR ${spec.run} ${inList}` : ''
    const sql = `SELECT ${searchedColumns(spec).join(', ')} FROM ${spec.table} WHERE ${first} > ? AND ${first} <= ? AND (${mentions(Object.keys(spec.columns))}${ownRuns})`
    const params: SQLInputValue[] = [request.after, range.through, JSON.stringify(matcher.needles)]
    if (ownRuns) params.push(JSON.stringify(request.ownRuns))
    return windowResult(request.after, range, { changes: planRows(spec, prepared(sql).all(...params) as Row[], matcher, request.ownRuns) })
  }

  const endRuns = db.prepare(/* sql */ `
    UPDATE runs SET state = 'dead', lease_expires_at = NULL, worker_id = NULL, paused_on = NULL, last_error = ?, updated_at = ?
    WHERE event_seq ${inList} AND state IN ${UNFINISHED_STATES_SQL} RETURNING id`)
  const closeAttempts = db.prepare(/* sql */ `
    UPDATE attempts SET ended_at = ?, outcome = 'dead', error_message = ?, error_stack = NULL
    WHERE run_id ${inList} AND ended_at IS NULL`)
  const removePayloads = db.prepare(/* sql */ `
    UPDATE events SET payload = '{}', headers = '{}', payload_removed_at = coalesce(payload_removed_at, ?) WHERE seq ${inList}`)
  const insertRecord = db.prepare(/* sql */ `
    INSERT INTO expunges (at, requested_by, subject_kind, subject_digest, removed) VALUES (?, ?, ?, ?, ?) RETURNING *`)

  return {
    async searchExpunge(request: ExpungeSearchRequest): Promise<ExpungeSearchResult> {
      const matcher = new SubjectMatcher(request.subject)
      return request.table === 'events' ? searchEvents(request, matcher) : searchTable(expungeSpec(request.table), request, matcher)
    },
    applyExpunge(request: ExpungeApplyRequest): Promise<ExpungeRecord> {
      // Checked before the write: a bad change fails the call, not the batch it would share.
      const changes = request.changes.map((change) => ({ sql: changeSql(change, (table) => table), values: changeValues(change), change }))
      return commits.write(() => {
        const now = Date.now()
        const counts = noCounts()
        const seqs = JSON.stringify(request.events.map((event) => event.seq))
        const endedRuns = (endRuns.all(ENDED_BY_EXPUNGE, now, seqs) as { id: number }[]).map((r) => Number(r.id)).sort((a, b) => a - b)
        closeAttempts.run(now, ENDED_BY_EXPUNGE, JSON.stringify(endedRuns))
        for (const { sql, values, change } of withoutEnded(changes, endedRuns)) counts[change.table] += Number(prepared(sql).run(...values).changes)
        counts.events = Number(removePayloads.run(now, seqs).changes)
        const removed = removedBy(request.events, counts, endedRuns)
        const row = insertRecord.get(now, request.requestedBy, request.subject.kind, subjectDigest(request.subject), JSON.stringify(removed)) as Row
        return toExpungeRecord(row)
      })
    },
    async listExpunges(filter: ExpungeFilter): Promise<ExpungeRecord[]> {
      const clauses: string[] = []
      const params: SQLInputValue[] = []
      if (filter.subjectDigest !== undefined) (clauses.push('subject_digest = ?'), params.push(filter.subjectDigest))
      if (filter.beforeId !== undefined) (clauses.push('id < ?'), params.push(filter.beforeId))
      const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''
      return (prepared(`SELECT * FROM expunges ${where} ORDER BY id DESC LIMIT ${pageSize(filter.limit)}`).all(...params) as Row[]).map(toExpungeRecord)
    },
  }
}
