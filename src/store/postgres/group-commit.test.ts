/**
 * Group commit on a real PostgreSQL: a batch of one-statement combined writes goes as that one
 * statement in autocommit (no BEGIN/COMMIT round trips), is durable when it resolves, falls back to
 * savepoints when the statement fails, and notifies only after its rows are visible.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { eventually } from '../../../test/helpers.ts'
import { usePostgres } from '../../../test/postgres-cluster.ts'
import { GroupCommit, type Combined, type Work } from './group-commit.ts'

const server = await usePostgres()
const pool = new pg.Pool({ connectionString: server.url, max: 4 })
pool.on('error', () => {})
const table = `gc_${process.pid}_${randomUUID().slice(0, 6)}`

/** The pool GroupCommit sees, writing down every statement its clients send. */
function spiedPool(sent: string[]): pg.Pool {
  return {
    async connect() {
      const client = await pool.connect()
      const query = client.query.bind(client) as (text: unknown, values?: unknown) => Promise<unknown>
      return Object.assign(Object.create(client), {
        query: (text: string | { text: string }, values?: unknown) => {
          sent.push(typeof text === 'string' ? text : text.text)
          return query(text, values)
        },
        release: (error?: Error) => client.release(error),
      })
    },
  } as unknown as pg.Pool
}

const insertAll: Combined<string, string> = {
  oneStatement: true,
  async run(client, ids, ctx) {
    const { rows } = await client.query<{ id: string }>(`INSERT INTO ${table} (id) SELECT unnest($1::text[]) RETURNING id`, [ids])
    ctx.notify()
    return rows.map((row) => row.id)
  },
}
const insertOne = (id: string): Work<string> => async (client) => {
  await client.query(`INSERT INTO ${table} (id) VALUES ($1)`, [id])
  return id
}
const write = (commits: GroupCommit, id: string) => commits.write(insertOne(id), { with: insertAll, input: id })
const channel = `gc_${randomUUID().slice(0, 8)}`

describe('PostgreSQL group commit', () => {
  before(() => pool.query(`CREATE TABLE ${table} (id text PRIMARY KEY CHECK (id <> 'bad'))`))
  // Inside the suite: the file's server stops in a top-level hook, and DATABASE_URL may be shared.
  after(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`)
    await pool.end()
  })

  it('commits a batch of one-statement writes as that statement alone, and notifies after it', async () => {
    const sent: string[] = []
    const commits = new GroupCommit(spiedPool(sent), { windowMs: 2, maxBatches: 1, notify: (client) => client.query(`NOTIFY ${channel}`) })
    const listener = new pg.Client({ connectionString: server.url })
    await listener.connect()
    const seenAtNotify: number[] = []
    listener.on('notification', () => {
      void pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE id LIKE 'a%'`).then(({ rows }) => seenAtNotify.push(rows[0].n))
    })
    await listener.query(`LISTEN ${channel}`)
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `a${i}`)
      assert.deepEqual(await Promise.all(ids.map((id) => write(commits, id))), ids)
      assert.deepEqual(sent.filter((text) => /^(BEGIN|COMMIT|SAVEPOINT)/.test(text)), [], 'no transaction statements')
      assert.equal(sent.filter((text) => text.startsWith('INSERT')).length, 1)
      assert.equal((await pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE id LIKE 'a%'`)).rows[0].n, 20)
      await eventually(() => seenAtNotify.length > 0, 5_000, 'the notification')
      assert.deepEqual(seenAtNotify, [20], 'notified once, with every row already visible')
    } finally {
      await listener.end()
    }
  })

  it('runs each write alone under a savepoint when the statement fails, so only the bad one fails', async () => {
    const sent: string[] = []
    const commits = new GroupCommit(spiedPool(sent), { windowMs: 2, maxBatches: 1, notify: async () => {} })
    const results = await Promise.allSettled(['b1', 'bad', 'b2'].map((id) => write(commits, id)))
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'])
    assert.ok(sent.includes('BEGIN') && sent.includes('COMMIT') && sent.some((text) => text.startsWith('SAVEPOINT')))
    const { rows } = await pool.query(`SELECT id FROM ${table} WHERE id LIKE 'b%' ORDER BY id`)
    assert.deepEqual(rows.map((row) => row.id), ['b1', 'b2'])
  })

  it('batches writes of the oldest one\'s kind together, and the others in a transaction of their own', async () => {
    const sent: string[] = []
    const commits = new GroupCommit(spiedPool(sent), { windowMs: 2, maxBatches: 1, notify: async () => {} })
    const results = await Promise.all([write(commits, 'c1'), commits.write(insertOne('c2')), write(commits, 'c3'), commits.write(insertOne('c4'))])
    assert.deepEqual(results, ['c1', 'c2', 'c3', 'c4'])
    // The two combined writes in one autocommitted statement; the two plain ones between BEGIN and COMMIT.
    assert.deepEqual(sent.map((text) => text.split(' ')[0]), ['INSERT', 'BEGIN', 'INSERT', 'INSERT', 'COMMIT'])
  })
})
