import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { pino } from 'pino'
import type { NewRunLogLine } from '../store/store.ts'
import { createLogger } from './logger.ts'
import { AttemptLog } from './run-log.ts'
import { attemptLogger } from './run-logger.ts'

function destination() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    },
  })
  return { stream, lines }
}

function attempt() {
  const kept: NewRunLogLine[] = []
  return { log: new AttemptLog(7, 1, (line) => kept.push(line)), kept }
}

const bindings = { runId: 7, action: 'order-to-erp', eventId: 'e1', attempt: 1 }

describe('attemptLogger', () => {
  it("writes where the process's logger writes, as before, and keeps info and above in the attempt's log", () => {
    const out = destination()
    const { log, kept } = attempt()
    const logger = attemptLogger(createLogger({ level: 'warn', destination: out.stream }), bindings, log)
    logger.info({ sku: 'A', password: 'hunter2' }, 'order %s sent', 'A-1')
    logger.warn(new Error('ERP slow'))
    logger.debug('not kept anywhere')
    logger.child({ line: 3 }).error('line failed')
    assert.deepEqual(kept.map((l) => [l.level, l.message, l.fields === null ? null : JSON.parse(l.fields)]), [
      ['info', 'order A-1 sent', { sku: 'A', password: '[redacted]' }],
      ['warn', 'ERP slow', { err: { type: 'Error', message: 'ERP slow', stack: kept[1] && JSON.parse(kept[1].fields!).err.stack } }],
      ['error', 'line failed', { line: 3 }],
    ])
    // The process's log is what it was: its level, its bindings, its redaction.
    assert.deepEqual(out.lines.map((l) => [l.level, l.msg, l.runId, l.line]), [[40, 'ERP slow', 7, undefined], [50, 'line failed', 7, 3]])
  })

  it('keeps debug lines too when the process logs them, and writes through a multistream', () => {
    const info = destination()
    const all = destination()
    const root = pino({ level: 'debug' }, pino.multistream([{ level: 'info', stream: info.stream }, { level: 'debug', stream: all.stream }]))
    const { log, kept } = attempt()
    const logger = attemptLogger(root, bindings, log)
    logger.debug('checking stock')
    logger.info('order sent')
    assert.deepEqual(kept.map((l) => [l.level, l.message]), [['debug', 'checking stock'], ['info', 'order sent']])
    assert.deepEqual(info.lines.map((l) => l.msg), ['order sent'])
    assert.deepEqual(all.lines.map((l) => l.msg), ['checking stock', 'order sent'])
  })

  it('keeps the lines of a silent process logger all the same', () => {
    const { log, kept } = attempt()
    attemptLogger(pino({ level: 'silent' }), bindings, log).info({ n: 1 }, 'kept')
    assert.deepEqual(kept.map((l) => [l.message, l.fields]), [['kept', '{"n":1}']])
  })
})
