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

/**
 * Starts a transaction whose COMMIT does not wait for the WAL to reach disk: for records written
 * off the acknowledgement path (external calls, run logs, activations), whose loss to a server
 * crash costs no event.
 */
export const UNSYNCED = 'BEGIN; SET LOCAL synchronous_commit = off'

/** PostgreSQL refuses NUL in `text`, and console output, errors and answers may hold one. */
export const pgText = (value: string): string => (value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value)

/**
 * Inserts a batch as one statement (`unnest($1::…[], $2::…[], …)`): each row's values are turned
 * into one array per column, in an {@link UNSYNCED} transaction.
 *
 * @example
 * await insertColumns(pool, insertSql, lines.map((l) => [l.runId, l.attempt, pgText(l.message)]))
 */
export async function insertColumns(pool: pg.Pool, sql: string, rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return
  const columns: unknown[][] = rows[0]!.map(() => [])
  for (const row of rows) row.forEach((value, i) => columns[i]!.push(value))
  await inTransaction(pool, (client) => client.query(sql, columns), UNSYNCED)
}
