import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, describe, it } from 'node:test'
import { describeStoreContract } from '../contract.ts'
import { GroupCommit } from './group-commit.ts'
import { openSqliteStore } from './index.ts'

const dir = mkdtempSync(join(tmpdir(), 'storehook-sqlite-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const freshPath = () => join(dir, `store-${++n}.db`)

describeStoreContract('sqlite', async () => {
  const store = openSqliteStore({ path: freshPath() })
  return { store, cleanup: () => store.close() }
})

describe('SQLite store', () => {
  it('keeps what it acknowledged across close and reopen, and migrates once', async () => {
    const path = freshPath()
    const first = openSqliteStore({ path })
    const [outcome] = await first.ingest([
      { source: 's', event: { id: 'e1', type: 't', payload: { a: 1 }, headers: {} }, runs: [{ action: 'x', orderingKey: null, maxAttempts: 3 }] },
    ])
    await first.close()
    const second = openSqliteStore({ path })
    assert.deepEqual((await second.getEvent('s', 'e1'))!.payload, { a: 1 })
    assert.equal((await second.runsForEvent(outcome!.seq)).length, 1)
    await second.close()
  })

  it('runs in WAL mode (so readers never block the writer)', async () => {
    const path = freshPath()
    const store = openSqliteStore({ path })
    await store.close()
    const db = new DatabaseSync(path)
    assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal')
    db.close()
  })

  it('refuses a database written by a newer storehook', async () => {
    const path = freshPath()
    await openSqliteStore({ path }).close()
    const db = new DatabaseSync(path)
    db.exec('PRAGMA user_version = 999')
    db.close()
    assert.throws(() => openSqliteStore({ path }), /newer storehook/)
  })
})

describe('GroupCommit', () => {
  it('commits writes arriving together in one transaction, and a failing write alone rolls back', async () => {
    const db = new DatabaseSync(':memory:')
    db.exec('CREATE TABLE t (v INTEGER UNIQUE)')
    let commits = 0
    const commit = new GroupCommit(db, 2)
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const originalExec = db.exec.bind(db)
    db.exec = (sql: string) => {
      if (sql === 'COMMIT') commits++
      return originalExec(sql)
    }
    const results = await Promise.allSettled([1, 2, 2, 3].map((v) => commit.write(() => insert.run(v).changes)))
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    assert.equal(commits, 1)
    assert.deepEqual((db.prepare('SELECT v FROM t ORDER BY v').all() as { v: number }[]).map((r) => r.v), [1, 2, 3])
  })

  it('rejects every write of a batch whose commit fails, so none is acknowledged', async () => {
    const db = new DatabaseSync(':memory:')
    db.exec('CREATE TABLE t (v INTEGER)')
    const commit = new GroupCommit(db, 0)
    const originalExec = db.exec.bind(db)
    db.exec = (sql: string) => {
      if (sql === 'COMMIT') throw new Error('disk I/O error')
      return originalExec(sql)
    }
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const results = await Promise.allSettled([1, 2].map((v) => commit.write(() => insert.run(v))))
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'])
    db.exec = originalExec
    assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 0)
  })
})
