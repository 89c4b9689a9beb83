/**
 * @module
 * Opens the store a `--db` URL names: `sqlite:PATH` (the default, `.storehook/storehook.db` in the
 * project) or `postgres://…`.
 */
import { isAbsolute, join, resolve } from 'node:path'
import { ConfigError } from '../core/errors.ts'
import type { SqliteStoreOptions } from './sqlite/index.ts'
import { openThreadedSqliteStore } from './sqlite/thread.ts'
import type { Store } from './store.ts'

export const DEFAULT_SQLITE_PATH = join('.storehook', 'storehook.db')

/**
 * @param url `sqlite:PATH` (relative paths are taken from the current directory), or undefined
 *   for the project's default file.
 * @example
 * const store = await openStore('sqlite:/var/lib/storehook/prod.db', { projectDir: '.' })
 */
export async function openStore(
  url: string | undefined,
  options: { projectDir: string } & Omit<SqliteStoreOptions, 'path'>,
): Promise<Store> {
  const { projectDir, ...sqliteOptions } = options
  if (url === undefined || url === '') return openThreadedSqliteStore({ ...sqliteOptions, path: join(projectDir, DEFAULT_SQLITE_PATH) })
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (path === '') throw new ConfigError(`--db ${url}: expected sqlite:PATH`)
    return openThreadedSqliteStore({ ...sqliteOptions, path: isAbsolute(path) ? path : resolve(path) })
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError('--db postgres://…: the PostgreSQL store is not available in this version; use sqlite:PATH')
  }
  throw new ConfigError(`--db ${url}: expected sqlite:PATH or postgres://…`)
}
