import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { traceOutbound } from './trace.ts'

// With an SDK registered, test/tracing.test.ts checks the span and the header end to end.
describe('traceOutbound without an OpenTelemetry SDK', () => {
  it('adds no header and throws nothing, whatever the outcome', () => {
    const headers = new Headers({ 'content-type': 'application/json' })
    const span = traceOutbound('erp', 'POST', new URL('http://erp.example/orders?access_token=x'), headers)
    span.end({ status: 503, error: 'erp answered 503' })
    span.end({ status: null, error: 'timed out', errorType: 'timeout' })
    assert.deepEqual([...headers.keys()], ['content-type'])
  })
})
