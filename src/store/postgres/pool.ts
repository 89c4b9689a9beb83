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

/**
 * Runs `work` in one transaction on a pooled client: COMMIT when it resolves, ROLLBACK and the
 * error when it throws. A client whose transaction state is unknown (a failed query, a lost
 * COMMIT) is not given back to the pool. `begin` sets the transaction up.
 *
 * @example
 * await inTransaction(pool, (client) => client.query(insertSql, values), 'BEGIN; SET LOCAL synchronous_commit = off')
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query(begin)
    const result = await work(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    broken = error as Error
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release(broken)
  }
}
