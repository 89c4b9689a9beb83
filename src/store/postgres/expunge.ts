/**
 * @module
 * Expunge on PostgreSQL: the same search and writes as SQLite's (`../sqlite/expunge.ts`). The
 * writes go in one transaction (durable: `synchronous_commit` as the server has it) that first
 * locks the events `FOR UPDATE`, so a replay of one of their runs waits and then finds the payload
 * removed, and takes a run's row before its attempts', in the order a worker finishing it does.
 */
import type { Pool, PoolClient } from 'pg'
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
  type ExpungeChange,
  type ExpungeFilter,
  type ExpungeRecord,
  type ExpungeSearchRequest,
  type ExpungeSearchResult,
  type ExpungeTableSpec,
} from '../expunge-plan.ts'
import { subjectDigest, SubjectMatcher } from '../expunge-subject.ts'
import { pageSize, UNFINISHED_STATES_SQL } from '../store.ts'
import { inTransaction } from './pool.ts'
import type { Row } from './rows.ts'

/** `?` placeholders to `$1`, `$2`, … */
const numbered = (sql: string) => {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}

/** `s` is the quoted schema name. */
export function makeExpunge(pool: Pool, s: string) {
  async function window(table: string, key: string, after: number): Promise<{ through: number; last: number } | null> {
    const max = await pool.query<{ k: string | null }>(`SELECT max(${key}) AS k FROM ${s}.${table}`)
    const last = Number(max.rows[0]?.k ?? 0)
    if (last <= after) return null
    const edge = await pool.query<{ k: string }>(`SELECT ${key} AS k FROM ${s}.${table} WHERE ${key} > $1 ORDER BY ${key} LIMIT 1 OFFSET ${EXPUNGE_WINDOW - 1}`, [after])
    return { through: edge.rows[0] ? Number(edge.rows[0].k) : last, last }
  }
  const mentions = (columns: string[], param: string) =>
    `EXISTS (SELECT 1 FROM unnest(${param}::text[]) n WHERE ${columns.map((c) => `strpos(lower(${c}), n) > 0`).join(' OR ')})`

  async function searchEvents(request: ExpungeSearchRequest, matcher: SubjectMatcher): Promise<ExpungeSearchResult> {
    const range = await window('events', 'seq', request.after)
    if (!range) return windowResult(request.after, null)
    const { rows } = await pool.query<Row>(
      `SELECT seq, source, id, type, payload, headers FROM ${s}.events
       WHERE seq > $1 AND seq <= $2 AND payload_removed_at IS NULL AND ${mentions(['payload::text', 'headers::text'], '$3')}`,
      [request.after, range.through, matcher.needles],
    )
    const matched = rows.filter((row) => matcher.matchesEvent(String(row.type), row.payload, row.headers))
    // The runs of every matched event of the window in one query, not one per event.
    const runs = matched.length
      ? (await pool.query<{ id: string; event_seq: string; state: string }>(
          `SELECT id, event_seq, state FROM ${s}.runs WHERE event_seq = ANY($1::bigint[]) ORDER BY id`,
          [matched.map((row) => row.seq)],
        )).rows
      : []
    const runsOf = Map.groupBy(runs, (r) => r.event_seq)
    const events = matched.map((row) => expungedEvent(row, runsOf.get(String(row.seq)) ?? []))
    return windowResult(request.after, range, { events })
  }

  async function searchTable(spec: ExpungeTableSpec, request: ExpungeSearchRequest, matcher: SubjectMatcher): Promise<ExpungeSearchResult> {
    const first = spec.key[0]!
    const range = await window(spec.table, first, request.after)
    if (!range) return windowResult(request.after, null)
    const ownRuns = spec.ownRun && spec.run ? ` OR ${spec.run} = ANY($4::bigint[])` : ''
    const params: unknown[] = [request.after, range.through, matcher.needles, ...(ownRuns ? [request.ownRuns] : [])]
    const { rows } = await pool.query<Row>(
      `SELECT ${searchedColumns(spec).join(', ')} FROM ${s}.${spec.table} WHERE ${first} > $1 AND ${first} <= $2 AND (${mentions(Object.keys(spec.columns), '$3')}${ownRuns})`,
      params,
    )
    return windowResult(request.after, range, { changes: planRows(spec, rows, matcher, request.ownRuns) })
  }

  async function apply(client: PoolClient, request: ExpungeApplyRequest, changes: { sql: string; values: unknown[]; change: ExpungeChange }[]): Promise<ExpungeRecord> {
    const now = Date.now()
    const counts = noCounts()
    const seqs = request.events.map((event) => event.seq)
    await client.query(`SELECT seq FROM ${s}.events WHERE seq = ANY($1::bigint[]) ORDER BY seq FOR UPDATE`, [seqs])
    const ended = await client.query<{ id: string }>(
      `UPDATE ${s}.runs SET state = 'dead', lease_expires_at = NULL, worker_id = NULL, paused_on = NULL, last_error = $2, updated_at = $3
       WHERE event_seq = ANY($1::bigint[]) AND state IN ${UNFINISHED_STATES_SQL} RETURNING id`,
      [seqs, ENDED_BY_EXPUNGE, now],
    )
    const endedRuns = ended.rows.map((r) => Number(r.id)).sort((a, b) => a - b)
    await client.query(
      `UPDATE ${s}.attempts SET ended_at = $2, outcome = 'dead', error_message = $3, error_stack = NULL WHERE run_id = ANY($1::bigint[]) AND ended_at IS NULL`,
      [endedRuns, now, ENDED_BY_EXPUNGE],
    )
    for (const { sql, values, change } of withoutEnded(changes, endedRuns)) counts[change.table] += (await client.query(sql, values)).rowCount ?? 0
    const emptied = await client.query(
      `UPDATE ${s}.events SET payload = '{}', headers = '{}', payload_removed_at = coalesce(payload_removed_at, $2) WHERE seq = ANY($1::bigint[])`,
      [seqs, now],
    )
    counts.events = emptied.rowCount ?? 0
    const removed = removedBy(request.events, counts, endedRuns)
    const { rows } = await client.query<Row>(
      `INSERT INTO ${s}.expunges (at, requested_by, subject_kind, subject_digest, removed) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [now, request.requestedBy, request.subject.kind, subjectDigest(request.subject), JSON.stringify(removed)],
    )
    return toExpungeRecord(rows[0]!)
  }

  return {
    async searchExpunge(request: ExpungeSearchRequest): Promise<ExpungeSearchResult> {
      const matcher = new SubjectMatcher(request.subject)
      return request.table === 'events' ? searchEvents(request, matcher) : searchTable(expungeSpec(request.table), request, matcher)
    },
    applyExpunge(request: ExpungeApplyRequest): Promise<ExpungeRecord> {
      const changes = request.changes.map((change) => ({ sql: numbered(changeSql(change, (table) => `${s}.${table}`)), values: changeValues(change), change }))
      return inTransaction(pool, (client) => apply(client, request, changes))
    },
    async listExpunges(filter: ExpungeFilter): Promise<ExpungeRecord[]> {
      const clauses: string[] = []
      const params: unknown[] = []
      if (filter.subjectDigest !== undefined) (params.push(filter.subjectDigest), clauses.push(`subject_digest = $${params.length}`))
      if (filter.beforeId !== undefined) (params.push(Math.ceil(filter.beforeId)), clauses.push(`id < $${params.length}`))
      const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''
      const { rows } = await pool.query<Row>(`SELECT * FROM ${s}.expunges ${where} ORDER BY id DESC LIMIT ${pageSize(filter.limit)}`, params)
      return rows.map(toExpungeRecord)
    },
  }
}
