/**
 * @module
 * Activation records of App Builder actions on PostgreSQL: the same records and reads as SQLite's
 * (`../sqlite/activations.ts`), written with `synchronous_commit` off for the same reason.
 */
import type { Pool } from 'pg'
import { ACTIVATION_COLUMNS, activationValues, toActivation } from '../activation-rows.ts'
import { pageSize, type ActivationFilter, type ActivationRecord } from '../store.ts'
import { inTransaction, UNSYNCED } from './pool.ts'
import type { Row } from './rows.ts'

/** `s` is the quoted schema name. */
export function makeActivations(pool: Pool, s: string) {
  const insertSql = `
    INSERT INTO ${s}.activations (${ACTIVATION_COLUMNS})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`

  return {
    async recordActivation(activation: ActivationRecord): Promise<void> {
      // Result and logs travel as JSON text, where NUL is escaped: nothing here can hold a raw NUL.
      const values: unknown[] = activationValues(activation)
      values[8] = activation.leftWork
      await inTransaction(pool, (client) => client.query(insertSql, values), UNSYNCED)
    },
    async getActivation(activationId: string): Promise<ActivationRecord | undefined> {
      const { rows } = await pool.query<Row>(`SELECT ${ACTIVATION_COLUMNS} FROM ${s}.activations WHERE activation_id = $1`, [activationId])
      return rows[0] ? toActivation(rows[0]) : undefined
    },
    async listActivations(filter: ActivationFilter): Promise<ActivationRecord[]> {
      const clauses: string[] = []
      const params: unknown[] = []
      const add = (column: string, op: string, value: unknown) => {
        params.push(value)
        clauses.push(`${column} ${op} $${params.length}`)
      }
      if (filter.action !== undefined) add('action', '=', filter.action)
      if (filter.runId !== undefined) add('run_id', '=', filter.runId)
      if (filter.before !== undefined) add('started_at', '<', Math.ceil(filter.before))
      const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''
      const sql = `SELECT ${ACTIVATION_COLUMNS} FROM ${s}.activations ${where} ORDER BY started_at DESC, seq DESC LIMIT ${pageSize(filter.limit)}`
      return (await pool.query<Row>(sql, params)).rows.map(toActivation)
    },
  }
}
