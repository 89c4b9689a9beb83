/**
 * @module
 * The part of the Store contract suite for what a run did: its log lines and its outbound calls.
 * Each store's test file runs it.
 *
 * @example
 * describeRunLogsContract('sqlite', async () => {
 *   const store = openSqliteStore({ path: tempFile() })
 *   return { store, cleanup: () => store.close() }
 * })
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { storeRunner, type StoreFactory } from './contract.ts'
import type { NewOutboundCall, NewRunLogLine, Store } from './store.ts'

const line = (over: Partial<NewRunLogLine> = {}): NewRunLogLine => ({
  runId: 7,
  attempt: 1,
  at: 1_700_000_000_000,
  level: 'info',
  message: 'sending order 42',
  fields: null,
  ...over,
})

const call = (over: Partial<NewOutboundCall> = {}): NewOutboundCall => ({
  runId: 7,
  attempt: 1,
  connection: 'erp',
  method: 'POST',
  url: 'http://127.0.0.1:9/orders?access_token=[redacted]&page=2',
  status: 201,
  startedAt: 1_700_000_000_000,
  durationMs: 12.75,
  error: null,
  traceId: null,
  ...over,
})

export function describeRunLogsContract(name: string, makeStore: StoreFactory): void {
  describe(`Store contract: ${name}: run logs and outbound calls`, () => {
    const withStore = storeRunner(makeStore)

    it("records a run's lines in order and reads them back with their fields parsed", () =>
      withStore(async (store) => {
        await store.recordRunLogs!([
          line({ message: 'first', fields: '{"sku":"A","password":"[redacted]"}' }),
          line({ message: 'second', level: 'stdout', at: 1_700_000_000_001 }),
          line({ runId: 8, message: 'another run' }),
        ])
        await store.recordRunLogs!([line({ attempt: 2, message: 'NUL \u0000 and "quotes" and émojis ✓', level: 'error' })])
        await store.recordRunLogs!([])
        const lines = await store.listRunLogs!({ runId: 7, limit: 100 })
        assert.deepEqual(
          lines.map(({ seq: _, ...rest }) => rest),
          [
            { runId: 7, attempt: 1, at: 1_700_000_000_000, level: 'info', message: 'first', fields: { sku: 'A', password: '[redacted]' } },
            { runId: 7, attempt: 1, at: 1_700_000_000_001, level: 'stdout', message: 'second', fields: null },
            { runId: 7, attempt: 2, at: 1_700_000_000_000, level: 'error', message: lines[2]!.message, fields: null },
          ],
        )
        assert.match(lines[2]!.message, /^NUL . and "quotes" and émojis ✓$/)
        assert.ok(lines[0]!.seq < lines[1]!.seq && lines[1]!.seq < lines[2]!.seq)
        assert.deepEqual(await store.listRunLogs!({ runId: 9 }), [])
      }))

    it('filters lines by attempt, level and text (case-insensitive, in the message or the fields) and pages by seq', () =>
      withStore(async (store) => {
        await store.recordRunLogs!([
          line({ message: 'Calling the ERP', level: 'info' }),
          line({ message: 'ERP answered 503', level: 'warn', fields: '{"status":503}' }),
          line({ message: 'retry later', level: 'stderr', fields: '{"target":"erp-eu"}' }),
          line({ message: '100% done_ok', level: 'debug', attempt: 2 }),
        ])
        const messages = async (filter: object) => (await store.listRunLogs!({ runId: 7, ...filter })).map((l) => l.message)
        assert.deepEqual(await messages({ contains: 'erp' }), ['Calling the ERP', 'ERP answered 503', 'retry later'])
        assert.deepEqual(await messages({ contains: 'ERP', levels: ['warn', 'stderr'] }), ['ERP answered 503', 'retry later'])
        assert.deepEqual(await messages({ contains: '503' }), ['ERP answered 503'])
        // The text is matched as it is: no wildcards.
        assert.deepEqual(await messages({ contains: '0% d' }), ['100% done_ok'])
        assert.deepEqual(await messages({ contains: 'e_o' }), ['100% done_ok'])
        assert.deepEqual(await messages({ contains: '%' }), ['100% done_ok'])
        assert.deepEqual(await messages({ contains: '_' }), ['100% done_ok'])
        assert.deepEqual(await messages({ attempt: 2 }), ['100% done_ok'])
        assert.deepEqual(await messages({ levels: [] }), [])
        const [first, second] = await store.listRunLogs!({ runId: 7, limit: 2 })
        assert.deepEqual(await messages({ afterSeq: second!.seq }), ['retry later', '100% done_ok'])
        assert.deepEqual(await messages({ afterSeq: first!.seq, limit: 1 }), ['ERP answered 503'])
      }))

    it("records a run's outbound calls and reads them back in order", () =>
      withStore(async (store) => {
        const failed = call({ method: 'GET', status: null, durationMs: 30_000, error: 'timed out after 30000 ms \u0000', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' })
        await store.recordOutboundCalls!([call(), call({ runId: 8 }), failed])
        await store.recordOutboundCalls!([call({ attempt: 2, status: 500, error: 'erp answered 500' })])
        await store.recordOutboundCalls!([])
        const calls = await store.listOutboundCalls!({ runId: 7 })
        assert.equal(calls.length, 3)
        assert.deepEqual(({ ...calls[0]!, seq: 0 }), { ...call(), seq: 0 })
        assert.deepEqual({ ...calls[1]!, seq: 0, error: null }, { ...failed, seq: 0, error: null })
        assert.match(calls[1]!.error!, /^timed out after 30000 ms .$/)
        assert.equal(calls[2]!.attempt, 2)
        assert.ok(calls[0]!.seq < calls[1]!.seq && calls[1]!.seq < calls[2]!.seq)
        assert.deepEqual((await store.listOutboundCalls!({ runId: 7, afterSeq: calls[0]!.seq, limit: 1 })).map((c) => c.seq), [calls[1]!.seq])
        assert.deepEqual(await store.listOutboundCalls!({ runId: 9 }), [])
      }))
  })
}
