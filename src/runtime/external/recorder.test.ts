import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import type { NewExternalCall, Store } from '../../store/store.ts'
import { LastGoodCache } from './last-good.ts'
import { ExternalCallRecorder } from './recorder.ts'

const logger = pino({ level: 'silent' })
const call = (n: number): NewExternalCall => ({
  resource: 'price', kind: 'commerce-layer/price', startedAt: n, durationMs: 1, inputDigest: 'd', status: 200, outcome: 'answered', fallback: 'none', answer: '{}', error: null,
})
function fakeStore(writeMs: number) {
  const batches: NewExternalCall[][] = []
  const store = { recordExternalCalls: async (calls: NewExternalCall[]) => (await sleep(writeMs), batches.push(calls)) } as unknown as Store
  return { store, batches }
}

describe('ExternalCallRecorder', () => {
  it('returns at once and writes in batches, one write at a time', async () => {
    const { store, batches } = fakeStore(30)
    const recorder = new ExternalCallRecorder(store, logger, { flushIntervalMs: 5, maxBatch: 3 })
    const started = performance.now()
    for (let i = 0; i < 7; i++) recorder.push(call(i))
    assert.ok(performance.now() - started < 5)
    await recorder.close()
    assert.deepEqual(batches.map((b) => b.map((c) => c.startedAt)), [[0, 1, 2], [3, 4, 5], [6]])
  })

  it('drops the oldest records beyond maxQueue and counts them, and counts a failed write', async () => {
    let dropped = 0
    const { store, batches } = fakeStore(1)
    const recorder = new ExternalCallRecorder(store, logger, { flushIntervalMs: 50, maxQueue: 2, onDropped: (n) => (dropped += n) })
    for (let i = 0; i < 5; i++) recorder.push(call(i))
    await recorder.close()
    assert.equal(dropped, 3)
    assert.deepEqual(batches.flat().map((c) => c.startedAt), [3, 4])
    const failing = new ExternalCallRecorder({ recordExternalCalls: async () => { throw new Error('disk full') } } as unknown as Store, logger, { onDropped: (n) => (dropped += n) })
    failing.push(call(9))
    await failing.close()
    assert.equal(dropped, 4)
  })

  it('does nothing on a store that cannot record', async () => {
    const recorder = new ExternalCallRecorder({} as Store, logger)
    assert.equal(recorder.enabled, false)
    recorder.push(call(1))
    assert.equal(recorder.pending, 0)
    await recorder.close()
  })
})

describe('LastGoodCache', () => {
  it('keeps the most recently used entries, and only while fresh', () => {
    const cache = new LastGoodCache<string>({ maxEntries: 2, maxAgeMs: 100 })
    cache.set('a', 'A', 0)
    cache.set('b', 'B', 0)
    assert.equal(cache.get('a', 10)?.answer, 'A')
    cache.set('c', 'C', 10)
    assert.equal(cache.get('b', 10), undefined)
    assert.deepEqual(cache.get('a', 50), { answer: 'A', ageMs: 50 })
    assert.equal(cache.get('a', 101), undefined)
    assert.equal(cache.size, 1)
  })
})
