/**
 * @module
 * The one way storehook opens a `pg` pool, so that a dying connection never crashes the process.
 *
 * pg reports a connection that dies (server restart, `pg_terminate_backend`, network cut) as an
 * 'error' event: on the pool while the connection is idle, but on the client itself while it is
 * checked out between two queries, where pg-pool listens no longer. An 'error' event nobody
 * listens to is an uncaught exception. The queries in flight on that connection still fail with
 * the error, so their callers report it: silencing the events hides nothing.
 */
import pg from 'pg'

/**
 * @example
 * const pool = openPool({ ...target.config, max: 1, application_name: 'storehook migrate' })
 */
export function openPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config)
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  return pool
}
