import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { pino, type Logger } from 'pino'
import type { Run } from '../core/types.ts'
import type { Store } from '../store/store.ts'
import { AttemptContext } from './attempt-context.ts'
import { ExternalHandlerContext, type LoadedExternal } from './external/load.ts'
import type { LoadedAction } from './subscriptions.ts'

/** A factory that counts how often it is asked for the logger. */
function countingLogger(): { make: () => Logger; calls: () => number } {
  const logger = pino({ enabled: false })
  let calls = 0
  return { make: () => (calls++, logger), calls: () => calls }
}

// Both contexts keep `logger` as a getter on their prototype, never as an own accessor: object
// literals with a `get logger()` closure kept every attempt's and every call's objects alive
// through V8's young-generation GCs (10–50 ms pauses; see attempt-context.ts).
describe('AttemptContext', () => {
  const run = { id: 7, attempts: 2, maxAttempts: 25, source: 'webhooks', eventId: 'msg_1' } as Run
  const action = { name: 'to-erp' } as LoadedAction
  const make = (logger: () => Logger) =>
    new AttemptContext({ store: {} as Store, actions: [], connections: { erp: 1 }, action, run, signal: new AbortController().signal, logger, remembered: [], wake: () => {} })

  it("carries the run's fields, and makes the logger only when it is read", () => {
    const factory = countingLogger()
    const ctx = make(factory.make)
    assert.deepEqual([ctx.runId, ctx.attempt, ctx.maxAttempts, ctx.idempotencyKey, ctx.connections], [7, 2, 25, 'to-erp:webhooks:msg_1', { erp: 1 }])
    assert.equal(factory.calls(), 0)
    assert.equal(typeof ctx.logger.info, 'function')
    assert.equal(factory.calls(), 1)
  })

  it('reads logger through one getter on the prototype, not an accessor of its own', () => {
    const ctx = make(countingLogger().make)
    assert.equal(Object.getOwnPropertyDescriptor(ctx, 'logger'), undefined)
    assert.equal(typeof Object.getOwnPropertyDescriptor(AttemptContext.prototype, 'logger')?.get, 'function')
  })
})

describe('ExternalHandlerContext', () => {
  const resource = { name: 'price' } as LoadedExternal
  const call = (logger: () => Logger) => ({ signal: new AbortController().signal, deadline: 1_000, inputDigest: 'ab12', logger, connections: {} })

  it("carries the kind's fields as its own, then the runtime's, and makes the logger only when it is read", () => {
    const factory = countingLogger()
    const ctx = new ExternalHandlerContext(resource, { meta: { mode: 'test' }, deadline: 'not the kind’s to set' }, call(factory.make))
    assert.deepEqual((ctx as unknown as { meta: unknown }).meta, { mode: 'test' })
    assert.deepEqual([ctx.resource, ctx.deadline, ctx.inputDigest], ['price', 1_000, 'ab12'])
    assert.equal(factory.calls(), 0)
    assert.equal(typeof ctx.logger.warn, 'function')
    assert.equal(factory.calls(), 1)
    assert.equal(Object.getOwnPropertyDescriptor(ctx, 'logger'), undefined)
  })
})
