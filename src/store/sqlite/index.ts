/**
 * @module
 * The embedded store: one SQLite file through `node:sqlite`, WAL mode.
 *
 * Durability: `full` (the default) fsyncs every commit that holds an acknowledged write, so an
 * acknowledged event survives power loss; `normal` fsyncs only at checkpoints and survives a
 * process crash but may lose the last commits on power loss. Group commit keeps FULL affordable,
 * and the worker's bookkeeping never pays for it (see group-commit.ts).
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { Store } from '../store.ts'
import { makeRunLifecycle } from './claim.ts'
import { makeActivations } from './activations.ts'
import { makeExpunge } from './expunge.ts'
import { makeExternalCalls } from './external-calls.ts'
import { makeFingerprints } from './fingerprints.ts'
import { GroupCommit } from './group-commit.ts'
import { makeIngest } from './ingest.ts'
import { makeOutboundCalls } from './outbound-calls.ts'
import { makeRunLogs } from './run-logs.ts'
import { migrations } from './migrations.ts'
import { makeSteps, makeVersions } from './steps.ts'
import { makeQueries } from './queries.ts'
import { makeRetention } from './retention.ts'

export interface SqliteStoreOptions {
  /** File path; its directory is created if missing. */
  path: string
  /** `full` (default): durable against power loss. `normal`: against process crashes only. */
  synchronous?: 'full' | 'normal'
  /**
   * How long a write waits for others to share its commit; default 0 (the next turn of the event
   * loop). Under load, the writes that arrive while a commit is fsyncing form the next batch by
   * themselves; waiting longer only adds latency.
   */
  groupCommitWindowMs?: number
  /** How long to wait for another process holding the write lock (the CLI, say); default 5 s. */
  busyTimeoutMs?: number
}

/**
 * Opens (creating if needed) and migrates a SQLite store.
 *
 * @example
 * const store = openSqliteStore({ path: '.storehook/storehook.db' })
 * await store.ingest([{ source: 'webhooks', event, runs: [] }])
 * await store.close()
 */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  mkdirSync(dirname(options.path), { recursive: true })
  const db = new DatabaseSync(options.path)
  db.exec(`PRAGMA busy_timeout = ${Math.floor(options.busyTimeoutMs ?? 5000)}`)
  db.exec('PRAGMA journal_mode = WAL')
  db.exec(`PRAGMA synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`)
  migrate(db)
  db.exec('PRAGMA foreign_keys = ON')

  const fingerprints = makeFingerprints(db)
  const versions = makeVersions(db)
  const commits = new GroupCommit(db, options.groupCommitWindowMs ?? 0, options.synchronous ?? 'full')
  return {
    kind: 'sqlite',
    ingest: makeIngest(db, commits),
    ...makeRunLifecycle(db, commits, fingerprints, versions),
    ...makeSteps(db, commits),
    latestVersion: versions.latestVersion,
    fingerprintMatches: fingerprints.fingerprintMatches,
    ...makeQueries(db, commits),
    ...makeExternalCalls(db, commits),
    ...makeActivations(db, commits),
    ...makeRetention(db, commits),
    ...makeExpunge(db, commits),
    ...makeRunLogs(db, commits),
    ...makeOutboundCalls(db, commits),
    async ping() {
      db.prepare('SELECT 1').get()
    },
    async close() {
      commits.flush()
      if (db.isOpen) db.close()
    },
  }
}

/** Applies the missing migrations in one transaction; foreign keys must be off (see migrations.ts). */
function migrate(db: DatabaseSync): void {
  db.exec('PRAGMA foreign_keys = OFF')
  db.exec('BEGIN IMMEDIATE')
  try {
    const current = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version)
    const latest = migrations.at(-1)!.version
    if (current > latest) {
      throw new Error(
        `this database was written by a newer storehook (schema ${current}, this one knows up to ${latest}); upgrade storehook`,
      )
    }
    for (const migration of migrations) {
      if (migration.version <= current) continue
      db.exec(migration.sql)
      db.exec(`PRAGMA user_version = ${migration.version}`)
    }
    const broken = db.prepare('PRAGMA foreign_key_check').all()
    if (broken.length > 0) throw new Error(`a migration left ${broken.length} broken references, e.g. ${JSON.stringify(broken[0])}`)
    db.exec('COMMIT')
  } catch (error) {
    db.exec('ROLLBACK')
    throw error
  }
}
