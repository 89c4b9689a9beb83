import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { coerceError } from './errors.ts'

describe('coerceError', () => {
  test('keeps an Error, wraps anything else with the original as cause', () => {
    const error = new TypeError('x')
    assert.equal(coerceError(error), error)
    assert.equal(coerceError('boom').message, 'boom')
    const wrapped = coerceError({ code: 42 })
    assert.equal(wrapped.message, 'non-Error thrown: {"code":42}')
    assert.deepEqual(wrapped.cause, { code: 42 })
  })

  test('never throws itself, whatever it is given', () => {
    const bare = Object.assign(Object.create(null), { n: 1n })
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    for (const thrown of [bare, proxy, undefined, null, Symbol('s')]) {
      assert.ok(coerceError(thrown) instanceof Error)
    }
    assert.match(coerceError(bare).message, /cannot be printed/)
  })
})
