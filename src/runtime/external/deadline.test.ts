import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { DeadlineExceededError, runUnderDeadline } from './deadline.ts'
import { canonicalJson, inputDigest } from './digest.ts'

describe('runUnderDeadline', () => {
  it('passes a value or an error through', async () => {
    assert.deepEqual(await runUnderDeadline(async () => 7, 1000).outcome, { kind: 'value', value: 7 })
    const thrown = await runUnderDeadline(() => {
      throw new Error('sync')
    }, 1000).outcome
    assert.equal(thrown.kind, 'threw')
    assert.equal(((thrown as { error: Error }).error).message, 'sync')
    assert.equal((await runUnderDeadline(() => Promise.reject('not an Error'), 1000).outcome).kind, 'threw')
  })

  it('times out at the deadline, aborts the signal, and reports a late value later', async () => {
    let signal: AbortSignal | undefined
    const started = performance.now()
    const run = runUnderDeadline(async (s) => {
      signal = s
      await sleep(150)
      return 'late'
    }, 50)
    assert.deepEqual(await run.outcome, { kind: 'timeout' })
    const elapsed = performance.now() - started
    assert.ok(elapsed >= 45 && elapsed < 120, `timed out after ${elapsed} ms`)
    assert.equal(signal!.aborted, true)
    assert.ok(signal!.reason instanceof DeadlineExceededError)
    assert.deepEqual(await run.late, { kind: 'value', value: 'late' })
  })

  it('with no time left, does not start the handler', async () => {
    let ran = false
    assert.deepEqual(await runUnderDeadline(() => (ran = true), 0).outcome, { kind: 'timeout' })
    assert.equal(ran, false)
  })
})

describe('inputDigest', () => {
  it('is independent of key order and honours toJSON', () => {
    assert.equal(inputDigest({ b: 1, a: [2, { d: 3, c: 4 }] }), inputDigest({ a: [2, { c: 4, d: 3 }], b: 1 }))
    assert.notEqual(inputDigest({ a: 1 }), inputDigest({ a: 2 }))
    assert.equal(canonicalJson({ x: { toJSON: () => 'y' }, u: undefined }), '{"x":"y"}')
  })
  it('refuses a cyclic value instead of hanging', () => {
    const cyclic: any = { a: 1 }
    cyclic.self = cyclic
    assert.throws(() => inputDigest(cyclic), /nested more than 64/)
  })
})
