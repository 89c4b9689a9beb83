import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatLogLine } from './pretty.ts'

const at = new Date(2026, 0, 2, 10, 3, 4, 512).getTime()
const line = (fields: Record<string, unknown>) => JSON.stringify({ level: 30, time: at, pid: 1, hostname: 'h', name: 'storehook', ...fields })

describe('formatLogLine', () => {
  it('turns a pino line into time, level, message and its fields, bare or as JSON', () => {
    assert.equal(
      formatLogLine(line({ msg: 'order sent to the ERP', entityId: 42, action: 'order-to-erp', note: 'two words', call: { status: 200 } }), { color: false }),
      '10:03:04.512 INFO  order sent to the ERP entityId=42 action=order-to-erp note="two words" call={"status":200}',
    )
  })

  it('puts an error’s stack under its line', () => {
    const text = formatLogLine(line({ level: 50, msg: 'attempt failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at run (a.ts:1:1)' } }), { color: false })
    assert.equal(text, '10:03:04.512 ERROR attempt failed\n    Error: boom\n        at run (a.ts:1:1)')
  })

  it('leaves what is not a log line as it is (an action’s console.log)', () => {
    assert.equal(formatLogLine('hello from an action', { color: false }), 'hello from an action')
    assert.equal(formatLogLine('{"not": "a log line"}', { color: false }), '{"not": "a log line"}')
    assert.equal(formatLogLine('{broken', { color: false }), '{broken')
  })

  it('colours the level when asked', () => {
    assert.match(formatLogLine(line({ level: 40, msg: 'careful' }), { color: true }), /\x1b\[33mWARN \x1b\[0m careful/)
  })
})
