/**
 * @module
 * Activation records of App Builder actions: written without an fsync of their own, like the
 * worker's bookkeeping (the next durable commit carries them), read newest first.
 */
import type { DatabaseSync, SQLInputValue } from 'node:sqlite'
import { ACTIVATION_COLUMNS, activationValues, toActivation } from '../activation-rows.ts'
import { pageSize, type ActivationFilter, type ActivationRecord } from '../store.ts'
import type { GroupCommit } from './group-commit.ts'
import type { Row } from './rows.ts'

export function makeActivations(db: DatabaseSync, commits: GroupCommit) {
  // A replayed activation id (a retried `recordActivation`) keeps the first record.
  const insert = db.prepare(`INSERT INTO activations (${ACTIVATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
  const byId = db.prepare(`SELECT ${ACTIVATION_COLUMNS} FROM activations WHERE activation_id = ?`)

  return {
    recordActivation(activation: ActivationRecord): Promise<void> {
      return commits.write(() => void insert.run(...activationValues(activation)), { durable: false })
    },
    async getActivation(activationId: string): Promise<ActivationRecord | undefined> {
      const row = byId.get(activationId) as Row | undefined
      return row ? toActivation(row) : undefined
    },
    async listActivations(filter: ActivationFilter): Promise<ActivationRecord[]> {
      const clauses: string[] = []
      const params: SQLInputValue[] = []
      const add = (clause: string, value: SQLInputValue) => (clauses.push(clause), params.push(value))
      if (filter.action !== undefined) add('action = ?', filter.action)
      if (filter.runId !== undefined) add('run_id = ?', filter.runId)
      if (filter.before !== undefined) add('started_at < ?', filter.before)
      const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''
      const sql = `SELECT ${ACTIVATION_COLUMNS} FROM activations ${where} ORDER BY started_at DESC, seq DESC LIMIT ${pageSize(filter.limit)}`
      return (db.prepare(sql).all(...params) as Row[]).map(toActivation)
    },
  }
}
