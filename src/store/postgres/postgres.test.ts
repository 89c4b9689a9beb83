import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { usePostgres } from '../../../test/postgres-cluster.ts'
import { ConfigError } from '../../core/errors.ts'
import { describeStoreContract } from '../contract.ts'
import { describeRunLogsContract } from '../contract-run-logs.ts'
import { describeRetentionContract } from '../contract-retention.ts'
import { openStore } from '../open.ts'
import type { IngestItem, Store } from '../store.ts'
import { parsePostgresUrl } from './config.ts'
import { dueRuns } from './claim.ts'
import { nextRunAtSql } from './finish.ts'
import { openPostgresStore, type PostgresStore } from './index.ts'
import { migrate, migrations } from './migrations.ts'
import { openPool } from './pool.ts'

const server = await usePostgres()
const admin = new pg.Pool({ connectionString: server.url, max: 10 })
// The server may stop before this pool's idle connections are closed.
admin.on('error', () => {})
after(() => admin.end())

// Each test gets its own schema, as pg-boss's tests do, dropped afterwards.
let counter = 0
const freshSchema = () => `t_${process.pid}_${++counter}_${randomUUID().slice(0, 6)}`
const dropSchema = (schema: string) => admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)

async function withStores<T>(count: number, body: (stores: PostgresStore[], schema: string) => Promise<T>): Promise<T> {
  const schema = freshSchema()
  const stores: PostgresStore[] = []
  try {
    for (let i = 0; i < count; i++) stores.push(await openPostgresStore({ url: server.url, schema }))
    return await body(stores, schema)
  } finally {
    await Promise.all(stores.map((s) => s.close()))
    await dropSchema(schema)
  }
}

/** A store in a schema of its own, dropped afterwards. */
const freshStore = async () => {
  const schema = freshSchema()
  const store = await openPostgresStore({ url: server.url, schema })
  return {
    store,
    cleanup: async () => {
      await store.close()
      await dropSchema(schema)
    },
  }
}
describeStoreContract('postgres', freshStore)
describeRunLogsContract('postgres', freshStore)
describeRetentionContract('postgres', freshStore)

const event = (id: string, key: string | null, action = 'act'): IngestItem => ({
  source: 'webhooks',
  event: { id, type: 'order.updated', payload: { id }, headers: {} },
  runs: [{ action, orderingKey: key, maxAttempts: 5 }],
})

describe('PostgreSQL store: opening', () => {
  it('migrates once when several stores open a new schema at the same moment', async () => {
    const schema = freshSchema()
    const clients = await Promise.all(Array.from({ length: 6 }, () => admin.connect()))
    try {
      const applied = await Promise.all(clients.map((client) => migrate(client, schema)))
      const versions = migrations.map((m) => m.version)
      assert.deepEqual(applied.flat(), versions, 'exactly one migrator applied each version')
      const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore({ url: server.url, schema })))
      await Promise.all(stores.map((s) => s.close()))
      const { rows } = await admin.query(`SELECT version FROM "${schema}".migrations`)
      assert.deepEqual(rows.map((r) => r.version).sort((a, b) => a - b), versions)
    } finally {
      for (const client of clients) client.release()
      await dropSchema(schema)
    }
  })

  it('keeps its tables in the schema named by ?schema=, and defaults to "storehook"', async () => {
    const schema = freshSchema()
    const store = await openStore(`${server.url}?schema=${schema}`, { projectDir: '.' })
    try {
      assert.equal(store.kind, 'postgres')
      assert.equal((store as PostgresStore).schema, schema)
      await store.ingest([event('e1', null)])
      const { rows } = await admin.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [schema],
      )
      assert.deepEqual(rows.map((r) => r.table_name), ['activations', 'attempts', 'budget_slots', 'entity_versions', 'events', 'expunges', 'external_calls', 'fingerprints', 'migrations', 'outbound_calls', 'run_logs', 'runs', 'steps'])
      assert.equal((await admin.query(`SELECT count(*)::int AS n FROM "${schema}".events`)).rows[0].n, 1)
    } finally {
      await store.close()
      await dropSchema(schema)
    }
    // Not opened: with DATABASE_URL the server may hold a real "storehook" schema.
    assert.equal(parsePostgresUrl(server.url).schema, 'storehook')
    assert.equal(parsePostgresUrl(server.url, { schema: 'mine' }).schema, 'mine')
    assert.equal(parsePostgresUrl(`${server.url}?schema=theirs`, { schema: 'mine' }).schema, 'theirs')
  })

  it('keeps what it acknowledged across close and reopen', async () => {
    const schema = freshSchema()
    try {
      const first = await openPostgresStore({ url: server.url, schema })
      const [outcome] = await first.ingest([event('kept', 'k')])
      await first.close()
      const second = await openPostgresStore({ url: server.url, schema })
      assert.deepEqual((await second.getEvent('webhooks', 'kept'))!.payload, { id: 'kept' })
      assert.equal((await second.runsForEvent(outcome!.seq)).length, 1)
      await second.close()
    } finally {
      await dropSchema(schema)
    }
  })

  it('refuses a schema written by a newer storehook', async () => {
    const schema = freshSchema()
    try {
      await (await openPostgresStore({ url: server.url, schema })).close()
      await admin.query(`INSERT INTO "${schema}".migrations (version, applied_at) VALUES (999, 0)`)
      await assert.rejects(openPostgresStore({ url: server.url, schema }), /newer storehook/)
    } finally {
      await dropSchema(schema)
    }
  })

  it('says whose fault a bad --db is', async () => {
    await assert.rejects(openStore('postgres://[oops', { projectDir: '.' }), (e) => e instanceof ConfigError && /--db/.test(e.message))
    await assert.rejects(
      openStore(`${server.url}?schema=Bad-Name`, { projectDir: '.' }),
      (e) => e instanceof ConfigError && /--db .*schema "Bad-Name"/.test(e.message),
    )
    await assert.rejects(
      openStore(`${server.url.replace(/\/postgres$/, '/no_such_db')}`, { projectDir: '.' }),
      (e) => e instanceof ConfigError && /no_such_db.*--db/.test(e.message),
    )
    const port = new URL(server.url).port
    await assert.rejects(
      openStore('postgres://u:secret@127.0.0.1:1/db', { projectDir: '.' }),
      (e) => !(e instanceof ConfigError) && /cannot reach PostgreSQL at 127\.0\.0\.1:1\/db \(--db\)/.test((e as Error).message) &&
        !(e as Error).message.includes('secret'),
    )
    assert.ok(port)
  })
})

describe('PostgreSQL store: ingest', () => {
  it('acknowledges only committed events, each caller its own outcome, in few transactions', () =>
    withStores(2, async ([writer, reader]) => {
      assert.ok(writer && reader)
      const items = Array.from({ length: 300 }, (_, i) => event(`g${i}`, `k${i % 7}`))
      const xidsBefore = await transactionIds()
      const outcomes = await Promise.all(items.map((item) => writer.ingest([item])))
      const transactions = (await transactionIds()) - xidsBefore - 1
      assert.ok(transactions <= 10, `300 concurrent ingests took ${transactions} transactions`)
      assert.equal(new Set(outcomes.map((o) => o[0]!.seq)).size, 300)

      // A NUL character cannot be stored in a PostgreSQL text column: that item alone fails.
      const more = Array.from({ length: 20 }, (_, i) => event(`m${i}`, null))
      const bad = event('bad\u0000id', null)
      const results = await Promise.allSettled([...more, bad, items[3]!].map((item) => writer.ingest([item])))
      assert.deepEqual(results.map((r) => r.status), [...Array(20).fill('fulfilled'), 'rejected', 'fulfilled'])
      const again = results[21]!
      assert.ok(again.status === 'fulfilled' && again.value[0]!.duplicate)
      assert.equal(await reader.getEvent('webhooks', 'bad\u0000id').catch(() => null), null)
      // Every acknowledged event is visible to another process's pool at once.
      for (const item of [...items, ...more]) assert.ok(await reader.getEvent('webhooks', item.event.id), item.event.id)
    }))
})

describe('PostgreSQL store: batched writes', () => {
  it('keeps per-write outcomes when one batch holds repeats, multi-event requests and several runs', () =>
    withStores(1, async ([store]) => {
      assert.ok(store)
      const twoRuns: IngestItem = {
        source: 'webhooks',
        event: { id: 'two-runs', type: 't', payload: [1, 'two'], headers: { h: 'v' } },
        runs: [{ action: 'b', orderingKey: null, maxAttempts: 2 }, { action: 'a', orderingKey: 'k', maxAttempts: 3 }],
      }
      const request = [event('req-1', null), event('req-2', 'k2'), event('req-1', null)]
      const [first, again, multi, third] = await Promise.all([
        store.ingest([twoRuns]),
        store.ingest([twoRuns]),
        store.ingest(request),
        store.ingest([twoRuns]),
      ])
      assert.equal(first![0]!.duplicate, false)
      assert.equal(first![0]!.runIds.length, 2)
      assert.ok(first![0]!.runIds[0]! < first![0]!.runIds[1]!)
      assert.deepEqual([again![0]!.duplicate, third![0]!.duplicate], [true, true])
      assert.equal(again![0]!.seq, first![0]!.seq)
      const runs = await store.runsForEvent(first![0]!.seq)
      assert.deepEqual(runs.map((r) => [r.id, r.action, r.maxAttempts, r.orderingKey]), [
        [first![0]!.runIds[0], 'b', 2, null],
        [first![0]!.runIds[1], 'a', 3, 'k'],
      ])
      const stored = (await store.getEvent('webhooks', 'two-runs'))!
      assert.deepEqual([stored.payload, stored.headers, stored.duplicateDeliveries], [[1, 'two'], { h: 'v' }, 2])
      assert.deepEqual(multi!.map((o) => o.duplicate), [false, false, true])
      assert.equal(multi![2]!.seq, multi![0]!.seq)
      assert.ok(multi![0]!.seq < multi![1]!.seq, 'events of one request keep their order')
    }))

  it('lets only the first of two finishes of one run in a batch count', () =>
    withStores(1, async ([store]) => {
      assert.ok(store)
      await store.ingest([event('f1', null), event('f2', null)])
      const [c1, c2] = await store.claimRuns({ workerId: 'w', action: 'act', limit: 2, leaseMs: 60_000 })
      const results = await Promise.all([
        store.finishAttempt({ runId: c1!.run.id, workerId: 'w', attempt: 1, end: { outcome: 'dead', error: new Error('first') } }),
        store.finishAttempt({ runId: c1!.run.id, workerId: 'w', attempt: 1, end: { outcome: 'succeeded' } }),
        store.finishAttempt({ runId: c2!.run.id, workerId: 'w', attempt: 1, end: { outcome: 'succeeded' } }),
      ])
      assert.deepEqual(results, [true, false, true])
      assert.equal((await store.getRun(c1!.run.id))!.state, 'dead')
      assert.deepEqual((await store.listAttempts(c1!.run.id)).map((a) => [a.outcome, a.errorMessage]), [['dead', 'first']])
      assert.equal((await store.getRun(c2!.run.id))!.state, 'succeeded')
    }))
})

/** Transaction ids handed out so far: every writing transaction takes one, and so does this call. */
async function transactionIds(): Promise<number> {
  const { rows } = await admin.query(`SELECT pg_current_xact_id()::text::bigint AS n`)
  return Number(rows[0].n)
}

describe('PostgreSQL store: claims and the next due time with many runs waiting', () => {
  /** The plan of `sql` in a fresh schema; the tables are nearly empty, where a scan is cheapest, so scans are forbidden to see which indexes can serve. */
  const planOf = (sql: (s: string) => string, params: unknown[]) =>
    withStores(1, async (_, schema) => {
      const client = await admin.connect()
      try {
        await client.query('BEGIN')
        await client.query('SET LOCAL enable_seqscan = off')
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql(`"${schema}"`)}`, params)
        return rows.map((row) => row['QUERY PLAN']).join('\n')
      } finally {
        await client.query('ROLLBACK')
        client.release()
      }
    })

  for (const [name, sql, params] of [
    ['the next due time reads one entry of runs_due and of runs_leases per action', nextRunAtSql, [['a', 'b']]],
    ['a claim reads runs_leases and runs_due in order, never every waiting run', dueRuns, ['a', 0, 16]],
  ] as const) {
    it(name, async () => {
      const plan = await planOf(sql, [...params])
      assert.match(plan, /Index (Only )?Scan using runs_due/, plan)
      assert.match(plan, /Index (Only )?Scan using runs_leases/, plan)
      assert.doesNotMatch(plan, /Sort|Seq Scan on runs|runs_unfinished/, plan)
    })
  }
})

describe('PostgreSQL store: claiming from two processes', () => {
  /**
   * Two stores with their own pools play two processes. Each runs `workers` claim loops; a run's
   * "execution" holds its ordering key in a shared map for a few ms, so two runs of one key at
   * once are caught. Some attempts fail and retry at once, which keeps the key blocked meanwhile.
   */
  async function drain(stores: Store[], total: number, options: { workersPerStore: number; failEvery: number }) {
    const runningKeys = new Set<string>()
    const startedPerKey = new Map<string, number[]>()
    const succeeded = new Map<number, number>()
    const violations: string[] = []
    let attemptsStarted = 0
    const deadline = Date.now() + 20_000
    const loops = stores.flatMap((store, s) =>
      Array.from({ length: options.workersPerStore }, async (_, w) => {
        const workerId = `store${s}-w${w}`
        while (succeeded.size < total && Date.now() < deadline) {
          const claimed = await store.claimRuns({ workerId, action: 'act', limit: 3, leaseMs: 30_000 })
          if (claimed.length === 0) {
            await sleep(1)
            continue
          }
          await Promise.all(claimed.map(async ({ run }) => {
            attemptsStarted++
            const key = run.orderingKey
            if (key !== null) {
              if (runningKeys.has(key)) violations.push(`key ${key}: run ${run.id} started while another ran`)
              runningKeys.add(key)
              startedPerKey.set(key, [...(startedPerKey.get(key) ?? []), run.id])
            }
            await sleep(Math.random() * 3)
            if (key !== null) runningKeys.delete(key)
            const fail = options.failEvery > 0 && attemptsStarted % options.failEvery === 0 && run.attempts < run.maxAttempts
            const ok = await store.finishAttempt({
              runId: run.id,
              workerId,
              attempt: run.attempts,
              end: fail ? { outcome: 'failed', error: new Error('flaky'), retryAt: Date.now() } : { outcome: 'succeeded' },
            })
            assert.ok(ok, `run ${run.id} was taken from ${workerId} while it held the lease`)
            if (!fail) {
              if (succeeded.has(run.id)) violations.push(`run ${run.id} succeeded twice`)
              succeeded.set(run.id, (succeeded.get(run.id) ?? 0) + 1)
            }
          }))
        }
      }),
    )
    await Promise.all(loops)
    assert.deepEqual(violations, [])
    assert.equal(succeeded.size, total, 'every run ran to success')
    return { startedPerKey }
  }

  it('never double-claims and never runs two runs of one ordering key at once, in event order', () =>
    withStores(2, async (stores) => {
      for (let round = 0; round < 4; round++) {
        // Events ingested one request after another (alternating processes): their order is known.
        const ids: number[] = []
        for (let i = 0; i < 60; i++) {
          const key = i % 5 === 0 ? null : `order-${round}-${i % 6}`
          const [outcome] = await stores[i % 2]!.ingest([event(`r${round}-e${i}`, key)])
          ids.push(outcome!.runIds[0]!)
        }
        const { startedPerKey } = await drain(stores, ids.length, { workersPerStore: 3, failEvery: 7 })
        for (const [key, started] of startedPerKey) {
          const distinct = started.filter((id, i) => id !== started[i - 1])
          assert.deepEqual(distinct, [...distinct].sort((a, b) => a - b), `key ${key} ran out of order: ${started}`)
          assert.equal(new Set(distinct).size, distinct.length, `key ${key} went back to a run it had finished`)
        }
      }
      const counts = await stores[0]!.countRunsByState()
      assert.deepEqual(counts, { pending: 0, running: 0, succeeded: 240, retrying: 0, dead: 0, paused: 0, skipped: 0 })
    }))

  it('keeps one run per key at a time while both processes ingest the same keys concurrently', () =>
    withStores(2, async (stores, schema) => {
      let total = 0
      const ingesting = stores.map(async (store, s) => {
        for (let batch = 0; batch < 15; batch++) {
          const items = Array.from({ length: 8 }, (_, i) => event(`c${s}-${batch}-${i}`, `hot-${i % 3}`))
          await Promise.all(items.map((item) => store.ingest([item])))
          total += items.length
          await sleep(2)
        }
      })
      // Start draining while the ingests are still committing in both processes.
      const expected = 2 * 15 * 8
      await Promise.all([...ingesting, drain(stores, expected, { workersPerStore: 3, failEvery: 0 })])
      assert.equal(total, expected)
      const { rows } = await admin.query(`SELECT count(*)::int AS runs, count(DISTINCT a.run_id)::int AS claimed
        FROM "${schema}".runs r LEFT JOIN "${schema}".attempts a ON a.run_id = r.id`)
      assert.deepEqual(rows[0], { runs: expected, claimed: expected }, 'one attempt per run: none was claimed twice')
    }))

  it('lets a later run that is already running block an earlier one that committed after it', () =>
    withStores(2, async ([first, second], schema) => {
      assert.ok(first && second)
      // Another process's ingest took the lower run id but has not committed yet.
      const slow = await admin.connect()
      try {
        await slow.query('BEGIN')
        const { rows } = await slow.query(`INSERT INTO "${schema}".events (source, id, type, payload, headers, received_at)
          VALUES ('webhooks', 'slow', 'order.updated', '{}', '{}', 0) RETURNING seq`)
        const early = await slow.query(`INSERT INTO "${schema}".runs (event_seq, action, state, max_attempts, ordering_key, run_at, created_at, updated_at)
          VALUES ($1, 'act', 'pending', 5, 'k', 0, 0, 0) RETURNING id`, [rows[0].seq])
        const [late] = await first.ingest([event('fast', 'k')])
        assert.ok(Number(early.rows[0].id) < late!.runIds[0]!)
        const [running] = await first.claimRuns({ workerId: 'w1', action: 'act', limit: 5, leaseMs: 60_000 })
        assert.equal(running!.event.id, 'fast')
        await slow.query('COMMIT')
        assert.deepEqual(await second.claimRuns({ workerId: 'w2', action: 'act', limit: 5, leaseMs: 60_000 }), [],
          'the key has a run running, whatever its id')
        await first.finishAttempt({ runId: running!.run.id, workerId: 'w1', attempt: 1, end: { outcome: 'succeeded' } })
        const [next] = await second.claimRuns({ workerId: 'w2', action: 'act', limit: 5, leaseMs: 60_000 })
        assert.equal(next!.event.id, 'slow')
      } finally {
        slow.release()
      }
    }))

  it('skips a key another claimer is deciding on instead of waiting for it', () =>
    withStores(1, async ([store], schema) => {
      assert.ok(store)
      await store.ingest([event('held-1', 'held'), event('free-1', null), event('other-1', 'other')])
      const claimer = await admin.connect()
      try {
        await claimer.query('BEGIN')
        await claimer.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${schema}\nact\nheld`])
        const claimed = await store.claimRuns({ workerId: 'w', action: 'act', limit: 5, leaseMs: 60_000 })
        assert.deepEqual(claimed.map((c) => c.event.id), ['free-1', 'other-1'])
        await claimer.query('COMMIT')
        const later = await store.claimRuns({ workerId: 'w', action: 'act', limit: 5, leaseMs: 60_000 })
        assert.deepEqual(later.map((c) => c.event.id), ['held-1'])
      } finally {
        claimer.release()
      }
    }))

  it('hands a crashed process\'s runs to another after the lease, key order intact', () =>
    withStores(2, async ([crashed, survivor]) => {
      assert.ok(crashed && survivor)
      await crashed.ingest([event('l1', 'k'), event('l2', 'k'), event('l3', null)])
      const taken = await crashed.claimRuns({ workerId: 'crashed', action: 'act', limit: 10, leaseMs: 400 })
      assert.deepEqual(taken.map((c) => c.event.id), ['l1', 'l3'])
      assert.deepEqual(await survivor.claimRuns({ workerId: 'w', action: 'act', limit: 10, leaseMs: 60_000 }), [])
      await sleep(450)
      const reclaimed = await survivor.claimRuns({ workerId: 'w', action: 'act', limit: 10, leaseMs: 60_000 })
      assert.deepEqual(reclaimed.map((c) => [c.event.id, c.run.attempts]), [['l1', 2], ['l3', 2]])
      assert.equal(await crashed.finishAttempt({ runId: taken[0]!.run.id, workerId: 'crashed', attempt: 1, end: { outcome: 'succeeded' } }), false)
    }))
})

describe('PostgreSQL store: LISTEN/NOTIFY', () => {
  it('tells another process\'s listener when runs become claimable, not its own', () =>
    withStores(2, async ([listener, writer]) => {
      assert.ok(listener && writer)
      let heard = 0
      const stop = listener.onRunsAvailable(() => heard++)
      await listener.listening()
      await listener.ingest([event('own', null)])
      await sleep(100)
      assert.equal(heard, 0, 'its own ingest is not reported back')

      const started = Date.now()
      await writer.ingest([event('other', null)])
      while (heard === 0 && Date.now() - started < 5000) await sleep(2)
      assert.equal(heard, 1, 'another process\'s ingest is')

      const [claimed] = await writer.claimRuns({ workerId: 'w', action: 'act', limit: 1, leaseMs: 60_000 })
      await writer.finishAttempt({ runId: claimed!.run.id, workerId: 'w', attempt: 1, end: { outcome: 'dead', error: new Error('x') } })
      await writer.replayRun(claimed!.run.id)
      while (heard === 1 && Date.now() - started < 5000) await sleep(2)
      assert.equal(heard, 2, 'a replay is reported too')

      await writer.ingest([event('other', null)])
      await sleep(100)
      assert.equal(heard, 2, 'a duplicate delivery creates no run and wakes nobody')
      stop()
      await writer.ingest([event('after-stop', null)])
      await sleep(100)
      assert.equal(heard, 2)
    }))
})

describe('PostgreSQL store: connections that die', () => {
  it('survives a connection terminated while checked out between two queries, and works on after it', async () => {
    // pg then emits 'error' on the client, which pg-pool no longer listens to: an uncaught
    // exception that once failed CI when /healthz's test locked the store out mid-claim.
    const pool = openPool({ connectionString: server.url, max: 1 })
    try {
      const client = await pool.connect()
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
      const ended = new Promise((resolve) => client.once('end', resolve))
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid])
      await ended
      await assert.rejects(client.query('SELECT 1'), /not queryable|terminated/)
      client.release(new Error('terminated'))
      assert.equal((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1)
    } finally {
      await pool.end()
    }
  })
})
