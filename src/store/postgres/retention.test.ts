/**
 * Retention with several processes on one PostgreSQL schema: a step that finds another process
 * applying retention does nothing and says so, and passes run at once by two stores end with
 * exactly what one pass would have removed.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { usePostgres } from '../../../test/postgres-cluster.ts'
import { eventWithRun, laterThan } from '../contract-fixtures.ts'
import { noneRemoved, RETENTION_COUNTS, type RetentionCursor, type RetentionPolicy } from '../retention.ts'
import type { Store } from '../store.ts'
import { openPostgresStore } from './index.ts'

const server = await usePostgres()
const admin = new pg.Pool({ connectionString: server.url, max: 2 })
admin.on('error', () => {})
after(() => admin.end())

const DAY_MS = 86_400_000
const policy: RetentionPolicy = { payloadsDays: 1, metadataDays: null, externalCallsDays: null }

async function pass(store: Store, now: number) {
  const removed = noneRemoved()
  let cursor: RetentionCursor | null | undefined
  let busy = false
  do {
    const batch = await store.applyRetention({ policy, now, batchSize: 3, ...(cursor ? { cursor } : {}) })
    for (const kind of RETENTION_COUNTS) removed[kind] += batch.removed[kind]
    busy ||= batch.busy === true
    cursor = batch.next
  } while (cursor)
  return { removed, busy }
}

describe('PostgreSQL retention with several processes', () => {
  it('answers busy while another process holds the retention lock, and shares the work without doing it twice', async () => {
    const schema = `ret_${randomUUID().slice(0, 8)}`
    const [one, two] = [await openPostgresStore({ url: server.url, schema }), await openPostgresStore({ url: server.url, schema })]
    try {
      const events = []
      for (let i = 0; i < 20; i++) events.push(await eventWithRun(one, 'a', { outcome: 'succeeded' }, { i }))
      const now = (await laterThan(Date.now())) + DAY_MS

      const holder = await admin.connect()
      try {
        await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`storehook:retention:${schema}`])
        const blocked = await one.applyRetention({ policy, now, batchSize: 100 })
        assert.deepEqual(blocked, { removed: noneRemoved(), next: null, busy: true })
      } finally {
        await holder.query('SELECT pg_advisory_unlock_all()')
        holder.release()
      }

      const [a, b] = await Promise.all([pass(one, now), pass(two, now)])
      assert.equal(a.removed.eventPayloads + b.removed.eventPayloads, 20, 'every payload removed once, by one process or the other')
      for (const event of events) assert.ok((await two.getEvent('shop', event.id))!.payloadRemovedAt)
      assert.deepEqual((await pass(two, now)).removed, noneRemoved())
    } finally {
      await Promise.all([one.close(), two.close()])
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    }
  })
})
