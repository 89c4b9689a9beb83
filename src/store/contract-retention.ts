/**
 * @module
 * The part of the Store contract suite for retention and expunge (the expunge half is in
 * contract-expunge.ts). Each store's test file runs it.
 *
 * @example
 * describeRetentionContract('sqlite', async () => {
 *   const store = await openThreadedSqliteStore({ path: tempFile() })
 *   return { store, cleanup: () => store.close() }
 * })
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { storeRunner, type StoreFactory } from './contract.ts'
import { describeExpungeContract } from './contract-expunge.ts'
import { isPayloadRemovedError, noneRemoved, RETENTION_COUNTS, type RetentionCounts, type RetentionCursor, type RetentionPolicy } from './retention.ts'
import type { AttemptEnd, Store } from './store.ts'
import { eventWithRun, laterThan } from './contract-fixtures.ts'

const DAY_MS = 86_400_000
/** Runs a whole pass, `batchSize` rows per call, and adds up what it removed. */
async function pass(store: Store, policy: RetentionPolicy, now: number, batchSize: number): Promise<{ removed: RetentionCounts; calls: number }> {
  const removed = noneRemoved()
  let cursor: RetentionCursor | null | undefined
  let calls = 0
  do {
    const batch = await store.applyRetention({ policy, now, batchSize, ...(cursor ? { cursor } : {}) })
    for (const kind of RETENTION_COUNTS) removed[kind] += batch.removed[kind]
    assert.ok(!batch.busy, 'nothing else applies retention here')
    cursor = batch.next
    calls += 1
  } while (cursor)
  return { removed, calls }
}

export function describeRetentionContract(name: string, makeStore: StoreFactory): void {
  describe(`Store contract: ${name}: retention and expunge`, () => {
    const withStore = storeRunner(makeStore)

    it('removes exactly what is past its days, in small calls, and nothing of an unfinished run', () =>
      withStore(async (store) => {
        const succeeded: AttemptEnd = { outcome: 'succeeded' }
        // Old: past the metadata cutoff. A finished run, an unfinished one, an event no action took.
        const gone = await eventWithRun(store, 'a', succeeded)
        await store.saveStep({ runId: gone.runId, name: 'fetch', attempt: 1, result: '{"x":1}', finishedAt: Date.now() })
        const waiting = await eventWithRun(store, 'keep', null, { keep: 'me' })
        await store.saveStep({ runId: waiting.runId, name: 'fetch', attempt: 1, result: '{"x":2}', finishedAt: Date.now() })
        const orphanId = `orphan_${Math.random().toString(36).slice(2, 10)}`
        await store.ingest([{ source: 'shop', event: { id: orphanId, type: 'order.created', payload: { o: 1 }, headers: {} }, runs: [] }])
        const metadataEdge = (await laterThan(Date.now())) + 1
        // Middle: past the payload cutoff only. A dead run and a succeeded one.
        await laterThan(metadataEdge + 1)
        const emptied = await eventWithRun(store, 'a', { outcome: 'dead', error: new Error('refused') })
        await store.saveStep({ runId: emptied.runId, name: 'fetch', attempt: 1, result: '{"x":3}', finishedAt: Date.now() })
        const emptied2 = await eventWithRun(store, 'a', succeeded)
        const payloadEdge = (await laterThan(Date.now())) + 1
        await laterThan(payloadEdge + 1)
        // Recent: kept whole.
        const recent = await eventWithRun(store, 'a', succeeded, { recent: true })
        await store.saveStep({ runId: recent.runId, name: 'fetch', attempt: 1, result: '{"x":4}', finishedAt: Date.now() })

        // `now` puts the payload cutoff at payloadEdge and the metadata cutoff at metadataEdge.
        const now = payloadEdge + DAY_MS
        const policy: RetentionPolicy = { payloadsDays: 1, metadataDays: (now - metadataEdge) / DAY_MS, externalCallsDays: 7 }
        const oldTime = metadataEdge - 10
        const middleTime = metadataEdge + 1
        await store.recordRunLogs!([
          { runId: gone.runId, attempt: 1, at: oldTime, level: 'info', message: 'gone with its event', fields: null },
          { runId: waiting.runId, attempt: 1, at: oldTime, level: 'info', message: 'kept: unfinished run', fields: null },
          { runId: emptied.runId, attempt: 1, at: middleTime, level: 'info', message: 'past payloadsDays', fields: null },
          { runId: recent.runId, attempt: 1, at: Date.now(), level: 'info', message: 'recent', fields: null },
        ])
        await store.recordOutboundCalls!([gone.runId, emptied.runId].map((runId) => ({
          runId, attempt: 1, connection: 'erp', method: 'POST', url: 'http://erp/orders', status: 201, startedAt: oldTime, durationMs: 3, error: null, traceId: null,
        })))
        const activation = (id: string, runId: number | null, start: number) => ({
          activationId: id, action: 'app/x', cause: runId === null ? 'web' : 'event', start, end: start + 1, status: 'success',
          result: { body: id }, logs: [`log of ${id}`], leftWork: false, runId, attempt: runId === null ? null : 1,
        })
        for (const a of [activation('web-old', null, oldTime), activation('web-middle', null, middleTime), activation('of-gone', gone.runId, oldTime),
          activation('of-waiting', waiting.runId, oldTime), activation('web-recent', null, Date.now())]) await store.recordActivation!(a)
        const call = (startedAt: number) => ({ resource: 'price', kind: 'commerce-layer/price', startedAt, durationMs: 1, inputDigest: 'd', status: 200,
          outcome: 'answered' as const, fallback: 'none' as const, answer: '{}', error: null })
        await store.recordExternalCalls!([call(now - 8 * DAY_MS), call(now - 6 * DAY_MS)])
        const fingerprint = (key: string, expiresAt: number) => ({ key, digest: 'dg', expiresAt })
        const fp = await eventWithRun(store, 'a', { outcome: 'succeeded', fingerprints: [fingerprint('product:old', now - 1), fingerprint('product:live', now + DAY_MS)] })

        const first = await pass(store, policy, now, 2)
        assert.ok(first.calls > 5, `a pass of several small calls (${first.calls})`)
        assert.deepEqual(first.removed, {
          ...noneRemoved(),
          events: 2, runs: 1, attempts: 1, steps: 2, runLogs: 2, outboundCalls: 1, activations: 2,
          eventPayloads: 2, activationPayloads: 1, externalCalls: 1, fingerprints: 1,
        })

        assert.equal(await store.getEvent('shop', gone.id), null)
        assert.equal(await store.getRun(gone.runId), null)
        assert.equal(await store.getEvent('shop', orphanId), null, 'an event no action took goes too')

        const kept = (await store.getEvent('shop', waiting.id))!
        assert.deepEqual([kept.payload, kept.payloadRemovedAt], [{ keep: 'me' }, undefined], 'an unfinished run keeps its event whole')
        assert.equal((await store.getRun(waiting.runId))!.state, 'pending')
        assert.equal((await store.listSteps(waiting.runId)).length, 1)
        assert.deepEqual((await store.listRunLogs!({ runId: waiting.runId })).map((l) => l.message), ['kept: unfinished run'])
        assert.deepEqual((await store.getActivation!('of-waiting'))!.result, { body: 'of-waiting' })

        for (const { id, runId } of [emptied, emptied2]) {
          const event = (await store.getEvent('shop', id))!
          assert.deepEqual([event.payload, event.headers], [{}, {}])
          assert.equal(event.payloadRemovedAt, now, 'when the payload was removed')
          assert.ok(await store.getRun(runId), 'the run history stays')
          assert.equal((await store.listAttempts(runId)).length, 1)
          assert.deepEqual(await store.listSteps(runId), [])
        }
        assert.deepEqual(await store.listRunLogs!({ runId: emptied.runId }), [])
        assert.equal((await store.listOutboundCalls!({ runId: emptied.runId })).length, 1, 'outbound calls are metadata')
        assert.equal(await store.getActivation!('web-old'), undefined)
        assert.deepEqual(await store.getActivation!('of-gone'), undefined)
        const middle = (await store.getActivation!('web-middle'))!
        assert.deepEqual([middle.result, middle.logs, middle.status], [{}, [], 'success'])

        assert.deepEqual((await store.getEvent('shop', recent.id))!.payload, { recent: true })
        assert.equal((await store.listSteps(recent.runId)).length, 1)
        assert.deepEqual((await store.listRunLogs!({ runId: recent.runId })).map((l) => l.message), ['recent'])
        assert.ok(await store.getActivation!('web-recent'))
        assert.equal((await store.listExternalCalls!({})).length, 1)
        assert.ok(await store.fingerprintMatches('product:live', 'dg', 0))
        assert.equal(await store.fingerprintMatches('product:old', 'dg', 0), false, 'an expired fingerprint is deleted')
        assert.ok(await store.getEvent('shop', fp.id))

        const second = await pass(store, policy, now, 2)
        assert.deepEqual(second.removed, noneRemoved(), 'a second pass finds nothing more')
      }))

    it('refuses to replay a run whose payload was removed, and leaves it out of bulk replays', () =>
      withStore(async (store) => {
        const dead = await eventWithRun(store, 'a', { outcome: 'dead', error: new Error('refused') })
        const edge = (await laterThan(Date.now())) + 1
        await laterThan(edge + 1)
        const fresh = await eventWithRun(store, 'a', { outcome: 'dead', error: new Error('refused') })
        const now = edge + DAY_MS
        await pass(store, { payloadsDays: 1, metadataDays: null, externalCallsDays: null }, now, 100)
        await assert.rejects(store.replayRun(dead.runId), (error: Error) => isPayloadRemovedError(error) && /payload was removed/.test(error.message))
        assert.deepEqual((await store.replayDeadRuns({})).map((r) => r.replayOf), [fresh.runId])
        assert.equal((await store.runsForEvent(dead.seq)).length, 1, 'no replay was created')
      }))

    it('keeps everything with every retention off, and an event whose run was replayed since the cutoff', () =>
      withStore(async (store) => {
        const old = await eventWithRun(store, 'a', { outcome: 'dead', error: new Error('refused') })
        const edge = (await laterThan(Date.now())) + 1
        await laterThan(edge + 1)
        const replay = await store.replayRun(old.runId)
        const now = edge + DAY_MS
        const none = await pass(store, { payloadsDays: null, metadataDays: null, externalCallsDays: null }, now, 10)
        assert.deepEqual(none.removed, noneRemoved())
        // The replay is unfinished: nothing of the event goes; once it finishes after the cutoff, the record stays.
        await pass(store, { payloadsDays: 1, metadataDays: 1, externalCallsDays: 1 }, now, 10)
        assert.deepEqual((await store.getEvent('shop', old.id))!.payloadRemovedAt, undefined)
        const [claimed] = await store.claimRuns({ workerId: 'w', action: 'a', limit: 1, leaseMs: 60_000 })
        assert.equal(claimed!.run.id, replay.id)
        await store.finishAttempt({ runId: replay.id, workerId: 'w', attempt: 1, end: { outcome: 'succeeded' } })
        const later = await pass(store, { payloadsDays: null, metadataDays: 1, externalCallsDays: null }, now, 10)
        assert.equal(later.removed.events, 0, 'a run updated after the cutoff keeps its event')
        assert.ok(await store.getEvent('shop', old.id))
      }))

    describeExpungeContract(withStore)
  })
}
