import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, describe, it } from 'node:test'
import { describeStoreContract } from '../contract.ts'
import { describeRunLogsContract } from '../contract-run-logs.ts'
import { describeRetentionContract } from '../contract-retention.ts'
import { BURY_SQL, CLAIM_SQL, NEXT_RUN_AT_SQL, RECLAIM_SQL } from './claim.ts'
import { GroupCommit } from './group-commit.ts'
import { openSqliteStore } from './index.ts'
import { openThreadedSqliteStore } from './thread.ts'

const dir = mkdtempSync(join(tmpdir(), 'storehook-sqlite-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const freshPath = () => join(dir, `store-${++n}.db`)

describeStoreContract('sqlite', async () => {
  const store = openSqliteStore({ path: freshPath() })
  return { store, cleanup: () => store.close() }
})

const threadedStore = async () => {
  const store = await openThreadedSqliteStore({ path: freshPath() })
  return { store, cleanup: () => store.close() }
}
describeStoreContract('sqlite on its own thread', threadedStore)
describeRunLogsContract('sqlite on its own thread', threadedStore)
describeRetentionContract('sqlite on its own thread', threadedStore)

describe('SQLite store on its own thread', () => {
  it('reports an open failure to the opener', async () => {
    const path = freshPath()
    await openSqliteStore({ path }).close()
    const db = new DatabaseSync(path)
    db.exec('PRAGMA user_version = 999')
    db.close()
    await assert.rejects(openThreadedSqliteStore({ path }), /newer storehook/)
  })

  it("records an attempt's error whose cause cannot cross threads, keeping message and stack", async () => {
    const store = await openThreadedSqliteStore({ path: freshPath() })
    try {
      await store.ingest([{ source: 's', event: { id: 'e1', type: 't', payload: {}, headers: {} }, runs: [{ action: 'a', orderingKey: null, maxAttempts: 1 }] }])
      const [claimed] = await store.claimRuns({ workerId: 'w', action: 'a', limit: 1, leaseMs: 60_000 })
      const error = new Error('ERP refused', { cause: { retry: () => {} } })
      assert.ok(await store.finishAttempt({ runId: claimed!.run.id, workerId: 'w', attempt: 1, end: { outcome: 'dead', error } }))
      const [attempt] = await store.listAttempts(claimed!.run.id)
      assert.equal(attempt!.errorMessage, 'ERP refused')
      assert.equal(attempt!.errorStack, error.stack)
    } finally {
      await store.close()
    }
  })

  it('fails only the call whose arguments cannot cross threads, not its batch or the process', async () => {
    const store = await openThreadedSqliteStore({ path: freshPath() })
    try {
      const event = (id: string, payload: unknown) => [{ source: 's', event: { id, type: 't', payload, headers: {} }, runs: [] }]
      // Sent in the same turn, so they share one batch to the thread.
      const [bad, good] = await Promise.allSettled([store.ingest(event('bad', { f: () => {} })), store.ingest(event('good', {}))])
      assert.equal(bad.status, 'rejected')
      assert.match(String((bad as PromiseRejectedResult).reason), /cannot take this ingest call/)
      assert.equal(good.status, 'fulfilled')
      assert.ok(await store.getEvent('s', 'good'))
    } finally {
      await store.close()
    }
  })

  it('rejects calls after close instead of hanging', async () => {
    const store = await openThreadedSqliteStore({ path: freshPath() })
    await store.close()
    await assert.rejects(store.getRun(1), /closed/)
  })
})

describe('SQLite store', () => {
  it('starts runs at ingest up to the slots given, skipping busy ordering keys', async () => {
    const store = openSqliteStore({ path: freshPath() })
    const ev = (id: string) => ({ id, type: 't', payload: { id }, headers: {} })
    await store.ingest([{ source: 's', event: ev('e0'), runs: [{ action: 'a', orderingKey: 'k', maxAttempts: 3 }] }])
    const outcomes = await store.ingest(
      ['e1', 'e2', 'e3', 'e4'].map((id, i) => ({ source: 's', event: ev(id), runs: [{ action: 'a', orderingKey: i === 0 ? 'k' : null, maxAttempts: 3 }] })),
      { workerId: 'w', slots: { a: { limit: 2, leaseMs: 1000 } } },
    )
    assert.deepEqual(outcomes.map((o) => (o.claimed ?? []).map((c) => c.event.id)), [[], ['e2'], ['e3'], []])
    assert.deepEqual((await store.claimRuns({ workerId: 'x', action: 'a', limit: 10, leaseMs: 1000 })).map((c) => c.event.id), ['e0', 'e4'])
    await store.close()
  })


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

describe('SQLite claims and the next due time', () => {
  it('read what they take from runs_due and runs_leases, not every waiting run nor the action\'s history', async () => {
    const path = freshPath()
    await openSqliteStore({ path }).close()
    const db = new DatabaseSync(path)
    try {
      const plan = (sql: string, params: Record<string, string | number>) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((row) => row.detail).join('; ')
      const claim = { action: 'a', now: 0, lease: 0, worker: 'w', limit: 1 }
      const claimPlan = plan(CLAIM_SQL, claim)
      // A range of due runs in due order: no sort, so LIMIT stops the scan.
      assert.match(claimPlan, /SEARCH r USING (COVERING )?INDEX runs_due \(action=\? AND run_at<\?\)/, claimPlan)
      assert.doesNotMatch(claimPlan, /TEMP B-TREE|runs_action/, claimPlan)
      for (const [sql, params] of [[RECLAIM_SQL, claim], [BURY_SQL, { action: 'a', now: 0 }]] as const) {
        const leasePlan = plan(sql, params)
        assert.match(leasePlan, /SEARCH r(uns)? USING INDEX runs_leases \(action=\? AND lease_expires_at<\?\)/, leasePlan)
        assert.doesNotMatch(leasePlan, /runs_action/, leasePlan)
      }
      const nextPlan = plan(NEXT_RUN_AT_SQL, { actions: '["a","b"]' })
      assert.match(nextPlan, /SEARCH runs USING (COVERING )?INDEX runs_due \(action=\?\)/, nextPlan)
      assert.match(nextPlan, /SEARCH runs USING (COVERING )?INDEX runs_leases \(action=\?\)/, nextPlan)
    } finally {
      db.close()
    }
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

  it('fsyncs a commit only when it holds a durable write (synchronous FULL), else commits NORMAL', async () => {
    const db = new DatabaseSync(':memory:')
    db.exec('CREATE TABLE t (v INTEGER)')
    const pragmas: string[] = []
    const originalExec = db.exec.bind(db)
    db.exec = (sql: string) => {
      if (sql.startsWith('PRAGMA synchronous')) pragmas.push(sql)
      return originalExec(sql)
    }
    const commit = new GroupCommit(db, 0, 'full')
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    await commit.write(() => insert.run(1), { durable: false })
    await Promise.all([commit.write(() => insert.run(2), { durable: false }), commit.write(() => insert.run(3))])
    await commit.write(() => insert.run(4), { durable: false })
    assert.deepEqual(pragmas, ['PRAGMA synchronous = NORMAL', 'PRAGMA synchronous = FULL', 'PRAGMA synchronous = NORMAL'])
    pragmas.length = 0
    const relaxed = new GroupCommit(db, 0, 'normal')
    await relaxed.write(() => insert.run(5))
    assert.deepEqual(pragmas, ['PRAGMA synchronous = NORMAL'])
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
