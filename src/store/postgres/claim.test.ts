/**
 * The two ways a claim runs on a real PostgreSQL (see claim.ts): runs without an ordering key in
 * one autocommitted statement, keyed runs in a transaction holding their keys' locks; an action
 * whose claim meets keyed runs moves to the transaction, and back once it meets none.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { usePostgres } from '../../../test/postgres-cluster.ts'
import type { IngestItem } from '../store.ts'
import { makeClaim } from './claim.ts'
import { openPostgresStore } from './index.ts'

const server = await usePostgres()
const pool = new pg.Pool({ connectionString: server.url, max: 4 })
pool.on('error', () => {})
const schema = `claim_${process.pid}_${randomUUID().slice(0, 6)}`
const store = await openPostgresStore({ url: server.url, schema })

/** What makeClaim sees as its pool, writing down the name (or text) of every statement sent. */
function spiedPool(sent: string[]): pg.Pool {
  const note = (query: string | { name?: string; text: string }) => sent.push(typeof query === 'string' ? query : query.name ?? query.text)
  return {
    query: (query: any, values?: unknown[]) => (note(query), pool.query(query, values)),
    async connect() {
      const client = await pool.connect()
      const send = client.query.bind(client) as (query: unknown, values?: unknown) => Promise<unknown>
      return Object.assign(Object.create(client), {
        query: (query: any, values?: unknown) => (note(query), send(query, values)),
        release: (error?: Error) => client.release(error),
      })
    },
  } as unknown as pg.Pool
}

const event = (id: string, action: string, key: string | null): IngestItem => ({
  source: 'webhooks',
  event: { id, type: 'order.updated', payload: { id }, headers: {} },
  runs: [{ action, orderingKey: key, maxAttempts: 3 }],
})
const named = (sent: string[]) => sent.map((name) => name.replace(/^sh_(\w+?)_claim_.*$/, '$1'))

describe('PostgreSQL claims', () => {
  after(async () => {
    await store.close()
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await pool.end()
  })

  it('claims runs without an ordering key in one statement, no transaction around it', async () => {
    await store.ingest([event('u1', 'unkeyed', null), event('u2', 'unkeyed', null), event('u3', 'unkeyed', null)])
    const sent: string[] = []
    const claim = makeClaim(spiedPool(sent), `"${schema}"`, schema)
    const claimed = await claim({ workerId: 'w', action: 'unkeyed', limit: 2, leaseMs: 30_000 })
    assert.deepEqual(claimed.map((c) => [c.event.id, c.run.state, c.run.attempts]), [['u1', 'running', 1], ['u2', 'running', 1]])
    assert.deepEqual(named(sent), ['claimunkeyed'])
    const attempts = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".attempts a JOIN "${schema}".runs r ON r.id = a.run_id WHERE r.action = 'unkeyed' AND a.ended_at IS NULL`)
    assert.equal(attempts.rows[0].n, 2, 'each claimed run has its attempt started')
    assert.deepEqual((await claim({ workerId: 'w', action: 'unkeyed', limit: 5, leaseMs: 30_000 })).map((c) => c.event.id), ['u3'])
    assert.deepEqual(await claim({ workerId: 'w', action: 'unkeyed', limit: 5, leaseMs: 30_000 }), [])
  })

  it('claims keyed runs in a transaction holding their keys, once met, until a claim meets none', async () => {
    await store.ingest([event('k1', 'keyed', 'order-1'), event('k2', 'keyed', 'order-1'), event('k3', 'keyed', null), event('k4', 'keyed', 'order-2')])
    const sent: string[] = []
    const claim = makeClaim(spiedPool(sent), `"${schema}"`, schema)
    const first = await claim({ workerId: 'w', action: 'keyed', limit: 10, leaseMs: 30_000 })
    assert.deepEqual(first.map((c) => c.event.id), ['k1', 'k3', 'k4'], 'one run per key, the unkeyed one, in run order')
    assert.deepEqual(named(sent), ['claimunkeyed', 'BEGIN', 'bury', 'candidates', 'lockkeys', 'start', 'COMMIT'])

    sent.length = 0
    for (const { run } of first) await store.finishAttempt({ runId: run.id, workerId: 'w', attempt: run.attempts, end: { outcome: 'succeeded' } })
    assert.deepEqual((await claim({ workerId: 'w', action: 'keyed', limit: 10, leaseMs: 30_000 })).map((c) => c.event.id), ['k2'])
    assert.deepEqual(named(sent), ['BEGIN', 'bury', 'candidates', 'lockkeys', 'start', 'COMMIT'], 'straight to the transaction')

    sent.length = 0
    await store.ingest([event('k5', 'keyed', null)])
    await claim({ workerId: 'w', action: 'keyed', limit: 10, leaseMs: 30_000 })
    sent.length = 0
    assert.deepEqual(await claim({ workerId: 'w', action: 'keyed', limit: 10, leaseMs: 30_000 }), [])
    assert.deepEqual(named(sent), ['claimunkeyed'], 'back to one statement after a claim that met no key')
  })

  it('buries a run whose lease expired on its last attempt in the same statement, and reclaims one with attempts left', async () => {
    await store.ingest([event('l1', 'leased', null), event('l2', 'leased', null)])
    const claim = makeClaim(pool, `"${schema}"`, schema)
    const [last, again] = await claim({ workerId: 'gone', action: 'leased', limit: 2, leaseMs: 30_000 })
    // l1 was on its last attempt, l2 has attempts left; both leases run out.
    await pool.query(`UPDATE "${schema}".runs SET attempts = max_attempts WHERE id = $1`, [last!.run.id])
    await pool.query(`UPDATE "${schema}".runs SET lease_expires_at = 0 WHERE action = 'leased'`)
    const reclaimed = await claim({ workerId: 'w', action: 'leased', limit: 2, leaseMs: 30_000 })
    assert.deepEqual(reclaimed.map((c) => [c.run.id, c.run.attempts, c.run.workerId]), [[again!.run.id, 2, 'w']])
    assert.equal((await store.getRun(last!.run.id))!.state, 'dead')
    const ended = await pool.query(`SELECT r.event_seq, a.number, a.outcome FROM "${schema}".attempts a JOIN "${schema}".runs r ON r.id = a.run_id WHERE r.action = 'leased' ORDER BY a.run_id, a.number`)
    assert.deepEqual(ended.rows.map((row) => [row.number, row.outcome]), [[1, 'interrupted'], [1, 'interrupted'], [2, null]])
  })
})
