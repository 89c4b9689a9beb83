/**
 * @module
 * The expunge half of the retention contract (contract-retention.ts runs it): what an expunge by
 * customer email and by order id removes from every table, the audit record it leaves, dry runs,
 * and that a second expunge of the same subject finds nothing.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { eventWithRun } from './contract-fixtures.ts'
import { ENDED_BY_EXPUNGE } from './expunge-plan.ts'
import { expunge } from './expunge-run.ts'
import { subjectDigest, type ExpungeSubject } from './expunge-subject.ts'
import { isPayloadRemovedError } from './retention.ts'
import type { NewRunLogLine, Store } from './store.ts'

const EMAIL: ExpungeSubject = { kind: 'customer-email', value: 'Ann.Lee@Example.com' }

const log = (runId: number, message: string, fields: object | null = null): NewRunLogLine => ({
  runId, attempt: 1, at: Date.now(), level: 'info', message, fields: fields && JSON.stringify(fields),
})
const outbound = (runId: number, url: string) => ({
  runId, attempt: 1, connection: 'erp', method: 'GET', url, status: 200, startedAt: Date.now(), durationMs: 2, error: null, traceId: null,
})

/** Everything the store shows about its runs and events, as one text, to look for the subject in. */
async function everything(store: Store): Promise<string> {
  const runs = await store.listRuns({ limit: 1000 })
  const perRun = await Promise.all(runs.map(async (run) => [
    await store.listAttempts(run.id), await store.listSteps(run.id), await store.listRunLogs!({ runId: run.id }),
    await store.listOutboundCalls!({ runId: run.id }),
  ]))
  return JSON.stringify([await store.listEvents({ limit: 1000 }), runs, perRun, await store.listActivations!({}), await store.listExternalCalls!({})])
}

export function describeExpungeContract(withStore: (body: (store: Store) => Promise<void>) => Promise<void>): void {
  it('expunges a customer email from every table, leaves an audit record with its digest, and a dry run changes nothing', () =>
    withStore(async (store) => {
      const x = await eventWithRun(store, 'a', { outcome: 'succeeded' }, { order_id: 'ord_1001', customer: { email: 'Ann.Lee@Example.com', name: 'Ann Lee' } })
      await store.saveStep({ runId: x.runId, name: 'send', attempt: 1, result: '{"erp":"E-1"}', finishedAt: Date.now() })
      const z = await eventWithRun(store, 'z', null, { email: 'ann.lee@example.com' }, 'customer.updated')
      const y = await eventWithRun(store, 'keep', null, { customer: { email: 'bob@example.com' } })
      await store.saveStep({ runId: y.runId, name: 'lookup', attempt: 1, result: '{"email":"ann.lee@example.com"}', finishedAt: Date.now() })
      await store.saveStep({ runId: y.runId, name: 'other', attempt: 1, result: '{"ok":true}', finishedAt: Date.now() })
      const w = await eventWithRun(store, 'a', { outcome: 'dead', error: new Error('ERP refused ann.lee@example.com') }, { n: 1 })
      await store.recordRunLogs!([
        log(x.runId, 'mailed ann.lee@example.com', { to: 'ANN.LEE@example.com', n: 1 }),
        log(y.runId, 'looked up ann.lee@example.com for bob@example.com'),
        log(y.runId, 'nothing to see'),
      ])
      await store.recordOutboundCalls!([outbound(x.runId, 'http://erp/customers?email=ann.lee%40example.com'), outbound(y.runId, 'http://erp/customers?email=bob%40example.com')])
      const activation = (activationId: string, runId: number | null, logs: string[]) => ({
        activationId, action: 'app/x', cause: 'event', start: Date.now(), end: Date.now(), status: 'success', result: { body: 'done' }, logs, leftWork: false, runId, attempt: runId && 1,
      })
      await store.recordActivation!(activation('of-x', x.runId, ['stdout: hi']))
      await store.recordActivation!(activation('web', null, ['stdout: hello ANN.LEE@example.com']))
      const call = (answer: string) => ({ resource: 'validate', kind: 'commerce-layer/order-validation', startedAt: Date.now(), durationMs: 1, inputDigest: 'd',
        status: 200, outcome: 'answered' as const, fallback: 'none' as const, answer, error: null })
      await store.recordExternalCalls!([call('{"errors":[{"detail":"ann.lee@example.com is blocked"}]}'), call('{"success":true}')])

      const before = await everything(store)
      const dryRun = await expunge(store, EMAIL, { requestedBy: 'cli', dryRun: true })
      assert.equal(dryRun.id, null)
      assert.deepEqual(dryRun.removed.counts, { events: 2, runs: 1, attempts: 1, steps: 2, run_logs: 2, outbound_calls: 1, activations: 2, external_calls: 1 })
      assert.deepEqual(dryRun.removed.endedRuns, [z.runId])
      assert.equal(await everything(store), before, 'a dry run changes nothing')
      assert.deepEqual(await store.listExpunges({}), [], 'and writes no audit record')

      const report = await expunge(store, EMAIL, { requestedBy: 'cli' })
      assert.deepEqual(report.removed.counts, dryRun.removed.counts, 'it removed what the dry run said')
      assert.doesNotMatch(await everything(store), /ann\.lee(@|%40)example\.com/i)

      for (const removed of [x, z]) {
        const event = (await store.getEvent('shop', removed.id))!
        assert.deepEqual([event.payload, event.headers, typeof event.payloadRemovedAt], [{}, {}, 'number'])
      }
      const ended = (await store.getRun(z.runId))!
      assert.deepEqual([ended.state, ended.lastError], ['dead', ENDED_BY_EXPUNGE], 'an unfinished run cannot go on without its payload')
      await assert.rejects(store.replayRun(x.runId), isPayloadRemovedError)
      assert.deepEqual((await store.getEvent('shop', y.id))!.payload, { customer: { email: 'bob@example.com' } }, 'other events are kept')
      assert.equal((await store.getRun(y.runId))!.state, 'pending')
      assert.deepEqual((await store.getEvent('shop', w.id))!.payload, { n: 1 })
      assert.equal((await store.getRun(w.runId))!.lastError, 'ERP refused [expunged]')
      assert.deepEqual(await store.listSteps(x.runId), [], "the steps of the subject's own runs")
      assert.deepEqual((await store.listSteps(y.runId)).map((s) => s.name), ['other'])
      assert.deepEqual((await store.listRunLogs!({ runId: y.runId })).map((l) => l.message), ['looked up [expunged] for bob@example.com', 'nothing to see'])
      assert.deepEqual((await store.listRunLogs!({ runId: x.runId }))[0]!.fields, { to: '[expunged]', n: 1 })
      assert.deepEqual((await store.listOutboundCalls!({ runId: x.runId })).map((c) => c.url), ['http://erp/customers?email=[expunged]'])
      assert.deepEqual((await store.getActivation!('of-x'))!.result, {}, "an own run's activation result is emptied")
      assert.deepEqual((await store.getActivation!('web'))!.logs, ['stdout: hello [expunged]'])

      const [record] = await store.listExpunges({})
      const { dryRun: _, ...written } = report
      assert.deepEqual(record, written)
      assert.equal(record!.subjectDigest, subjectDigest(EMAIL))
      assert.deepEqual([record!.requestedBy, record!.subjectKind], ['cli', 'customer-email'])
      assert.deepEqual(record!.removed.events.map((e) => e.id).sort(), [x.id, z.id].sort())
      assert.doesNotMatch(JSON.stringify(record), /ann|lee/i, 'the audit record holds a digest, not the email')

      const again = await expunge(store, { kind: 'customer-email', value: 'ann.lee@example.com' }, { requestedBy: 'admin-api' })
      assert.ok(Object.values(again.removed.counts).every((n) => n === 0), `a second expunge finds nothing: ${JSON.stringify(again.removed.counts)}`)
      assert.deepEqual([again.removed.events, again.removed.endedRuns], [[], []])
      assert.deepEqual((await store.listExpunges({ subjectDigest: subjectDigest(EMAIL) })).map((r) => r.id), [again.id, record!.id])
      assert.deepEqual((await store.listExpunges({ limit: 1 })).map((r) => r.id), [again.id])
      assert.deepEqual(await store.listExpunges({ subjectDigest: subjectDigest({ kind: 'customer-email', value: 'bob@example.com' }) }), [])
    }))

  it('expunges an order by its id as a JSON value, not a longer number nor another entity with that id', () =>
    withStore(async (store) => {
      const order = await eventWithRun(store, 'a', { outcome: 'succeeded' },
        { entity_id: 42, increment_id: '000000042', addresses: [{ entity_id: 83, parent_id: 42 }] }, 'observer.sales_order_save_after')
      const other = await eventWithRun(store, 'a', { outcome: 'succeeded' }, { entity_id: 421, increment_id: '0000000421' }, 'observer.sales_order_save_after')
      const product = await eventWithRun(store, 'a', { outcome: 'succeeded' }, { entity_id: 42, sku: 'WS12' }, 'observer.catalog_product_save_after')
      await store.recordRunLogs!([
        log(order.runId, 'ERP accepted 000000042'),
        log(other.runId, 'ERP accepted 0000000421'),
        log(other.runId, 'looked up order 000000042 too'),
      ])
      await store.recordOutboundCalls!([outbound(other.runId, 'http://shop/rest/V1/orders/000000042'), outbound(other.runId, 'http://shop/rest/V1/orders/0000000421')])

      const report = await expunge(store, { kind: 'order-id', value: '000000042' }, { requestedBy: 'admin-api' })
      assert.deepEqual(report.removed.events.map((e) => e.id), [order.id])
      assert.deepEqual((await store.getEvent('shop', order.id))!.payload, {})
      assert.deepEqual((await store.getEvent('shop', other.id))!.payload, { entity_id: 421, increment_id: '0000000421' })
      assert.deepEqual((await store.getEvent('shop', product.id))!.payload, { entity_id: 42, sku: 'WS12' })
      assert.deepEqual((await store.listRunLogs!({ runId: order.runId })).map((l) => l.message), ['ERP accepted [expunged]'])
      assert.deepEqual((await store.listRunLogs!({ runId: other.runId })).map((l) => l.message), ['ERP accepted 0000000421', 'looked up order [expunged] too'])
      assert.deepEqual((await store.listOutboundCalls!({ runId: other.runId })).map((c) => c.url), ['http://shop/rest/V1/orders/[expunged]', 'http://shop/rest/V1/orders/0000000421'])
      assert.equal(report.subjectKind, 'order-id')
      assert.equal((await expunge(store, { kind: 'order-id', value: '000000042' }, { requestedBy: 'cli', dryRun: true })).removed.counts.events, 0)
    }))
}
