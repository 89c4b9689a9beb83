/**
 * @module
 * Run log lines on PostgreSQL: the same records and reads as SQLite's (`../sqlite/run-logs.ts`).
 * A batch is one multi-row INSERT in its own transaction with `synchronous_commit` off, outside
 * group commit, for the reasons `external-calls.ts` gives: a lost line costs no event, and a batch
 * of lines never rides in (and lengthens) an ingest transaction.
 */
import type { Pool } from 'pg'
import { toRunLogLine } from '../run-log-rows.ts'
import { pageSize, type NewRunLogLine, type RunLogFilter, type RunLogLine } from '../store.ts'
import { insertColumns, pgText } from './pool.ts'
import type { Row } from './rows.ts'

/** `s` is the quoted schema name. */
export function makeRunLogs(pool: Pool, s: string) {
  // Each column travels as one array; WITH ORDINALITY keeps the batch's order in seq.
  const insertSql = /* sql */ `
    INSERT INTO ${s}.run_logs (run_id, attempt, at, level, message, fields)
    SELECT run_id, attempt, at, level, message, fields
    FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[])
      WITH ORDINALITY AS u (run_id, attempt, at, level, message, fields, n)
    ORDER BY n`

  return {
    async recordRunLogs(lines: NewRunLogLine[]): Promise<void> {
      const rows = lines.map((l) => [l.runId, l.attempt, Math.round(l.at), pgText(l.level), pgText(l.message), l.fields === null ? null : pgText(l.fields)])
      await insertColumns(pool, insertSql, rows)
    },

    async listRunLogs(filter: RunLogFilter): Promise<RunLogLine[]> {
      const clauses: string[] = []
      const params: unknown[] = []
      const param = (value: unknown) => `$${params.push(value)}`
      clauses.push(`run_id = ${param(Math.trunc(filter.runId))}`)
      if (filter.attempt !== undefined) clauses.push(`attempt = ${param(Math.trunc(filter.attempt))}`)
      if (filter.levels !== undefined) clauses.push(`level = ANY(${param([...filter.levels])}::text[])`)
      if (filter.contains) {
        // strpos, not LIKE: the operator's text is matched as it is, `%` and `_` included.
        const needle = param(pgText(filter.contains.toLowerCase()))
        clauses.push(`(strpos(lower(message), ${needle}) > 0 OR strpos(lower(coalesce(fields, '')), ${needle}) > 0)`)
      }
      if (filter.afterSeq !== undefined) clauses.push(`seq > ${param(Math.trunc(filter.afterSeq))}`)
      const sql = `SELECT seq, run_id, attempt, at, level, message, fields FROM ${s}.run_logs
        WHERE ${clauses.join(' AND ')} ORDER BY seq LIMIT ${pageSize(filter.limit)}`
      return (await pool.query<Row>(sql, params)).rows.map(toRunLogLine)
    },
  }
}
