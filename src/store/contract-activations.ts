/**
 * @module
 * The part of the Store contract suite for App Builder activation records;
 * `describeStoreContract` (contract.ts) runs it for every implementation.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { ActivationRecord, Store } from './store.ts'

const activation = (over: Partial<ActivationRecord> = {}): ActivationRecord => ({
  activationId: `act_${Math.random().toString(36).slice(2, 12)}`,
  action: 'my-app/order',
  cause: 'event',
  start: 1_000,
  end: 1_250,
  status: 'success',
  result: { statusCode: 200, body: { ok: true } },
  logs: ['2026-01-01T00:00:00.000Z stdout: hello', '2026-01-01T00:00:00.001Z stderr: \u0000 and "quotes"'],
  leftWork: false,
  runId: null,
  attempt: null,
  ...over,
})

export function describeActivationsContract(withStore: (body: (store: Store) => Promise<void>) => Promise<void>): void {
  it('records activations and reads them back by id, by action and by run, newest first', () =>
    withStore(async (store) => {
      const first = activation({ start: 1_000, runId: 7, attempt: 1, leftWork: true, status: 'action developer error', result: { error: 'boom' } })
      const second = activation({ start: 2_000, action: 'my-app/web', cause: 'web' })
      const third = activation({ start: 3_000, runId: 7, attempt: 2 })
      for (const a of [first, second, third]) await store.recordActivation!(a)
      assert.deepEqual(await store.getActivation!(first.activationId), first)
      assert.equal(await store.getActivation!('no-such-id'), undefined)
      const ids = async (filter: object) => (await store.listActivations!(filter)).map((a) => a.activationId)
      assert.deepEqual(await ids({}), [third, second, first].map((a) => a.activationId))
      assert.deepEqual(await ids({ action: 'my-app/order' }), [third, first].map((a) => a.activationId))
      assert.deepEqual(await ids({ runId: 7 }), [third, first].map((a) => a.activationId))
      assert.deepEqual(await ids({ before: 3_000, limit: 1 }), [second.activationId])
      // A record written twice (a retried write) keeps the first.
      await store.recordActivation!({ ...first, status: 'success' })
      assert.equal((await store.getActivation!(first.activationId))!.status, 'action developer error')
    }))
}
