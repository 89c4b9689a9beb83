/**
 * @module
 * The outbound HTTP calls of runs: written like run log lines (`run-logs.ts`), read per run in
 * the order they were recorded.
 */
import type { DatabaseSync } from 'node:sqlite'
import { toOutboundCall } from '../run-log-rows.ts'
import { pageSize, type NewOutboundCall, type OutboundCallFilter, type OutboundCallRecord } from '../store.ts'
import type { GroupCommit } from './group-commit.ts'
import type { Row } from './rows.ts'

export function makeOutboundCalls(db: DatabaseSync, commits: GroupCommit) {
  const insert = db.prepare(/* sql */ `
    INSERT INTO outbound_calls (run_id, attempt, connection, method, url, status, started_at, duration_ms, error, trace_id)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)

  return {
    recordOutboundCalls(calls: NewOutboundCall[]): Promise<void> {
      if (calls.length === 0) return Promise.resolve()
      return commits.write(
        () => {
          for (const c of calls) {
            insert.run(c.runId, c.attempt, c.connection, c.method, c.url, c.status, Math.round(c.startedAt), c.durationMs, c.error, c.traceId)
          }
        },
        { durable: false },
      )
    },
    async listOutboundCalls(filter: OutboundCallFilter): Promise<OutboundCallRecord[]> {
      const sql = `SELECT * FROM outbound_calls WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ${pageSize(filter.limit)}`
      return (db.prepare(sql).all(filter.runId, filter.afterSeq ?? 0) as Row[]).map(toOutboundCall)
    },
  }
}
