/**
 * @module
 * External resource calls: written in batches without an fsync of their own (a record lost to
 * power loss costs no answer; the next durable commit fsyncs it anyway), read newest first for
 * the admin API.
 */
import type { DatabaseSync, SQLInputValue } from 'node:sqlite'
import { toExternalCall } from '../external-call-rows.ts'
import { pageSize, type ExternalCall, type ExternalCallFilter, type NewExternalCall } from '../store.ts'
import type { GroupCommit } from './group-commit.ts'
import type { Row } from './rows.ts'

export function makeExternalCalls(db: DatabaseSync, commits: GroupCommit) {
  const insert = db.prepare(/* sql */ `
    INSERT INTO external_calls (resource, kind, started_at, duration_ms, input_digest, status, outcome, fallback, answer, error)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)

  return {
    recordExternalCalls(calls: NewExternalCall[]): Promise<void> {
      if (calls.length === 0) return Promise.resolve()
      return commits.write(
        () => {
          for (const c of calls) {
            insert.run(c.resource, c.kind, c.startedAt, c.durationMs, c.inputDigest, c.status, c.outcome, c.fallback, c.answer, c.error)
          }
        },
        { durable: false },
      )
    },
    async listExternalCalls(filter: ExternalCallFilter): Promise<ExternalCall[]> {
      const clauses: string[] = []
      const params: SQLInputValue[] = []
      const add = (clause: string, value: SQLInputValue) => (clauses.push(clause), params.push(value))
      if (filter.resource !== undefined) add('resource = ?', filter.resource)
      if (filter.outcome !== undefined) add('outcome = ?', filter.outcome)
      if (filter.fallback !== undefined) add('fallback = ?', filter.fallback)
      if (filter.inputDigest !== undefined) add('input_digest = ?', filter.inputDigest)
      if (filter.since !== undefined) add('started_at >= ?', filter.since)
      if (filter.until !== undefined) add('started_at < ?', filter.until)
      if (filter.beforeId !== undefined) add('id < ?', filter.beforeId)
      const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''
      const sql = `SELECT * FROM external_calls ${where} ORDER BY id DESC LIMIT ${pageSize(filter.limit)}`
      return (db.prepare(sql).all(...params) as Row[]).map(toExternalCall)
    },
  }
}
