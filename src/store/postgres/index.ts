/**
 * @module
 * The PostgreSQL store: many storehook processes on one database, through a `pg` Pool.
 *
 * Same contract and bookkeeping as the SQLite store; what PostgreSQL changes:
 * - durability is the server's (`synchronous_commit`, on by default): an event is acknowledged
 *   after its COMMIT returns, and group commit (`group-commit.ts`) keeps that affordable;
 * - claims from many processes at once use `FOR UPDATE SKIP LOCKED` and a lock per ordering key
 *   (`claim.ts` says why);
 * - commits that make runs claimable NOTIFY the other processes' workers (`notify.ts`);
 * - external resource calls are recorded without waiting for a WAL flush (`external-calls.ts`);
 * - every table lives in one schema (`?schema=`, default `storehook`), created and migrated at
 *   open under an advisory lock (`migrations.ts`), so processes starting together migrate once.
 */
import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import type { Store } from '../store.ts'
import { makeClaim } from './claim.ts'
import { explainOpenError, parsePostgresUrl } from './config.ts'
import { makeActivations } from './activations.ts'
import { makeExpunge } from './expunge.ts'
import { makeExternalCalls } from './external-calls.ts'
import { makeFinish } from './finish.ts'
import { GroupCommit } from './group-commit.ts'
import { makeIngest } from './ingest.ts'
import { migrate } from './migrations.ts'
import { makeOutboundCalls } from './outbound-calls.ts'
import { openPool } from './pool.ts'
import { RunsAvailableChannel } from './notify.ts'
import { makeSteps } from './steps.ts'
import { makeQueries } from './queries.ts'
import { makeRetention } from './retention.ts'
import { makeRunLogs } from './run-logs.ts'
import { makeSlots } from './slots.ts'

export interface PostgresStoreOptions {
  /** `postgres://USER:PASSWORD@HOST:PORT/DATABASE`, optionally `?schema=NAME&pool_max=N`. */
  url: string
  /** The schema for storehook's tables when the URL names none (default `storehook`). */
  schema?: string
  /** Connections in this process's pool when the URL sets no `pool_max` (default 10). */
  poolMax?: number
  /** How long a write waits for others to share its commit; default 2 ms, 0 = next tick. */
  groupCommitWindowMs?: number
  /** How long to wait for a connection before giving up; default 10 s. */
  connectTimeoutMs?: number
}

export interface PostgresStore extends Store {
  readonly kind: 'postgres'
  /** The schema holding this store's tables. */
  readonly schema: string
  onRunsAvailable(listener: () => void): () => void
  /** Resolves once this store's LISTEN connection is listening (for tests and health). */
  listening(): Promise<void>
}

/**
 * Connects, creates and migrates the schema if needed, and returns the store.
 *
 * @throws ConfigError naming `--db` for a malformed URL, bad credentials or a missing database;
 *   an Error saying where it looked when the server cannot be reached.
 * @example
 * const store = await openPostgresStore({ url: 'postgres://storehook:secret@db:5432/shop?schema=storehook' })
 * await store.ingest([{ source: 'webhooks', event, runs: [] }])
 * await store.close()
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const target = parsePostgresUrl(options.url, { schema: options.schema, poolMax: options.poolMax })
  const { schema } = target
  const connection: pg.ClientConfig = {
    ...target.config,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'storehook',
  }
  const pool = openPool({ ...connection, max: target.poolMax })

  try {
    const client = await pool.connect()
    try {
      await migrate(client, schema)
    } finally {
      client.release()
    }
  } catch (error) {
    await pool.end().catch(() => {})
    throw explainOpenError(error, target)
  }

  const s = `"${schema}"`
  const channel = new RunsAvailableChannel(connection, schema, randomUUID())
  const commits = new GroupCommit(pool, {
    windowMs: options.groupCommitWindowMs ?? 2,
    // Leave connections for claims and reads.
    maxBatches: Math.max(1, Math.min(4, target.poolMax - 1)),
    notify: (client) => client.query('SELECT pg_notify($1, $2)', [channel.name, channel.instanceId]),
  })
  let listening: Promise<void> = Promise.resolve()
  let closed = false

  return {
    kind: 'postgres',
    schema,
    ingest: makeIngest(s, schema, commits),
    claimRuns: makeClaim(pool, s, schema),
    ...makeFinish(pool, s, schema, commits),
    ...makeQueries(pool, s, schema, commits),
    ...makeExternalCalls(pool, s),
    ...makeActivations(pool, s),
    ...makeRetention(pool, s, schema),
    ...makeExpunge(pool, s),
    ...makeRunLogs(pool, s),
    ...makeOutboundCalls(pool, s),
    slots: makeSlots(pool, s),
    ...makeSteps(pool, s, schema, commits),
    onRunsAvailable(listener) {
      const { ready, unsubscribe } = channel.subscribe(listener)
      listening = ready
      return unsubscribe
    },
    listening: () => listening,
    async ping() {
      // Through the pool, and reading storehook's own schema: a reachable server whose schema is
      // gone or unreadable is not healthy either.
      await pool.query(`SELECT 1 FROM ${s}.migrations LIMIT 1`)
    },
    async close() {
      if (closed) return
      closed = true
      await commits.flush()
      await channel.close()
      await pool.end()
    },
  }
}
