/**
 * @module
 * Run log lines: written in batches without an fsync of their own (a line lost to power loss
 * loses no event; the next durable commit fsyncs it anyway), read in the order they were written.
 */
import type { DatabaseSync, SQLInputValue } from 'node:sqlite'
import { toRunLogLine } from '../run-log-rows.ts'
import { pageSize, type NewRunLogLine, type RunLogFilter, type RunLogLine } from '../store.ts'
import type { GroupCommit } from './group-commit.ts'
import type { Row } from './rows.ts'

export function makeRunLogs(db: DatabaseSync, commits: GroupCommit) {
  const insert = db.prepare('INSERT INTO run_logs (run_id, attempt, at, level, message, fields) VALUES (?, ?, ?, ?, ?, ?)')

  return {
    recordRunLogs(lines: NewRunLogLine[]): Promise<void> {
      if (lines.length === 0) return Promise.resolve()
      return commits.write(
        () => {
          for (const l of lines) insert.run(l.runId, l.attempt, Math.round(l.at), l.level, l.message, l.fields)
        },
        { durable: false },
      )
    },
    async listRunLogs(filter: RunLogFilter): Promise<RunLogLine[]> {
      const clauses = ['run_id = ?']
      const params: SQLInputValue[] = [filter.runId]
      const add = (clause: string, ...values: SQLInputValue[]) => (clauses.push(clause), params.push(...values))
      if (filter.attempt !== undefined) add('attempt = ?', filter.attempt)
      if (filter.levels !== undefined) add(`level IN (${filter.levels.map(() => '?').join(', ') || 'NULL'})`, ...filter.levels)
      // instr, not LIKE: the operator's text is matched as it is, `%` and `_` included.
      if (filter.contains) add("(instr(lower(message), lower(?)) > 0 OR instr(lower(coalesce(fields, '')), lower(?)) > 0)", filter.contains, filter.contains)
      if (filter.afterSeq !== undefined) add('seq > ?', filter.afterSeq)
      const sql = `SELECT * FROM run_logs WHERE ${clauses.join(' AND ')} ORDER BY seq LIMIT ${pageSize(filter.limit)}`
      return (db.prepare(sql).all(...params) as Row[]).map(toRunLogLine)
    },
  }
}
