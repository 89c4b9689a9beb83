import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HttpError } from '../core/errors.ts'
import type { NewRunLogLine } from '../store/store.ts'
import { AttemptLog, levelsFrom, runLogFilter } from './run-log.ts'

function attemptLog(limits = { linesPerAttempt: 4, lineLength: 20 }) {
  const lines: NewRunLogLine[] = []
  return { log: new AttemptLog(7, 2, (line) => lines.push(line), limits), lines }
}

describe('AttemptLog', () => {
  it('keeps lines with their run, attempt and level, fields redacted by name and text by shape', () => {
    const { log, lines } = attemptLog({ linesPerAttempt: 10, lineLength: 200 })
    log.add('info', 'order sent', { sku: 'A', customer: { password: 'hunter2' }, url: 'https://erp/x?token=abc' })
    log.add('warn', 'retry with password=hunter2', {})
    assert.deepEqual(lines.map(({ at: _, ...line }) => line), [
      { runId: 7, attempt: 2, level: 'info', message: 'order sent', fields: '{"sku":"A","customer":{"password":"[redacted]"},"url":"https://erp/x?token=[redacted]"}' },
      { runId: 7, attempt: 2, level: 'warn', message: 'retry with password=[redacted]', fields: null },
    ])
  })

  it('splits console output into lines, keeps a partial one until its newline or the end', () => {
    const { log, lines } = attemptLog({ linesPerAttempt: 10, lineLength: 200 })
    log.write('stdout', 'one\ntw')
    log.write('stderr', 'err\r\n')
    log.write('stdout', 'o\nthr')
    assert.deepEqual(lines.map((l) => [l.level, l.message]), [['stdout', 'one'], ['stderr', 'err'], ['stdout', 'two']])
    log.end()
    assert.deepEqual(lines.at(-1)!.message, 'thr')
    log.add('info', 'after the end')
    log.write('stdout', 'late\n')
    assert.equal(lines.length, 4, 'what comes after the attempt is not kept')
    assert.equal(log.ended, true)
  })

  it('caps the lines of an attempt, then says how many were dropped; clips long messages and fields', () => {
    const { log, lines } = attemptLog()
    log.add('info', 'x'.repeat(25), { blob: 'y'.repeat(30) })
    for (let i = 0; i < 9; i++) log.add('debug', `line ${i}`)
    log.end()
    assert.equal(lines.length, 5)
    assert.equal(lines[0]!.message, `${'x'.repeat(20)}… (5 more characters)`)
    assert.deepEqual(JSON.parse(lines[0]!.fields!), { truncated: `{"blob":"yyyyyyyyyyy… (21 more characters)` })
    assert.deepEqual(lines.slice(1, 4).map((l) => l.message), ['line 0', 'line 1', 'line 2'])
    assert.deepEqual([lines[4]!.level, lines[4]!.message], ['warn', '… 6 more lines dropped (at most 4 lines are kept per attempt)'])
  })

  it('cuts a huge console write without a newline into lines of the maximum length', () => {
    const { log, lines } = attemptLog({ linesPerAttempt: 10, lineLength: 20 })
    log.write('stdout', 'z'.repeat(30))
    assert.equal(lines.length, 1)
    assert.equal(lines[0]!.message, `${'z'.repeat(20)}… (10 more characters)`)
  })
})

describe('run log filters', () => {
  it('selects a level and above, console output ranked as info (stdout) and warn (stderr)', () => {
    assert.deepEqual(levelsFrom('warn'), ['warn', 'stderr', 'error', 'fatal'])
    assert.deepEqual(levelsFrom('info'), ['info', 'stdout', 'warn', 'stderr', 'error', 'fatal'])
    assert.deepEqual(levelsFrom('stdout'), ['stdout'])
    assert.equal(levelsFrom('loud'), undefined)
  })

  it('reads the query parameters, refusing bad ones with a 400 that names them', () => {
    assert.deepEqual(runLogFilter(7, { q: 'erp', level: 'error', attempt: '2', after: '10', limit: '5000' }), {
      runId: 7,
      contains: 'erp',
      levels: ['error', 'fatal'],
      attempt: 2,
      afterSeq: 10,
      limit: 1000,
    })
    assert.deepEqual(runLogFilter(7, { q: '', level: '' }), { runId: 7, limit: 1000 })
    // 0 is the store's default page size, so a full page of it still links to the next one.
    assert.deepEqual(runLogFilter(7, { limit: '0' }), { runId: 7, limit: 50 })
    for (const [query, message] of [[{ level: 'loud' }, /^level: expected one of trace, debug/], [{ attempt: '-1' }, /^attempt: expected a non-negative integer/], [{ after: '1e3' }, /^after:/]] as const) {
      assert.throws(() => runLogFilter(7, query), (error: unknown) => error instanceof HttpError && error.status === 400 && message.test(error.message))
    }
  })
})
