import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { TokenGuesses } from './token-guesses.ts'

describe('TokenGuesses', () => {
  it('refuses an address from its limit-th failure within the window, until the oldest of them leaves it', () => {
    const guesses = new TokenGuesses({ maxFailures: 3, windowMs: 1000 })
    guesses.failed('10.0.0.1', 0)
    guesses.failed('10.0.0.1', 100)
    assert.equal(guesses.refusedFor('10.0.0.1', 200), 0)
    guesses.failed('10.0.0.1', 200)
    assert.equal(guesses.refusedFor('10.0.0.1', 200), 800)
    assert.equal(guesses.refusedFor('10.0.0.2', 200), 0, 'another address is not affected')
    assert.equal(guesses.refusedFor('10.0.0.1', 999), 1)
    assert.equal(guesses.refusedFor('10.0.0.1', 1000), 0, 'the first failure left the window')
    guesses.failed('10.0.0.1', 1000)
    assert.equal(guesses.refusedFor('10.0.0.1', 1000), 100, 'the second failure leaves next')
  })

  it('counts failures without an address (not served over TCP) under one key', () => {
    const guesses = new TokenGuesses({ maxFailures: 1, windowMs: 1000 })
    guesses.failed(undefined, 0)
    assert.equal(guesses.refusedFor(undefined, 10), 990)
  })

  it('forgets the stalest addresses beyond 10 000, so a flood of addresses costs bounded memory', () => {
    const guesses = new TokenGuesses({ maxFailures: 1, windowMs: 60_000 })
    for (let i = 0; i <= 10_000; i++) guesses.failed(`10.1.${i >> 8}.${i & 255}`, i)
    assert.equal(guesses.refusedFor('10.1.0.0', 20_000), 0, 'the first address was forgotten')
    assert.ok(guesses.refusedFor('10.1.39.16', 20_000) > 0, 'the newest is remembered')
  })
})
