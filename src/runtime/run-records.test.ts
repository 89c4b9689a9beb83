import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { pino } from 'pino'
import type { NewOutboundCall, NewRunLogLine, Store } from '../store/store.ts'
import { RunRecorder } from './run-records.ts'

const logger = pino({ level: 'silent' })
const call = { connection: 'erp', method: 'POST', url: 'http://erp/orders?access_token=[redacted]', status: 502, durationMs: 250, error: 'erp answered 502' }

describe('RunRecorder', () => {
  it("queues an attempt's lines and outbound calls for the store, until the attempt ends", async () => {
    const lines: NewRunLogLine[] = []
    const calls: NewOutboundCall[] = []
    const store = { recordRunLogs: async (batch: NewRunLogLine[]) => void lines.push(...batch), recordOutboundCalls: async (batch: NewOutboundCall[]) => void calls.push(...batch) }
    const records = new RunRecorder(store as unknown as Store, logger, { linesPerAttempt: 2 })
    const recording = records.begin(7, 3)
    recording.log.add('info', 'first')
    recording.log.add('info', 'second')
    recording.log.add('info', 'third')
    recording.outbound(call)
    recording.end()
    recording.outbound(call)
    await records.close()
    assert.deepEqual(lines.map((l) => [l.runId, l.attempt, l.message]), [[7, 3, 'first'], [7, 3, 'second'], [7, 3, '… 1 more line dropped (at most 2 lines are kept per attempt)']])
    assert.equal(calls.length, 1, 'a call made after the attempt ended is not kept')
    const { startedAt, ...rest } = calls[0]!
    assert.deepEqual(rest, { runId: 7, attempt: 3, ...call, traceId: null })
    assert.ok(Math.abs(startedAt - (Date.now() - 250)) < 5_000)
  })

  it('records nothing on a store without the methods, and the run goes on', async () => {
    const records = new RunRecorder({} as Store, logger)
    const recording = records.begin(1, 1)
    recording.log.add('info', 'nowhere to go')
    recording.outbound(call)
    recording.end()
    await records.close()
  })

  it('counts what a failing store could not take, lines and calls alike', async () => {
    let dropped = 0
    const failing = async () => {
      throw new Error('disk full')
    }
    const records = new RunRecorder({ recordRunLogs: failing, recordOutboundCalls: failing } as unknown as Store, logger, {}, { onDropped: (n) => (dropped += n) })
    const recording = records.begin(1, 1)
    recording.log.add('info', 'lost')
    recording.log.add('info', 'lost too')
    recording.outbound(call)
    recording.end()
    await records.close()
    assert.equal(dropped, 3)
  })
})
