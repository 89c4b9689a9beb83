import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { TargetPausedError } from '../../core/errors.ts'
import { Breaker, type BreakerState } from './breaker.ts'

function breaker(failures = 3, probeAfterMs = 1000) {
  let now = 0
  const changes: BreakerState[] = []
  const b = new Breaker('erp', { failures, probeAfterMs }, { now: () => now, onChange: (state) => changes.push(state) })
  return { b, changes, advance: (ms: number) => (now += ms) }
}

const fail = (b: Breaker) => b.record(b.admit(), 'failure')

describe('Breaker', () => {
  test('opens after N consecutive failures, and refuses calls with TargetPausedError', () => {
    const { b, changes } = breaker(3)
    fail(b)
    fail(b)
    assert.equal(b.state, 'closed')
    fail(b)
    assert.equal(b.state, 'open')
    assert.deepEqual(changes, ['open'])
    const error = (() => {
      try {
        b.admit()
      } catch (thrown) {
        return thrown
      }
    })()
    assert.ok(error instanceof TargetPausedError)
    assert.equal(error.connection, 'erp')
    assert.match(error.message, /^erp: not sent, the connection is paused: its target failed 3 times in a row; a probe goes through in 1000 ms$/)
    assert.throws(() => b.check(), TargetPausedError)
  })

  test('any other answer resets the count', () => {
    const { b } = breaker(3)
    fail(b)
    fail(b)
    b.record(b.admit(), 'success')
    fail(b)
    fail(b)
    assert.equal(b.state, 'closed')
    assert.equal(b.status().consecutiveFailures, 2)
  })

  test('after probeAfterMs exactly one call goes through as the probe; its success closes the breaker', () => {
    const { b, changes, advance } = breaker(1, 1000)
    fail(b)
    advance(999)
    assert.equal(b.state, 'open')
    assert.equal(b.canProbe, false)
    advance(1)
    assert.equal(b.state, 'half-open')
    assert.equal(b.canProbe, true)
    const probe = b.admit()
    assert.equal(probe.probe, true)
    assert.equal(b.canProbe, false)
    assert.throws(() => b.admit(), (error: Error) => error instanceof TargetPausedError && /a probe is in flight/.test(error.message))
    b.record(probe, 'success')
    assert.equal(b.state, 'closed')
    assert.deepEqual(changes, ['open', 'half-open', 'closed'])
    assert.equal(b.admit().probe, false)
  })

  test("a probe's failure opens it again for another probeAfterMs", () => {
    const { b, changes, advance } = breaker(2, 500)
    fail(b)
    fail(b)
    advance(500)
    const probe = b.admit()
    b.record(probe, 'failure')
    assert.equal(b.state, 'open')
    assert.equal(b.status().probeAt, 1000)
    advance(499)
    assert.equal(b.state, 'open')
    advance(1)
    assert.equal(b.state, 'half-open')
    assert.deepEqual(changes, ['open', 'half-open', 'open', 'half-open'])
  })

  test('a probe its caller abandons frees the probe for another call', () => {
    const { b, changes, advance } = breaker(1, 100)
    fail(b)
    advance(100)
    const probe = b.admit()
    b.record(probe, 'neutral')
    assert.equal(b.canProbe, true)
    assert.deepEqual(changes, ['open', 'half-open', 'half-open'])
  })

  test('late results of calls sent before it opened: a failure changes nothing, a success closes it', () => {
    const { b, changes } = breaker(2)
    const early = b.admit()
    const late = b.admit()
    fail(b)
    fail(b)
    b.record(early, 'failure')
    assert.equal(b.state, 'open')
    b.record(late, 'success')
    assert.equal(b.state, 'closed')
    assert.deepEqual(changes, ['open', 'closed'])
  })

  test('says half-open by itself when probeAfterMs has passed, without being asked', async () => {
    const changes: BreakerState[] = []
    const b = new Breaker('erp', { failures: 1, probeAfterMs: 30 }, { onChange: (state) => changes.push(state) })
    fail(b)
    const deadline = Date.now() + 5000
    while (changes.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.deepEqual(changes, ['open', 'half-open'])
  })

  test('a listener that throws does not break the call that moved the breaker', () => {
    const b = new Breaker('erp', { failures: 1, probeAfterMs: 1000 }, { onChange: () => { throw new Error('listener bug') } })
    fail(b)
    assert.equal(b.state, 'open')
  })
})
