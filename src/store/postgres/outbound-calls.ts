/**
 * @module
 * The outbound HTTP calls of runs on PostgreSQL: the same records and reads as SQLite's
 * (`../sqlite/outbound-calls.ts`), written like run log lines (`run-logs.ts`).
 */
import type { Pool } from 'pg'
import { toOutboundCall } from '../run-log-rows.ts'
import { pageSize, type NewOutboundCall, type OutboundCallFilter, type OutboundCallRecord } from '../store.ts'
import { insertColumns, pgText } from './pool.ts'
import type { Row } from './rows.ts'

/** `s` is the quoted schema name. */
export function makeOutboundCalls(pool: Pool, s: string) {
  const insertSql = /* sql */ `
    INSERT INTO ${s}.outbound_calls (run_id, attempt, connection, method, url, status, started_at, duration_ms, error, trace_id)
    SELECT run_id, attempt, connection, method, url, status, started_at, duration_ms, error, trace_id
    FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[], $8::float8[], $9::text[], $10::text[])
      WITH ORDINALITY AS u (run_id, attempt, connection, method, url, status, started_at, duration_ms, error, trace_id, n)
    ORDER BY n`

  return {
    async recordOutboundCalls(calls: NewOutboundCall[]): Promise<void> {
      const rows = calls.map((c) => [
        c.runId,
        c.attempt,
        pgText(c.connection),
        pgText(c.method),
        pgText(c.url),
        c.status,
        Math.round(c.startedAt),
        c.durationMs,
        c.error === null ? null : pgText(c.error),
        c.traceId,
      ])
      await insertColumns(pool, insertSql, rows)
    },

    async listOutboundCalls(filter: OutboundCallFilter): Promise<OutboundCallRecord[]> {
      const sql = `SELECT seq, run_id, attempt, connection, method, url, status, started_at, duration_ms, error, trace_id
        FROM ${s}.outbound_calls WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT ${pageSize(filter.limit)}`
      return (await pool.query<Row>(sql, [Math.trunc(filter.runId), Math.trunc(filter.afterSeq ?? 0)])).rows.map(toOutboundCall)
    },
  }
}
