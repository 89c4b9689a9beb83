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
  if (url === undefined || url === '') return openThreadedSqliteStore({ ...sqliteOptions, path: join(projectDir, DEFAULT_SQLITE_PATH) })
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (path === '') throw new ConfigError(`--db ${url}: expected sqlite:PATH`)
    return openThreadedSqliteStore({ ...sqliteOptions, path: isAbsolute(path) ? path : resolve(path) })
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    // Loaded only when asked for, so an embedded installation never loads `pg`.
    const { openPostgresStore } = await import('./postgres/index.ts')
    return openPostgresStore({ ...postgres, url })
  }
  throw new ConfigError(`--db ${url}: expected sqlite:PATH or postgres://…`)
}
