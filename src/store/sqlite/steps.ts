/**
 * @module
 * Durable steps on SQLite (see `Step` and `saveStep` in ../store.ts): written like the rest of
 * the worker's bookkeeping, committed before the run goes on but without an fsync of its own.
 */
import type { DatabaseSync } from 'node:sqlite'
import type { NewStep, Step } from '../store.ts'
import { toStep } from '../step-rows.ts'
import type { GroupCommit } from './group-commit.ts'
import type { Row } from './rows.ts'


export function makeSteps(db: DatabaseSync, commits: GroupCommit) {
  const select = db.prepare('SELECT * FROM steps WHERE run_id = ? ORDER BY finished_at, rowid')
  // DO NOTHING keeps the first result; the SELECT returns whichever is stored.
  const insert = db.prepare(/* sql */ `
    INSERT INTO steps (run_id, name, attempt, result, finished_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (run_id, name) DO NOTHING`)
  const selectOne = db.prepare('SELECT * FROM steps WHERE run_id = ? AND name = ?')

  return {
    async listSteps(runId: number): Promise<Step[]> {
      return (select.all(runId) as Row[]).map(toStep)
    },
    saveStep(step: NewStep): Promise<Step> {
      return commits.write(
        () => {
          insert.run(step.runId, step.name, step.attempt, step.result, step.finishedAt)
          return toStep(selectOne.get(step.runId, step.name) as Row)
        },
        { durable: false },
      )
    },
  }
}

/** The stale-update guard's versions: written with a run's success, read before a run starts. */
export function makeVersions(db: DatabaseSync) {
  const upsert = db.prepare(/* sql */ `
    INSERT INTO entity_versions (action, ordering_key, version, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (action, ordering_key) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`)
  const select = db.prepare('SELECT version FROM entity_versions WHERE action = ? AND ordering_key = ?')
  return {
    /** Inside a write transaction (the run's success). */
    record(action: string, orderingKey: string, version: string, now: number): void {
      upsert.run(action, orderingKey, version, now)
    },
    async latestVersion(action: string, orderingKey: string): Promise<string | null> {
      const row = select.get(action, orderingKey) as { version: string } | undefined
      return row ? row.version : null
    },
  }
}
