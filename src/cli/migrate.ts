/**
 * @module
 * `storehook migrate [--db URL]`: brings a store's schema up to date and prints its version.
 *
 * `storehook start` migrates at open too, so this is never required. It exists for deployments
 * that migrate as a step of their own: before rolling out new processes, under a role that may
 * create tables while the runtime's role may not, or to see which schema version a database holds.
 * On PostgreSQL it takes the same advisory lock as the runtime, so it is safe while processes are
 * starting against the same schema.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { sqlitePathOf } from '../store/open.ts'
import { printJson, storeOptions, withExamples } from './options.ts'

export interface MigrateResult {
  /** `sqlite:PATH` or `PostgreSQL at host:port/database, schema "…"`: never a password. */
  store: string
  /** The schema version the store is at now. */
  version: number
  /** The versions this command applied (empty when already up to date). */
  applied: number[]
}

export function registerMigrateCommand(program: Command): void {
  const migrate = storeOptions(program.command('migrate').description("create or update the store's schema and print its version (start does this by itself)"))
    .option('--json', 'print JSON for scripts: { store, version, applied }')
  withExamples(migrate, [
    'storehook migrate                                    # ./.storehook/storehook.db',
    "storehook migrate --db 'postgres://migrator@db/shop?schema=storehook'   # as a deployment step",
    'storehook migrate --json',
  ])
  migrate
    .action(async (options: { project: string; db?: string; json?: boolean }) => {
      const result = await migrateStore(options.db, resolve(options.project))
      if (options.json) return printJson(result)
      const what = result.applied.length === 0 ? 'already up to date' : `applied ${result.applied.join(', ')}`
      console.log(`${result.store}: schema version ${result.version} (${what})`)
    })
}

/**
 * Migrates the store a `--db` value names, creating it if it does not exist.
 *
 * @throws ConfigError for a malformed URL, refused credentials or a missing database; an Error when
 *   the server cannot be reached or the schema is newer than this storehook
 * @example
 * const { version } = await migrateStore('postgres://storehook@db/shop?schema=storehook', '.')
 */
export async function migrateStore(url: string | undefined, projectDir: string): Promise<MigrateResult> {
  const path = sqlitePathOf(url, projectDir)
  return path === null ? migratePostgres(url!) : migrateSqlite(path)
}

async function migrateSqlite(path: string): Promise<MigrateResult> {
  // Loaded here: `storehook migrate` on PostgreSQL has no use for node:sqlite, and the reverse.
  const { DatabaseSync } = await import('node:sqlite')
  const { openSqliteStore } = await import('../store/sqlite/index.ts')
  const versionOf = () => {
    if (!existsSync(path)) return 0
    const db = new DatabaseSync(path, { readOnly: true })
    try {
      return Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version)
    } finally {
      db.close()
    }
  }
  const before = versionOf()
  // Opening migrates (in one transaction, under SQLite's write lock).
  await openSqliteStore({ path }).close()
  const version = versionOf()
  const applied = Array.from({ length: version - before }, (_, i) => before + i + 1)
  return { store: `sqlite:${path}`, version, applied }
}

async function migratePostgres(url: string): Promise<MigrateResult> {
  const { openPool } = await import('../store/postgres/pool.ts')
  const { explainOpenError, parsePostgresUrl } = await import('../store/postgres/config.ts')
  const { migrate } = await import('../store/postgres/migrations.ts')
  const target = parsePostgresUrl(url)
  // A pool of one: the migrator wants a PoolClient, as the runtime hands it one.
  const pool = openPool({ ...target.config, max: 1, connectionTimeoutMillis: 10_000, application_name: 'storehook migrate' })
  try {
    const client = await pool.connect()
    try {
      const applied = await migrate(client, target.schema)
      const { rows } = await client.query<{ version: number }>(`SELECT max(version) AS version FROM "${target.schema}".migrations`)
      return { store: `PostgreSQL at ${target.where}, schema "${target.schema}"`, version: Number(rows[0]!.version), applied }
    } finally {
      client.release()
    }
  } catch (error) {
    throw explainOpenError(error, target)
  } finally {
    await pool.end().catch(() => {})
  }
}
