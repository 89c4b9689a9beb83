/**
 * @module
 * Opens the store a `--db` URL names: `sqlite:PATH` (the default, `.storehook/storehook.db` in the
 * project) or `postgres://…` (`postgresql://` too), with `?schema=NAME` (default `storehook`) and
 * `?pool_max=N` (default 10) read by storehook and every other parameter passed to `pg`.
 */
import { isAbsolute, join, resolve } from 'node:path'
import { ConfigError } from '../core/errors.ts'
import type { PostgresStoreOptions } from './postgres/index.ts'
import type { SqliteStoreOptions } from './sqlite/index.ts'
import { openThreadedSqliteStore } from './sqlite/thread.ts'
import type { Store } from './store.ts'

export const DEFAULT_SQLITE_PATH = join('.storehook', 'storehook.db')

export interface OpenStoreOptions extends Omit<SqliteStoreOptions, 'path'> {
  projectDir: string
  /** Options for a `postgres://` URL; its own `?schema=` and `?pool_max=` take precedence. */
  postgres?: Omit<PostgresStoreOptions, 'url'>
}

/**
 * @param url `sqlite:PATH` (relative paths are taken from the current directory), `postgres://…`,
 *   or undefined for the project's default file. `synchronous` applies to SQLite only: on
 *   PostgreSQL durability is the server's `synchronous_commit`.
 * @example
 * const store = await openStore('sqlite:/var/lib/storehook/prod.db', { projectDir: '.' })
 * const shared = await openStore('postgres://storehook:secret@db/shop?schema=storehook', { projectDir: '.' })
 */
export async function openStore(url: string | undefined, options: OpenStoreOptions): Promise<Store> {
  const { projectDir, postgres, ...sqliteOptions } = options
  const path = sqlitePathOf(url, projectDir)
  if (path !== null) return openThreadedSqliteStore({ ...sqliteOptions, path })
  // Loaded only when asked for, so an embedded installation never loads `pg`.
  const { openPostgresStore } = await import('./postgres/index.ts')
  return openPostgresStore({ ...postgres, url: url! })
}

/**
 * The absolute SQLite file a `--db` value names (the project's default file when it is empty), or
 * null for a `postgres://` URL. For commands that work on the file itself (`migrate`, `db copy`).
 *
 * @throws ConfigError naming `--db` for anything else
 * @example
 * sqlitePathOf('sqlite:data/x.db', '.') // '/current/dir/data/x.db'
 */
export function sqlitePathOf(url: string | undefined, projectDir: string, flag = '--db'): string | null {
  if (url === undefined || url === '') return resolve(projectDir, DEFAULT_SQLITE_PATH)
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (path === '') throw new ConfigError(`${flag} ${url}: expected sqlite:PATH`)
    return isAbsolute(path) ? path : resolve(path)
  }
  if (/^postgres(ql)?:\/\//.test(url)) return null
  throw new ConfigError(`${flag} ${url}: expected sqlite:PATH or postgres://…`)
}
