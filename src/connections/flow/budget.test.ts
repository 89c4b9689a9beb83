import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { RateBudget } from './budget.ts'

describe('RateBudget (AIMD)', () => {
  test('starts at the configured size and stays there without 429s', () => {
    const budget = new RateBudget({ requests: 10, perMs: 1000 })
    assert.equal(budget.effective(0), 10)
    assert.equal(budget.effective(1e9), 10)
    assert.equal(budget.pausedForMs(0), 0)
  })

  test('a 429 halves it and pauses it for Retry-After; then one slot comes back per window', () => {
    const budget = new RateBudget({ requests: 10, perMs: 1000 })
    assert.deepEqual(budget.throttled(100, 200, 3000), { pauseMs: 3000, effective: 5, decreased: true })
    assert.equal(budget.pausedForMs(200), 3000)
    assert.equal(budget.pausedForMs(3200), 0)
    // The pause ends at 3200: whole windows from then give one slot each.
    assert.equal(budget.effective(3200), 5)
    assert.equal(budget.effective(4199), 5)
    assert.equal(budget.effective(4200), 6)
    assert.equal(budget.effective(3200 + 4 * 1000), 9)
    assert.equal(budget.effective(3200 + 50 * 1000), 10)
    assert.equal(budget.throttles, 1)
  })

  test('without Retry-After the pause is one window', () => {
    const budget = new RateBudget({ requests: 4, perMs: 500 })
    assert.equal(budget.throttled(0, 10).pauseMs, 500)
    assert.equal(budget.pausedForMs(10), 500)
  })

  test('never below 1, however many 429s', () => {
    const budget = new RateBudget({ requests: 3, perMs: 100 })
    let now = 0
    for (let i = 0; i < 5; i++) {
      now += 1
      budget.throttled(now, now, 0)
    }
    assert.equal(budget.effective(now), 1)
  })

  test('429s to calls sent before the last decrease do not halve again, but they stop recovery', () => {
    const budget = new RateBudget({ requests: 16, perMs: 1000 })
    // Four calls sent together at 0; their 429s arrive at 10, 11, 12, 13.
    assert.equal(budget.throttled(0, 10, 0).effective, 8)
    assert.equal(budget.throttled(0, 11, 0).decreased, false)
    assert.equal(budget.throttled(0, 12, 0).effective, 8)
    // A call sent after the decrease that meets a 429 halves it again.
    assert.equal(budget.throttled(20, 30, 0).effective, 4)
    assert.equal(budget.effective(30 + 1000), 5)
    // A late 429 in the middle of the recovery keeps what was recovered but restarts the count.
    assert.equal(budget.throttled(25, 30 + 2000, 0).effective, 6)
    assert.equal(budget.effective(30 + 2000 + 999), 6)
    assert.equal(budget.effective(30 + 2000 + 1000), 7)
  })

  test('refuses a size that is not a positive integer', () => {
    assert.throws(() => new RateBudget({ requests: 0, perMs: 1000 }), /positive integer/)
    assert.throws(() => new RateBudget({ requests: 2, perMs: 0 }), /positive/)
  })
})
