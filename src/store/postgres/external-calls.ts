/**
 * @module
 * External resource calls on PostgreSQL: the same records and reads as SQLite's
 * (`../sqlite/external-calls.ts`). A batch is one multi-row INSERT in its own transaction with
 * `synchronous_commit` off, the counterpart of SQLite's write without an fsync: a record lost to a
 * server crash costs no answer, and the runtime's recorder writes off the response path anyway.
 * It does not go through group commit, so a batch of records never delays an event's
 * acknowledgement by riding in (and lengthening) the ingest transaction.
 */
import type { Pool } from 'pg'
import { toExternalCall } from '../external-call-rows.ts'
import { pageSize, type ExternalCall, type ExternalCallFilter, type NewExternalCall } from '../store.ts'
import { insertColumns, pgText } from './pool.ts'
import type { Row } from './rows.ts'

/** `s` is the quoted schema name. */
export function makeExternalCalls(pool: Pool, s: string) {
  // One statement for the whole batch: each column travels as one array, rows keep their order
  // (WITH ORDINALITY), so ids grow in the order the calls were pushed, as on SQLite.
  const insertSql = /* sql */ `
    INSERT INTO ${s}.external_calls (resource, kind, started_at, duration_ms, input_digest, status, outcome, fallback, answer, error)
    SELECT resource, kind, started_at, duration_ms, input_digest, status, outcome, fallback, answer, error
    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[], $10::text[])
      WITH ORDINALITY AS u (resource, kind, started_at, duration_ms, input_digest, status, outcome, fallback, answer, error, n)
    ORDER BY n`

  return {
    async recordExternalCalls(calls: NewExternalCall[]): Promise<void> {
      const rows = calls.map((c) => [
        c.resource,
        c.kind,
        // bigint refuses a fraction; the runtime gives whole ms, a caller might not.
        Math.round(c.startedAt),
        c.durationMs,
        c.inputDigest,
        c.status,
        c.outcome,
        c.fallback,
        pgText(c.answer),
        c.error === null ? null : pgText(c.error),
      ])
      await insertColumns(pool, insertSql, rows)
    },

    async listExternalCalls(filter: ExternalCallFilter): Promise<ExternalCall[]> {
      const clauses: string[] = []
      const params: unknown[] = []
      const add = (column: string, op: string, value: unknown) => {
        params.push(value)
        clauses.push(`${column} ${op} $${params.length}`)
      }
      if (filter.resource !== undefined) add('resource', '=', filter.resource)
      if (filter.outcome !== undefined) add('outcome', '=', filter.outcome)
      if (filter.fallback !== undefined) add('fallback', '=', filter.fallback)
      if (filter.inputDigest !== undefined) add('input_digest', '=', filter.inputDigest)
      // Integer columns refuse a fraction; for `>=` and `<` the next integer up selects the same rows.
      if (filter.since !== undefined) add('started_at', '>=', Math.ceil(filter.since))
      if (filter.until !== undefined) add('started_at', '<', Math.ceil(filter.until))
      if (filter.beforeId !== undefined) add('id', '<', Math.ceil(filter.beforeId))
      const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''
      const sql = `SELECT id, resource, kind, started_at, duration_ms, input_digest, status, outcome, fallback, answer, error
        FROM ${s}.external_calls ${where} ORDER BY id DESC LIMIT ${pageSize(filter.limit)}`
      return (await pool.query<Row>(sql, params)).rows.map(toExternalCall)
    },
  }
}
