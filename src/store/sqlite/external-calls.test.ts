import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, describe, it } from 'node:test'
import type { NewExternalCall } from '../store.ts'
import { openSqliteStore } from './index.ts'
import { migrations } from './migrations.ts'
import { openThreadedSqliteStore } from './thread.ts'

const dir = mkdtempSync(join(tmpdir(), 'storehook-external-calls-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const freshPath = () => join(dir, `store-${++n}.db`)

const call = (over: Partial<NewExternalCall> = {}): NewExternalCall => ({
  resource: 'price',
  kind: 'commerce-layer/price',
  startedAt: 1_000,
  durationMs: 2.5,
  inputDigest: 'aa',
  status: 200,
  outcome: 'answered',
  fallback: 'none',
  answer: '{"success":true,"data":{"sku_code":"S","unit_amount_cents":1}}',
  error: null,
  ...over,
})

describe('SQLite external calls', () => {
  it('records batches and lists them newest first, parsed, with every filter', async () => {
    const store = await openThreadedSqliteStore({ path: freshPath() })
    after(() => store.close())
    await store.recordExternalCalls!([
      call(),
      call({ resource: 'tax', kind: 'commerce-layer/tax', startedAt: 2_000, inputDigest: 'bb' }),
      call({ startedAt: 3_000, status: 422, outcome: 'timeout', fallback: 'error', error: 'still running', answer: 'not json' }),
    ])
    const all = await store.listExternalCalls!({})
    assert.deepEqual(all.map((c) => c.startedAt), [3_000, 2_000, 1_000])
    assert.deepEqual(all[2]!.answer, { success: true, data: { sku_code: 'S', unit_amount_cents: 1 } })
    assert.equal(all[0]!.answer, 'not json')
    assert.equal(all[0]!.error, 'still running')
    assert.equal(all[2]!.durationMs, 2.5)
    const ids = (filter: object) => store.listExternalCalls!(filter).then((calls) => calls.map((c) => c.startedAt))
    assert.deepEqual(await ids({ resource: 'price' }), [3_000, 1_000])
    assert.deepEqual(await ids({ outcome: 'timeout' }), [3_000])
    assert.deepEqual(await ids({ fallback: 'none', inputDigest: 'aa' }), [1_000])
    assert.deepEqual(await ids({ since: 2_000, until: 3_000 }), [2_000])
    assert.deepEqual(await ids({ beforeId: all[0]!.id, limit: 1 }), [2_000])
    await store.recordExternalCalls!([])
  })

  it('migrates a version-1 database, keeping what it holds', async () => {
    const path = freshPath()
    const db = new DatabaseSync(path)
    db.exec(migrations[0]!.sql)
    db.exec('PRAGMA user_version = 1')
    db.exec(`INSERT INTO events (source, id, type, payload, headers, received_at) VALUES ('s', 'e1', 't', '{}', '{}', 1)`)
    db.close()
    const store = openSqliteStore({ path })
    assert.equal((await store.listEvents({})).length, 1)
    await store.recordExternalCalls!([call()])
    assert.equal((await store.listExternalCalls!({})).length, 1)
    await store.close()
    const check = new DatabaseSync(path)
    assert.equal((check.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, migrations.at(-1)!.version)
    check.close()
  })
})
