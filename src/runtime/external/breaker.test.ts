import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BreakerMirror } from './breaker.ts'

const mirror = (counts: 'errors' | 'server-errors' = 'errors') => new BreakerMirror({ warnAt: 10, openAbove: 30, counts, platformTimeoutMs: 3000 })

describe('BreakerMirror', () => {
  it('warns at 10 consecutive failures and presumes the circuit open above 30', () => {
    const breaker = mirror()
    const transitions = Array.from({ length: 31 }, (_, i) => breaker.record(422, 5, i))
    assert.equal(transitions.indexOf('warned'), 9)
    assert.equal(transitions.indexOf('opened'), 30)
    assert.equal(transitions.filter(Boolean).length, 2)
    assert.equal(breaker.state, 'open')
    assert.equal(breaker.status().consecutiveFailures, 31)
  })

  it('resets on the first success, and a call while open means the platform reset its circuit', () => {
    const breaker = mirror()
    for (let i = 0; i < 12; i++) breaker.record(500, 5, i)
    assert.equal(breaker.state, 'warning')
    assert.equal(breaker.record(200, 5, 99), 'recovered')
    assert.equal(breaker.state, 'closed')
    for (let i = 0; i < 31; i++) breaker.record(500, 5, i)
    assert.equal(breaker.record(500, 5, 100), 'reset-by-platform')
    assert.equal(breaker.status().consecutiveFailures, 1)
  })

  it('counts 4xx only with counts: errors; answers later than the platform timeout always', () => {
    const lenient = mirror('server-errors')
    lenient.record(422, 5, 0)
    assert.equal(lenient.status().consecutiveFailures, 0)
    lenient.record(200, 3001, 1)
    lenient.record(503, 5, 2)
    assert.equal(lenient.status().consecutiveFailures, 2)
    assert.equal(mirror().isFailure(202, 10), false)
  })
})
