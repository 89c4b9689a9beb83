/**
 * @module
 * Durable steps, paused runs and the stale-update guard's versions on PostgreSQL; the same
 * behaviour as SQLite's (`../sqlite/steps.ts` and `../sqlite/claim.ts`).
 */
import type { Pool } from 'pg'
import type { NewStep, Step } from '../store.ts'
import { toStep } from '../step-rows.ts'
import type { GroupCommit } from './group-commit.ts'
import { statement } from './rows.ts'


export function makeSteps(pool: Pool, s: string, schema: string, commits: GroupCommit) {
  const select = statement(schema, 'steplist', `SELECT * FROM ${s}.steps WHERE run_id = $1 ORDER BY finished_at, name`)
  // DO NOTHING keeps the first result; the second statement returns whichever is stored.
  const insert = statement(schema, 'stepinsert', /* sql */ `
    INSERT INTO ${s}.steps (run_id, name, attempt, result, finished_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (run_id, name) DO NOTHING`)
  const selectOne = statement(schema, 'stepone', `SELECT * FROM ${s}.steps WHERE run_id = $1 AND name = $2`)
  const resume = statement(schema, 'resume', /* sql */ `
    UPDATE ${s}.runs SET paused_on = NULL, run_at = $3, updated_at = $3
    WHERE id IN (SELECT id FROM ${s}.runs WHERE paused_on = $1 AND state = 'retrying' ORDER BY id LIMIT $2)`)
  const selectVersion = statement(schema, 'version', /* sql */ `
    SELECT version FROM ${s}.entity_versions WHERE action = $1 AND ordering_key = $2`)

  return {
    async listSteps(runId: number): Promise<Step[]> {
      return (await pool.query(select([runId]))).rows.map(toStep)
    },
    saveStep(step: NewStep): Promise<Step> {
      return commits.write(async (client) => {
        await client.query(insert([step.runId, step.name, step.attempt, step.result, step.finishedAt]))
        return toStep((await client.query(selectOne([step.runId, step.name]))).rows[0]!)
      })
    },
    resumePausedRuns(connection: string, limit?: number): Promise<number> {
      return commits.write(async (client, ctx) => {
        const { rowCount } = await client.query(resume([connection, limit ?? null, Date.now()]))
        // Resumed runs are claimable at once, by any process.
        if (rowCount) ctx.notify()
        return rowCount ?? 0
      })
    },
    async latestVersion(action: string, orderingKey: string): Promise<string | null> {
      const { rows } = await pool.query<{ version: string }>(selectVersion([action, orderingKey]))
      return rows[0]?.version ?? null
    },
  }
}
