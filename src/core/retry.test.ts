import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { DEFAULT_RETRY_POLICY, retryDelay, retryDelayCeiling } from './retry.ts'
import type { RetryPolicy } from './retry.ts'

const HOUR = 60 * 60 * 1000
const policy: RetryPolicy = { maxAttempts: 10, baseDelayMs: 1_000, maxDelayMs: 10_000 }

/** Every delay the policy allows, without jitter: one per failed attempt but the last. */
function ceilings(p: RetryPolicy): number[] {
  const delays: number[] = []
  for (let attempt = 1; ; attempt++) {
    const delay = retryDelay({ ...p, jitter: false }, attempt)
    if (delay === null) return delays
    delays.push(delay)
  }
}

describe('retryDelayCeiling', () => {
  test('doubles from baseDelayMs and stops at maxDelayMs', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 50].map((attempt) => retryDelayCeiling(policy, attempt)),
      [1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000],
    )
  })

  test('stays finite and capped for absurd attempt numbers', () => {
    assert.equal(retryDelayCeiling(policy, 10_000), 10_000)
    assert.equal(retryDelayCeiling(policy, Number.MAX_SAFE_INTEGER), 10_000)
    assert.equal(retryDelayCeiling(policy, 0), 1_000)
    assert.equal(retryDelayCeiling(policy, -3), 1_000)
  })

  test('never decreases, never exceeds the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 1, max: 48 * HOUR }),
        fc.integer({ min: 1, max: 200 }),
        (baseDelayMs, maxDelayMs, attempt) => {
          const p = { maxAttempts: 1_000, baseDelayMs, maxDelayMs }
          const here = retryDelayCeiling(p, attempt)
          assert.ok(here <= maxDelayMs)
          assert.ok(here <= retryDelayCeiling(p, attempt + 1))
        },
      ),
    )
  })
})

describe('retryDelay', () => {
  test('returns null at and after maxAttempts', () => {
    assert.notEqual(retryDelay(policy, 9), null)
    assert.equal(retryDelay(policy, 10), null)
    assert.equal(retryDelay(policy, 11), null)
    assert.equal(retryDelay({ ...policy, maxAttempts: 1 }, 1), null)
    assert.equal(ceilings(policy).length, 9)
  })

  test('jitter: false waits the ceiling itself', () => {
    for (let attempt = 1; attempt < 10; attempt++) {
      assert.equal(retryDelay({ ...policy, jitter: false }, attempt, () => 0), retryDelayCeiling(policy, attempt))
    }
  })

  test('jitter is on unless turned off, and scales the ceiling by the random draw', () => {
    assert.equal(retryDelay(policy, 3, () => 0.5), 2_000)
    assert.equal(retryDelay({ ...policy, jitter: true }, 3, () => 0), 0)
    assert.equal(retryDelay(DEFAULT_RETRY_POLICY, 1, () => 0.5), 5_000)
  })

  test('with jitter every delay is a whole number of ms within [0, ceiling]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, draw) => {
          const delay = retryDelay({ ...policy, maxAttempts: 31 }, attempt, () => draw)
          assert.ok(delay !== null && Number.isInteger(delay))
          assert.ok(delay >= 0 && delay <= retryDelayCeiling(policy, attempt), `${delay}`)
        },
      ),
    )
  })

  test('with the real Math.random too', () => {
    for (let i = 0; i < 1_000; i++) {
      const attempt = 1 + (i % 9)
      const delay = retryDelay(policy, attempt)
      assert.ok(delay !== null && delay >= 0 && delay <= retryDelayCeiling(policy, attempt))
    }
  })
})

describe('DEFAULT_RETRY_POLICY', () => {
  test('outlasts a weekend: ceilings sum past 48 h, and past 24 h expected with jitter', () => {
    const delays = ceilings(DEFAULT_RETRY_POLICY)
    assert.equal(delays.length, DEFAULT_RETRY_POLICY.maxAttempts - 1)
    const total = delays.reduce((sum, delay) => sum + delay, 0)
    assert.ok(total > 48 * HOUR, `${total / HOUR} h`)
    assert.ok(total / 2 > 24 * HOUR, `${total / 2 / HOUR} h`)
  })

  test('starts quickly: the first retry waits at most 10 s', () => {
    assert.ok(retryDelayCeiling(DEFAULT_RETRY_POLICY, 1) <= 10_000)
  })
})
