/**
 * @module
 * The Store contract suite. Every implementation runs it in full:
 *
 * @example
 * describeStoreContract('sqlite', async () => {
 *   const store = openSqliteStore({ path: tempFile() })
 *   return { store, cleanup: () => store.close() }
 * })
 */
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import type { InboundEvent } from '../core/types.ts'
import { describeActivationsContract } from './contract-activations.ts'
import { describeStepsContract } from './contract-steps.ts'
import type { IngestItem, NewRun, Store } from './store.ts'

export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>

/** Runs `body` on a fresh store from `makeStore`, cleaned up after, whatever happens. */
export function storeRunner(makeStore: StoreFactory): (body: (store: Store) => Promise<void>) => Promise<void> {
  return async (body) => {
    const { store, cleanup } = await makeStore()
    try {
      await body(store)
    } finally {
      await cleanup()
    }
  }
}

let counter = 0
function event(overrides: Partial<InboundEvent> = {}): InboundEvent {
  counter += 1
  return {
    id: `evt_${counter}_${Math.random().toString(36).slice(2, 8)}`,
    type: 'order.created',
    payload: { order: { id: counter, note: 'crème brûlée ✓' } },
    headers: { 'webhook-id': 'x' },
    ...overrides,
  }
}
const run = (action: string, orderingKey: string | null = null, maxAttempts = 3): NewRun => ({
  action,
  orderingKey,
  maxAttempts,
})
const item = (runs: NewRun[], overrides: Partial<InboundEvent> = {}, source = 'webhooks'): IngestItem => ({
  source,
  event: event(overrides),
  runs,
})

export function describeStoreContract(name: string, makeStore: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    const withStore = storeRunner(makeStore)

    describeStepsContract(withStore)
    describeActivationsContract(withStore)

    it('ingests an event with one pending run per action, payload intact', () =>
      withStore(async (store) => {
        const input = item([run('a'), run('b')])
        const [outcome] = await store.ingest([input])
        assert.equal(outcome!.duplicate, false)
        assert.equal(outcome!.runIds.length, 2)
        const stored = await store.getEvent('webhooks', input.event.id)
        assert.deepEqual(stored!.payload, input.event.payload)
        assert.deepEqual(stored!.headers, input.event.headers)
        assert.equal(stored!.duplicateDeliveries, 0)
        const runs = await store.runsForEvent(outcome!.seq)
        assert.deepEqual(runs.map((r) => [r.action, r.state, r.attempts, r.eventId]), [
          ['a', 'pending', 0, input.event.id],
          ['b', 'pending', 0, input.event.id],
        ])
      }))

    it('may start runs for the ingesting worker, within its slots and never past an unfinished run of the same key', () =>
      withStore(async (store) => {
        const busyKey = item([run('a', 'k1')])
        await store.ingest([busyKey]) // an unfinished run of key k1, not claimed
        const claim = { workerId: 'w1', slots: { a: { limit: 2, leaseMs: 60_000 }, b: { limit: 0, leaseMs: 60_000 } } }
        const items = [item([run('a', 'k1'), run('b')]), item([run('a')]), item([run('a')])]
        const outcomes = await store.ingest(items, claim)
        const claimed = outcomes.flatMap((o) => o.claimed ?? [])
        assert.ok(claimed.length <= 2, 'no more than the slots given')
        for (const { run: started, event: ev } of claimed) {
          assert.equal(started.action, 'a', 'no slot for b')
          assert.notEqual(started.orderingKey, 'k1', 'k1 has an earlier unfinished run')
          assert.deepEqual(await store.getRun(started.id), started)
          assert.equal(started.state, 'running')
          assert.equal(started.workerId, 'w1')
          const { duplicateDeliveries: _, ...stored } = (await store.getEvent(ev.source, ev.id))!
          assert.deepEqual(ev, stored)
          assert.deepEqual((await store.listAttempts(started.id)).map((a) => [a.number, a.workerId, a.outcome]), [[1, 'w1', null]])
        }
        // Whatever was not started is pending, for any worker.
        const startedIds = new Set(claimed.map((c) => c.run.id))
        const rest = outcomes.flatMap((o) => o.runIds).filter((id) => !startedIds.has(id))
        for (const id of rest) assert.equal((await store.getRun(id))!.state, 'pending')
      }))

    it('keeps a fingerprint only with a success, until it expires, the newest per key', () =>
      withStore(async (store) => {
        const [o] = await store.ingest([item([run('a'), run('b')])])
        const [first, second] = await store.claimRuns({ workerId: 'w', action: 'a', limit: 1, leaseMs: 60_000 }).then(async (a) => [
          a[0]!,
          (await store.claimRuns({ workerId: 'w', action: 'b', limit: 1, leaseMs: 60_000 }))[0]!,
        ])
        const now = Date.now()
        const fingerprint = (key: string, digest: string, ttl = 60_000) => ({ key, digest, expiresAt: now + ttl })
        const error = new Error('ERP down')
        await store.finishAttempt({ runId: second!.run.id, workerId: 'w', attempt: 1, end: { outcome: 'failed', error, retryAt: now + 60_000, fingerprints: [fingerprint('k', 'lost')] } as never })
        assert.equal(await store.fingerprintMatches('k', 'lost', now), false, 'a failed run records nothing')
        await store.finishAttempt({ runId: first!.run.id, workerId: 'w', attempt: 1, end: { outcome: 'succeeded', fingerprints: [fingerprint('k', 'v1'), fingerprint('short', 'x', 10)] } })
        assert.equal(await store.fingerprintMatches('k', 'v1', now), true)
        assert.equal(await store.fingerprintMatches('k', 'v2', now), false)
        assert.equal(await store.fingerprintMatches('other', 'v1', now), false)
        assert.equal(await store.fingerprintMatches('short', 'x', now + 11), false, 'expired')
        await store.ingest([item([run('c')])])
        const [third] = await store.claimRuns({ workerId: 'w', action: 'c', limit: 1, leaseMs: 60_000 })
        await store.finishAttempt({ runId: third!.run.id, workerId: 'w', attempt: 1, end: { outcome: 'succeeded', fingerprints: [fingerprint('k', 'v2')] } })
        assert.deepEqual([await store.fingerprintMatches('k', 'v1', now), await store.fingerprintMatches('k', 'v2', now)], [false, true])
        assert.equal(o!.runIds.length, 2)
      }))

    it('acknowledges a repeated delivery as a duplicate and creates no run', () =>
      withStore(async (store) => {
        const input = item([run('a')])
        const [first] = await store.ingest([input])
        const [again] = await store.ingest([{ ...input, event: { ...input.event, payload: { changed: true } } }])
        assert.equal(again!.duplicate, true)
        assert.equal(again!.seq, first!.seq)
        assert.deepEqual(again!.runIds, [])
        const stored = await store.getEvent('webhooks', input.event.id)
        assert.deepEqual(stored!.payload, input.event.payload, 'the first delivery is kept')
        assert.equal(stored!.duplicateDeliveries, 1)
        assert.equal((await store.runsForEvent(first!.seq)).length, 1)
      }))

    it('keeps a request\'s events in request order, a repeat within it a duplicate', () =>
      withStore(async (store) => {
        const first = item([run('a', 'k'), run('b')])
        const second = item([run('a', 'k')])
        const outcomes = await store.ingest([first, second, { ...first, event: { ...first.event, payload: 'again' } }])
        assert.deepEqual(outcomes.map((o) => o.duplicate), [false, false, true])
        assert.ok(outcomes[0]!.seq < outcomes[1]!.seq)
        assert.equal(outcomes[2]!.seq, outcomes[0]!.seq)
        const ids = [...outcomes[0]!.runIds, ...outcomes[1]!.runIds]
        assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'run ids ascend in request order')
        assert.deepEqual((await store.runsForEvent(outcomes[0]!.seq)).map((r) => r.action), ['a', 'b'])
        const stored = (await store.getEvent('webhooks', first.event.id))!
        assert.deepEqual([stored.payload, stored.duplicateDeliveries], [first.event.payload, 1])
      }))

    it('dedupes per source: the same id from two sources is two events', () =>
      withStore(async (store) => {
        const input = item([run('a')])
        const [a] = await store.ingest([input])
        const [b] = await store.ingest([{ ...input, source: 'other' }])
        assert.equal(b!.duplicate, false)
        assert.notEqual(a!.seq, b!.seq)
      }))

    it('gives each of many concurrent ingests its own outcome, duplicates included', () =>
      withStore(async (store) => {
        const items = Array.from({ length: 40 }, () => item([run('a')]))
        const outcomes = await Promise.all([...items, items[0]!].map((i) => store.ingest([i])))
        const flat = outcomes.map((o) => o[0]!)
        assert.equal(flat.filter((o) => o.duplicate).length, 1)
        assert.equal(new Set(flat.map((o) => o.seq)).size, 40)
      }))

    it('claims pending runs of one action once, starting an attempt', () =>
      withStore(async (store) => {
        await store.ingest([item([run('a'), run('b')]), item([run('a')])])
        const claimed = await store.claimRuns({ workerId: 'w1', action: 'a', limit: 10, leaseMs: 60_000 })
        assert.equal(claimed.length, 2)
        assert.ok(claimed.every((c) => c.run.action === 'a' && c.run.state === 'running' && c.run.attempts === 1))
        assert.equal(claimed[0]!.event.id, claimed[0]!.run.eventId)
        const attempts = await store.listAttempts(claimed[0]!.run.id)
        assert.equal(attempts.length, 1)
        assert.equal(attempts[0]!.workerId, 'w1')
        assert.equal(attempts[0]!.endedAt, null)
        assert.deepEqual(await store.claimRuns({ workerId: 'w2', action: 'a', limit: 10, leaseMs: 60_000 }), [])
      }))

    it('respects the claim limit and hands out runs in event order', () =>
      withStore(async (store) => {
        const outcomes = await store.ingest([item([run('a')]), item([run('a')]), item([run('a')])])
        const first = await store.claimRuns({ workerId: 'w', action: 'a', limit: 2, leaseMs: 60_000 })
        assert.deepEqual(first.map((c) => c.run.id), [outcomes[0]!.runIds[0], outcomes[1]!.runIds[0]])
      }))

    it('never hands out a run whose ordering key has an earlier unfinished run', () =>
      withStore(async (store) => {
        const [a1, , b1] = await store.ingest([
          item([run('act', 'order-1')]),
          item([run('act', 'order-1')]),
          item([run('act', 'order-2'), run('other', 'order-1')]),
        ])
        const first = await store.claimRuns({ workerId: 'w', action: 'act', limit: 10, leaseMs: 60_000 })
        assert.deepEqual(first.map((c) => c.run.id), [a1!.runIds[0], b1!.runIds[0]])
        const other = await store.claimRuns({ workerId: 'w', action: 'other', limit: 10, leaseMs: 60_000 })
        assert.equal(other.length, 1, 'keys are per action')

        // While the head retries, the key stays blocked.
        await store.finishAttempt({
          runId: a1!.runIds[0]!,
          workerId: 'w',
          attempt: 1,
          end: { outcome: 'failed', error: new Error('erp down'), retryAt: Date.now() + 60_000 },
        })
        assert.deepEqual(await store.claimRuns({ workerId: 'w', action: 'act', limit: 10, leaseMs: 60_000 }), [])

      }))

    it('unblocks a key when its head succeeds or dies', () =>
      withStore(async (store) => {
        const [a1, a2, a3] = await store.ingest([
          item([run('act', 'k')]),
          item([run('act', 'k')]),
          item([run('act', 'k')]),
        ])
        const claim = () => store.claimRuns({ workerId: 'w', action: 'act', limit: 10, leaseMs: 60_000 })
        assert.deepEqual((await claim()).map((c) => c.run.id), [a1!.runIds[0]])
        await store.finishAttempt({ runId: a1!.runIds[0]!, workerId: 'w', attempt: 1, end: { outcome: 'succeeded' } })
        assert.deepEqual((await claim()).map((c) => c.run.id), [a2!.runIds[0]])
        await store.finishAttempt({
          runId: a2!.runIds[0]!,
          workerId: 'w',
          attempt: 1,
          end: { outcome: 'dead', error: new Error('rejected') },
        })
        assert.deepEqual((await claim()).map((c) => c.run.id), [a3!.runIds[0]])
      }))

    it('records how an attempt ended, and retries only when due', () =>
      withStore(async (store) => {
        const [o] = await store.ingest([item([run('a')])])
        const runId = o!.runIds[0]!
        await store.claimRuns({ workerId: 'w', action: 'a', limit: 1, leaseMs: 60_000 })
        const error = new Error('ERP answered 503')
        const finished = await store.finishAttempt({
          runId,
          workerId: 'w',
          attempt: 1,
          end: { outcome: 'failed', error, retryAt: Date.now() + 400 },
        })
        assert.equal(finished, true)
        const retrying = (await store.getRun(runId))!
        assert.equal(retrying.state, 'retrying')
        assert.equal(retrying.lastError, 'ERP answered 503')
        assert.equal(retrying.workerId, null)
        const [attempt] = await store.listAttempts(runId)
        assert.equal(attempt!.outcome, 'failed')
        assert.equal(attempt!.errorMessage, 'ERP answered 503')
        assert.match(attempt!.errorStack!, /ERP answered 503/)
        assert.ok(attempt!.endedAt! >= attempt!.startedAt)

        assert.deepEqual(await store.claimRuns({ workerId: 'w', action: 'a', limit: 1, leaseMs: 60_000 }), [])
        const next = await store.nextRunAt(['a'])
        assert.ok(next !== null && next > Date.now() && next <= Date.now() + 400)
        await sleep(450)
        const [again] = await store.claimRuns({ workerId: 'w', action: 'a', limit: 1, leaseMs: 60_000 })
        assert.equal(again!.run.attempts, 2)
        await store.finishAttempt({ runId, workerId: 'w', attempt: 2, end: { outcome: 'succeeded' } })
        const done = (await store.getRun(runId))!
        assert.equal(done.state, 'succeeded')
        assert.deepEqual((await store.listAttempts(runId)).map((a) => a.outcome), ['failed', 'succeeded'])
      }))

    it('holds a delayed run until its runAt, never starting it at ingest, and reports it as the next run', () =>
      withStore(async (store) => {
        const later = Date.now() + 60_000
        const claim = { workerId: 'w', slots: { a: { limit: 5, leaseMs: 60_000 }, b: { limit: 5, leaseMs: 60_000 } } }
        const [o] = await store.ingest([item([{ ...run('a'), runAt: later }, run('b')])], claim)
        const [delayedId, dueId] = o!.runIds as [number, number]
        assert.ok(!(o!.claimed ?? []).some((c) => c.run.id === delayedId), 'a run not yet due is not started by the ingest')
        const delayed = (await store.getRun(delayedId))!
        assert.deepEqual([delayed.state, delayed.runAt], ['pending', later])
        assert.ok((await store.getRun(dueId))!.runAt <= Date.now(), 'a run without runAt is due at once')
        assert.deepEqual(await store.claimRuns({ workerId: 'w', action: 'a', limit: 5, leaseMs: 60_000 }), [])
        assert.equal(await store.nextRunAt(['a']), later)

        // Due once its time has come (a runAt already past is due at once)…
        const soon = Date.now() + 300
        const [past, near] = await store.ingest([item([{ ...run('a'), runAt: Date.now() - 1000 }]), item([{ ...run('a'), runAt: soon }])])
        assert.deepEqual((await store.claimRuns({ workerId: 'w', action: 'a', limit: 5, leaseMs: 60_000 })).map((c) => c.run.id), [past!.runIds[0]])
        await sleep(soon - Date.now() + 100)
        const [claimed] = await store.claimRuns({ workerId: 'w', action: 'a', limit: 5, leaseMs: 60_000 })
        assert.deepEqual([claimed?.run.id, claimed?.run.attempts], [near!.runIds[0], 1])
        assert.equal(await store.nextRunAt(['a']), later, 'the far one still waits')

        // …and while it waits it holds its ordering key, like a retrying run.
        const [held, behind] = await store.ingest([item([{ ...run('k', 'order-1'), runAt: later }]), item([run('k', 'order-1'), run('k', 'order-2')])])
        const started = await store.claimRuns({ workerId: 'w', action: 'k', limit: 5, leaseMs: 60_000 })
        assert.deepEqual(started.map((c) => c.run.orderingKey), ['order-2'])
        assert.equal((await store.getRun(behind!.runIds[0]!))!.state, 'pending')
        assert.equal((await store.getRun(held!.runIds[0]!))!.state, 'pending')
      }))

    it('gives as the next due time the earliest waiting run or lease of the actions asked about, and nothing else', () =>
      withStore(async (store) => {
        const at = Date.now() + 60_000
        await store.ingest([
          item([{ ...run('a'), runAt: at + 20_000 }, { ...run('a'), runAt: at + 10_000 }]),
          item([{ ...run('b'), runAt: at + 5_000 }, { ...run('elsewhere'), runAt: at }, run('leased')]),
        ])
        const [leased] = await store.claimRuns({ workerId: 'w', action: 'leased', limit: 1, leaseMs: 30_000 })
        assert.equal(await store.nextRunAt(['a']), at + 10_000)
        assert.equal(await store.nextRunAt(['a', 'b']), at + 5_000)
        assert.equal(await store.nextRunAt(['a', 'leased']), leased!.run.leaseExpiresAt, 'a running run is due again when its lease runs out')
        await store.finishAttempt({ runId: leased!.run.id, workerId: 'w', attempt: 1, end: { outcome: 'succeeded' } })
        assert.equal(await store.nextRunAt(['leased']), null, 'a finished run is never due')
        assert.equal(await store.nextRunAt(['nobody']), null)
      }))

    it('refuses to finish an attempt for a worker that no longer holds the run', () =>
      withStore(async (store) => {
        const [o] = await store.ingest([item([run('a')])])
        await store.claimRuns({ workerId: 'w1', action: 'a', limit: 1, leaseMs: 60_000 })
        const ok = await store.finishAttempt({ runId: o!.runIds[0]!, workerId: 'w2', attempt: 1, end: { outcome: 'succeeded' } })
        assert.equal(ok, false)
        assert.equal((await store.getRun(o!.runIds[0]!))!.state, 'running')
      }))

    it('reclaims a running run whose lease expired, closing the lost attempt', () =>
      withStore(async (store) => {
        const [o] = await store.ingest([item([run('a', null, 5)])])
        const runId = o!.runIds[0]!
        await store.claimRuns({ workerId: 'crashed', action: 'a', limit: 1, leaseMs: 400 })
        assert.deepEqual(await store.claimRuns({ workerId: 'w2', action: 'a', limit: 1, leaseMs: 60_000 }), [])
        await sleep(450)
        const [reclaimed] = await store.claimRuns({ workerId: 'w2', action: 'a', limit: 1, leaseMs: 60_000 })
        assert.equal(reclaimed!.run.id, runId)
        assert.equal(reclaimed!.run.attempts, 2)
        assert.equal(reclaimed!.run.workerId, 'w2')
        const attempts = await store.listAttempts(runId)
        assert.deepEqual(attempts.map((a) => [a.workerId, a.outcome]), [
          ['crashed', 'interrupted'],
          ['w2', null],
        ])
        const late = await store.finishAttempt({ runId, workerId: 'crashed', attempt: 1, end: { outcome: 'succeeded' } })
        assert.equal(late, false, 'the crashed worker cannot finish a run it lost')
      }))

    it('buries a run whose lease expired on its last attempt instead of running it again', () =>
      withStore(async (store) => {
        const [o] = await store.ingest([item([run('a', null, 1)])])
        await store.claimRuns({ workerId: 'crashed', action: 'a', limit: 1, leaseMs: 10 })
        await sleep(30)
        assert.deepEqual(await store.claimRuns({ workerId: 'w2', action: 'a', limit: 1, leaseMs: 60_000 }), [])
        const dead = (await store.getRun(o!.runIds[0]!))!
        assert.equal(dead.state, 'dead')
        assert.match(dead.lastError!, /lease expired/)
        assert.equal((await store.listAttempts(dead.id))[0]!.outcome, 'interrupted')
      }))

    it('releases runs at shutdown without using up an attempt', () =>
      withStore(async (store) => {
        const [o] = await store.ingest([item([run('a', null, 1)])])
        const runId = o!.runIds[0]!
        await store.claimRuns({ workerId: 'w', action: 'a', limit: 1, leaseMs: 60_000 })
        await store.releaseRuns('w', [runId])
        const released = (await store.getRun(runId))!
        assert.equal(released.state, 'pending')
        assert.equal(released.maxAttempts, 2)
        assert.equal((await store.listAttempts(runId))[0]!.outcome, 'interrupted')
        const [again] = await store.claimRuns({ workerId: 'w', action: 'a', limit: 1, leaseMs: 60_000 })
        assert.equal(again!.run.attempts, 2)
      }))

    it('replays a run as a new run and keeps the old one', () =>
      withStore(async (store) => {
        const [o] = await store.ingest([item([run('a', 'k')])])
        const runId = o!.runIds[0]!
        await store.claimRuns({ workerId: 'w', action: 'a', limit: 1, leaseMs: 60_000 })
        await store.finishAttempt({ runId, workerId: 'w', attempt: 1, end: { outcome: 'dead', error: new Error('x') } })
        const replay = await store.replayRun(runId)
        assert.notEqual(replay.id, runId)
        assert.equal(replay.replayOf, runId)
        assert.equal(replay.state, 'pending')
        assert.equal(replay.attempts, 0)
        assert.equal(replay.orderingKey, 'k')
        assert.equal(replay.eventSeq, o!.seq)
        assert.equal((await store.getRun(runId))!.state, 'dead')
        await assert.rejects(store.replayRun(987654), /does not exist/)
      }))

    it('replays every dead run matching a filter, once', () =>
      withStore(async (store) => {
        const outcomes = await store.ingest([
          item([run('a')], { type: 'order.created' }),
          item([run('a')], { type: 'order.updated' }),
          item([run('b')], { type: 'order.created' }),
          item([run('a')], { type: 'order.created' }),
        ])
        for (const action of ['a', 'b']) {
          for (const c of await store.claimRuns({ workerId: 'w', action, limit: 10, leaseMs: 60_000 })) {
            const end = c.run.id === outcomes[3]!.runIds[0]
              ? ({ outcome: 'succeeded' } as const)
              : ({ outcome: 'dead', error: new Error('no') } as const)
            await store.finishAttempt({ runId: c.run.id, workerId: 'w', attempt: 1, end })
          }
        }
        const replays = await store.replayDeadRuns({ action: 'a', type: 'order.created' })
        assert.deepEqual(replays.map((r) => r.replayOf), [outcomes[0]!.runIds[0]])
        assert.deepEqual(await store.replayDeadRuns({ action: 'a', type: 'order.created' }), [], 'a second bulk replay finds nothing new')
        const all = await store.replayDeadRuns({})
        assert.deepEqual(all.map((r) => r.replayOf).sort(), [outcomes[1]!.runIds[0], outcomes[2]!.runIds[0]].sort())
      }))

    it('lists and filters events and runs, newest first, with paging', () =>
      withStore(async (store) => {
        const before = Date.now()
        const outcomes = await store.ingest([
          item([run('a')], { type: 'order.created', id: 'ord-100-created' }),
          item([run('a')], { type: 'order.updated', id: 'ord-100-updated' }),
          item([run('b')], { type: 'order.created', id: 'ord-200-created' }, 'cl'),
        ])
        assert.deepEqual((await store.listEvents({})).map((e) => e.id), ['ord-200-created', 'ord-100-updated', 'ord-100-created'])
        assert.deepEqual((await store.listEvents({ source: 'webhooks', type: 'order.created' })).map((e) => e.id), ['ord-100-created'])
        assert.deepEqual((await store.listEvents({ idContains: '100' })).length, 2)
        // Free text is taken as it is: no wildcard of any query language.
        for (const wildcard of ['%', '_', '*', '.', '\\']) assert.deepEqual(await store.listEvents({ idContains: wildcard }), [], wildcard)
        assert.equal((await store.listRuns({ eventIdContains: 'ord-_00' })).length, 0)
        assert.deepEqual((await store.listEvents({ since: before, limit: 1 })).map((e) => e.id), ['ord-200-created'])
        assert.deepEqual((await store.listEvents({ until: before })).length, 0)
        const page2 = await store.listEvents({ beforeSeq: outcomes[2]!.seq, limit: 1 })
        assert.deepEqual(page2.map((e) => e.id), ['ord-100-updated'])

        assert.deepEqual((await store.listRuns({ action: 'a' })).map((r) => r.eventId), ['ord-100-updated', 'ord-100-created'])
        assert.deepEqual((await store.listRuns({ source: 'cl' })).map((r) => r.action), ['b'])
        assert.deepEqual((await store.listRuns({ type: 'order.updated', state: 'pending' })).length, 1)
        assert.deepEqual((await store.listRuns({ state: 'dead' })).length, 0)
        assert.deepEqual((await store.listRuns({ eventIdContains: '200' })).map((r) => r.action), ['b'])
        assert.deepEqual((await store.listRuns({ beforeId: outcomes[1]!.runIds[0]! })).map((r) => r.eventId), ['ord-100-created'])
        const counts = await store.countRunsByState()
        assert.deepEqual(counts, { pending: 3, running: 0, succeeded: 0, retrying: 0, dead: 0, paused: 0, skipped: 0 })
        assert.deepEqual(await store.countRunsByState(2), { ...counts, pending: 2 }, 'counted up to the limit')
        // A replay keeps its event's source and type for the filters.
        const replay = await store.replayRun(outcomes[2]!.runIds[0]!)
        assert.deepEqual((await store.listRuns({ source: 'cl', type: 'order.created' })).map((r) => r.id), [replay.id, outcomes[2]!.runIds[0]!])
        assert.equal((await store.listRuns({ source: 'webhooks', eventIdContains: '200' })).length, 0)

        const bySource: Record<string, number> = {}
        for (const m of await store.countEventsPerMinute(before - 60_000)) {
          assert.equal(m.minute % 60_000, 0, 'a minute starts on the minute')
          bySource[m.source] = (bySource[m.source] ?? 0) + m.count
        }
        assert.deepEqual(bySource, { webhooks: 2, cl: 1 })
        assert.deepEqual(await store.countEventsPerMinute(Date.now() + 60_000), [])
        assert.equal(await store.getRun(123456), null)
        assert.equal(await store.getEvent('webhooks', 'nope'), null)
      }))
  })
}
