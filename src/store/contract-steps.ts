/**
 * @module
 * The part of the Store contract suite for durable steps, paused runs and the stale-update
 * guard; `describeStoreContract` (contract.ts) runs it for every implementation.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { IngestItem, Store } from './store.ts'

let counter = 0
const item = (orderingKey: string | null = null, maxAttempts = 3): IngestItem => ({
  source: 'webhooks',
  event: { id: `step_evt_${++counter}_${Math.random().toString(36).slice(2, 8)}`, type: 'order.saved', payload: {}, headers: {} },
  runs: [{ action: 'a', orderingKey, maxAttempts }],
})
const claim = (store: Store, workerId = 'w') => store.claimRuns({ workerId, action: 'a', limit: 10, leaseMs: 60_000 })

export function describeStepsContract(withStore: (body: (store: Store) => Promise<void>) => Promise<void>): void {
  it('keeps a step\'s first stored result, durably, and lists a run\'s steps in the order they finished', () =>
    withStore(async (store) => {
      const [o] = await store.ingest([item()])
      const runId = o!.runIds[0]!
      assert.deepEqual(await store.listSteps(runId), [])
      const first = await store.saveStep({ runId, name: 'fetch order', attempt: 1, result: '{"id":42,"lines":[1,2]}', finishedAt: 1000 })
      assert.deepEqual(first, { runId, name: 'fetch order', attempt: 1, result: { id: 42, lines: [1, 2] }, finishedAt: 1000 })
      await store.saveStep({ runId, name: 'send to ERP', attempt: 2, result: 'null', finishedAt: 2000 })
      // A second attempt racing the first (its lease lost) gets the stored result back.
      const again = await store.saveStep({ runId, name: 'fetch order', attempt: 2, result: '{"id":43}', finishedAt: 3000 })
      assert.deepEqual(again.result, { id: 42, lines: [1, 2] })
      assert.equal(again.attempt, 1)
      assert.deepEqual((await store.listSteps(runId)).map((s) => [s.name, s.attempt, s.result]), [
        ['fetch order', 1, { id: 42, lines: [1, 2] }],
        ['send to ERP', 2, null],
      ])
    }))

  it('pauses a run without spending its attempt, holds its key, and resumes paused runs oldest first', () =>
    withStore(async (store) => {
      const outcomes = await store.ingest([item('k1', 1), item('k2', 1), item('k1', 1)])
      const [first, second, behind] = outcomes.map((o) => o.runIds[0]!)
      const claimed = await claim(store)
      assert.deepEqual(claimed.map((c) => c.run.id), [first, second], 'the third waits behind k1')
      for (const c of claimed) {
        const error = new Error('connection "erp" is paused')
        await store.finishAttempt({ runId: c.run.id, workerId: 'w', attempt: 1, end: { outcome: 'paused', connection: 'erp', error } })
      }
      const paused = (await store.getRun(first!))!
      assert.equal(paused.state, 'paused')
      assert.equal(paused.pausedOn, 'erp')
      assert.equal(paused.maxAttempts, 2, 'the paused attempt was given back')
      assert.equal(paused.lastError, 'connection "erp" is paused')
      assert.deepEqual((await store.listAttempts(first!)).map((a) => a.outcome), ['paused'])
      assert.deepEqual((await store.listRuns({ state: 'paused' })).map((r) => r.id).sort(), [first, second].sort())
      assert.equal((await store.listRuns({ state: 'retrying' })).length, 0)
      assert.equal((await store.countRunsByState()).paused, 2)
      assert.deepEqual(await claim(store), [], 'paused runs are not claimable, and k1 stays blocked')

      assert.equal(await store.resumePausedRuns('other'), 0)
      assert.equal(await store.resumePausedRuns('erp', 1), 1, 'a probe resumes one')
      const [probe] = await claim(store)
      assert.equal(probe!.run.id, first, 'the oldest first')
      assert.equal(probe!.run.attempts, 2)
      await store.finishAttempt({ runId: first!, workerId: 'w', attempt: 2, end: { outcome: 'succeeded' } })
      assert.equal(await store.resumePausedRuns('erp'), 1)
      assert.deepEqual((await claim(store)).map((c) => c.run.id), [second, behind])
      assert.equal((await store.getRun(second!))!.pausedOn, null)
    }))

  it('finishes a skipped run for good, with its reason, and remembers the version a success delivered', () =>
    withStore(async (store) => {
      const [a, b] = await store.ingest([item('sku-1'), item('sku-2')])
      await claim(store)
      assert.equal(await store.latestVersion('a', 'sku-1'), null)
      const version = { action: 'a', orderingKey: 'sku-1', version: '2026-11-22T10:00:00Z' }
      await store.finishAttempt({ runId: a!.runIds[0]!, workerId: 'w', attempt: 1, end: { outcome: 'succeeded', version } })
      assert.equal(await store.latestVersion('a', 'sku-1'), '2026-11-22T10:00:00Z')
      assert.equal(await store.latestVersion('other', 'sku-1'), null)
      const reason = 'event version 2026-11-21T00:00:00Z is older than 2026-11-22T10:00:00Z, already delivered'
      await store.finishAttempt({ runId: b!.runIds[0]!, workerId: 'w', attempt: 1, end: { outcome: 'skipped', reason } })
      const skipped = (await store.getRun(b!.runIds[0]!))!
      assert.equal(skipped.state, 'skipped')
      assert.equal(skipped.lastError, reason)
      assert.deepEqual((await store.listAttempts(skipped.id)).map((x) => [x.outcome, x.errorMessage]), [['skipped', reason]])
      assert.equal((await store.countRunsByState()).skipped, 1)
      assert.equal(await store.nextRunAt(['a']), null, 'nothing left to run')
    }))
}
