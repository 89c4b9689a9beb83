/**
 * @module
 * Turns a `--db postgres://…` URL and options into what `pg` needs, and connection failures into
 * errors that say whose fault they are: a malformed URL, a wrong password or a missing database is
 * a ConfigError naming `--db`; an unreachable server is an operational error that says where it
 * looked. Passwords never appear in messages.
 *
 * storehook's own URL parameters are taken out before `pg` sees the URL:
 * - `schema=NAME`: the schema holding storehook's tables (default `storehook`), so one database can
 *   serve several installations or tests side by side;
 * - `pool_max=N`: connections in this process's pool (default 10); a process also holds one more
 *   for LISTEN while its worker runs. Size PostgreSQL's `max_connections` for
 *   processes × (pool_max + 1), plus the CLI.
 * Everything else (`sslmode`, `application_name`, `host=/var/run/postgresql`, …) is `pg`'s.
 */
import type pg from 'pg'
import { ConfigError } from '../../core/errors.ts'

export const DEFAULT_SCHEMA = 'storehook'
export const DEFAULT_POOL_MAX = 10

/** A plain lowercase identifier: usable unquoted and in the NOTIFY channel name. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,46}$/

export interface ParsedPostgresUrl {
  config: pg.ClientConfig
  schema: string
  poolMax: number
  /** `host:port/database`, for messages (never the password). */
  where: string
}

/**
 * @param options.schema used when the URL has no `?schema=`
 * @throws ConfigError naming `--db` when the URL or a setting is malformed
 */
export function parsePostgresUrl(
  url: string,
  options: { schema?: string | undefined; poolMax?: number | undefined } = {},
): ParsedPostgresUrl {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError(`--db ${redact(url)}: not a valid URL; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE`)
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(`--db ${redact(url)}: expected a postgres:// URL`)
  }
  const schema = parsed.searchParams.get('schema') ?? options.schema ?? DEFAULT_SCHEMA
  if (!SCHEMA_NAME.test(schema)) {
    throw new ConfigError(
      `--db ${redact(url)}: schema "${schema}" must be a lowercase identifier ` +
        '(a-z, 0-9, _; at most 47 characters, not starting with a digit)',
    )
  }
  const poolParam = parsed.searchParams.get('pool_max')
  const poolMax = poolParam === null ? (options.poolMax ?? DEFAULT_POOL_MAX) : Number(poolParam)
  if (!Number.isInteger(poolMax) || poolMax < 2) {
    throw new ConfigError(`--db ${redact(url)}: pool_max must be an integer of at least 2 (one for claims, one for commits)`)
  }
  parsed.searchParams.delete('schema')
  parsed.searchParams.delete('pool_max')
  const database = decodeURIComponent(parsed.pathname.slice(1)) || '(default database)'
  const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost'
  return {
    config: { connectionString: parsed.toString() },
    schema,
    poolMax,
    where: `${host}:${parsed.port || 5432}/${database}`,
  }
}

/** The URL with its password replaced, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@')
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'ENOENT'])

/**
 * Wraps an error from opening the store in one that says what to do about it.
 * Authentication, authorization and missing-database errors are the configuration's fault.
 */
export function explainOpenError(error: unknown, target: ParsedPostgresUrl): Error {
  const code = (error as { code?: string }).code
  const message = (error as Error).message
  const where = `PostgreSQL at ${target.where} (--db)`
  if (code === '28P01' || code === '28000') return new ConfigError(`${where} refused the credentials: ${message}`, { cause: error })
  if (code === '3D000') return new ConfigError(`${where}: ${message}; create it or fix --db`, { cause: error })
  if (code === '42501') {
    return new ConfigError(`${where}: the role lacks a privilege storehook needs in schema "${target.schema}": ${message}`, {
      cause: error,
    })
  }
  if (code !== undefined && UNREACHABLE.has(code)) {
    return new Error(`cannot reach ${where}: ${code}; is the server running and the address right?`, { cause: error })
  }
  if (error instanceof ConfigError) return error
  return new Error(`could not open the store on ${where}: ${message}`, { cause: error })
}
