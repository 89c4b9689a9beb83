import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ExternalResourceError } from '../../sources/external.ts'
import { jsonForm, receiveError, sendError } from './thread-protocol.ts'

/** What crossing a thread boundary does to a value: the structured clone. */
const across = <T>(value: T): T => structuredClone(value)

describe('errors across the thread boundary', () => {
  it('an ExternalResourceError is one again, with its code, status and data', () => {
    const received = receiveError(across(sendError(new ExternalResourceError('OUT_OF_STOCK', 'sold out', { status: 409, data: { sku_code: 'A' } }))))
    assert.ok(received instanceof ExternalResourceError)
    assert.deepEqual([received.code, received.message, received.status, received.data], ['OUT_OF_STOCK', 'sold out', 409, { sku_code: 'A' }])
  })

  it('any other error keeps its name, message and stack, and is not an ExternalResourceError', () => {
    const thrown = new TypeError('fetch failed')
    const received = receiveError(across(sendError(thrown)))
    assert.ok(!(received instanceof ExternalResourceError))
    assert.deepEqual([received.name, received.message, received.stack], ['TypeError', 'fetch failed', thrown.stack])
  })

  it('a thrown non-Error becomes an Error saying what was thrown', () => {
    assert.equal(receiveError(across(sendError('just a string'))).message, 'just a string')
    assert.equal(receiveError(across(sendError({ code: 42 }))).message, 'non-Error thrown: {"code":42}')
    // A revoked Proxy answers every question with a throw; sending it must not throw.
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    assert.equal(receiveError(across(sendError(proxy))).message, 'non-Error thrown: (a value that cannot be printed)')
  })
})

describe('jsonForm', () => {
  it('carries what the structured clone cannot, as the platform would receive it', () => {
    const answer = { unit_amount_cents: 100, at: new Date(0), toJSON: undefined as unknown, format: () => 'x' }
    assert.throws(() => structuredClone(answer), { name: 'DataCloneError' })
    assert.deepEqual(jsonForm(answer), { unit_amount_cents: 100, at: '1970-01-01T00:00:00.000Z' })
    assert.equal(jsonForm(undefined), undefined)
  })

  it('says why an answer with no JSON form cannot be sent', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    assert.throws(() => jsonForm(cyclic), { name: 'TypeError', message: /cannot be passed from the handler's thread: .*circular/i })
  })
})
