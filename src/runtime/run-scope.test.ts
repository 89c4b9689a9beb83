import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { OutboundCall } from '../connections/connection.ts'
import { AttemptLog } from './run-log.ts'
import { recordOutboundCall, recordingCalls, runInScope, type RunScope } from './run-scope.ts'

describe('run scopes', () => {
  it('records outbound calls for the run making them, through the deps connections are created with', async () => {
    const calls: OutboundCall[] = []
    const scope: RunScope = { log: new AttemptLog(1, 1, () => {}), outbound: (call) => calls.push(call) }
    const reported: unknown[] = []
    const deps = recordingCalls({ onCall: (call) => reported.push(call) })
    const call = { connection: 'erp', method: 'GET', url: 'http://erp/x', status: 200, durationMs: 3 }
    runInScope(scope, () => deps.onCall!(call))
    deps.onCall!({ ...call, url: 'http://erp/outside' })
    recordOutboundCall(call)
    assert.deepEqual(calls, [call])
    assert.equal(reported.length, 2, 'the hook given still gets every call')
    assert.equal(typeof recordingCalls({}).onCall, 'function')
  })
})
