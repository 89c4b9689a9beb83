import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { HttpError, PermanentError } from './errors.ts'
import { classifyFailure, isPermanentStatus } from './outcome.ts'

/** What a connection throws for a non-2xx answer. */
function statusError(status: number, retryAfterMs?: number): Error {
  return Object.assign(new Error(`target answered ${status}`), { status, retryAfterMs })
}

describe('classifyFailure', () => {
  test('PermanentError and its subclasses are never retried', () => {
    class OrderMissing extends PermanentError {}
    assert.equal(classifyFailure(new PermanentError('order 7 does not exist')).retry, false)
    assert.equal(classifyFailure(new OrderMissing('gone')).retry, false)
    // Even when it also carries a retryable status.
    assert.equal(classifyFailure(Object.assign(new PermanentError('x'), { status: 503 })).retry, false)
  })

  for (const status of [400, 401, 403, 404, 410, 422]) {
    test(`status ${status} is not retried`, () => {
      assert.deepEqual(classifyFailure(statusError(status)), { retry: false, reason: `target answered ${status}` })
      assert.equal(classifyFailure(new HttpError(status, 'x')).retry, false)
      assert.equal(isPermanentStatus(status), true)
    })
  }

  for (const status of [408, 409, 425, 429, 500, 502, 503, 504]) {
    test(`status ${status} is retried`, () => {
      assert.equal(classifyFailure(statusError(status)).retry, true)
      assert.equal(isPermanentStatus(status), false)
    })
  }

  test('retryAfterMs is carried as notBeforeMs', () => {
    assert.deepEqual(classifyFailure(statusError(429, 30_000)), { retry: true, reason: 'retryable', notBeforeMs: 30_000 })
    assert.deepEqual(classifyFailure(statusError(503, 1_500)), { retry: true, reason: 'retryable', notBeforeMs: 1_500 })
  })

  test('a retryAfterMs that is zero, negative or not a number is ignored', () => {
    for (const retryAfterMs of [0, -5, Number.NaN]) {
      assert.deepEqual(classifyFailure(statusError(503, retryAfterMs)), { retry: true, reason: 'retryable' })
    }
    assert.deepEqual(classifyFailure(Object.assign(new Error('x'), { retryAfterMs: '30' })), {
      retry: true,
      reason: 'retryable',
    })
  })

  test('a permanent status wins over retryAfterMs', () => {
    assert.equal(classifyFailure(statusError(400, 5_000)).retry, false)
  })

  test('plain errors and non-Error values are retried', () => {
    for (const thrown of [
      new Error('ECONNREFUSED'),
      new TypeError('x is undefined'),
      'a string',
      42,
      null,
      undefined,
      {},
      { status: '404' },
    ]) {
      assert.deepEqual(classifyFailure(thrown), { retry: true, reason: 'retryable' }, String(thrown))
    }
  })

  test('a non-Error object with a permanent status is not retried', () => {
    assert.equal(classifyFailure({ status: 404 }).retry, false)
  })
})
