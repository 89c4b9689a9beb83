import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LastGoodCache } from './last-good.ts'

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
