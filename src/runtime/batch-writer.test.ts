import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { BatchWriter } from './batch-writer.ts'

function capture() {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
  return { logger, lines }
}

describe('BatchWriter', () => {
  it('returns at once and writes in batches, one write at a time, in order', async () => {
    const batches: number[][] = []
    let writing = 0
    const writer = new BatchWriter<number>(async (batch) => {
      assert.equal(++writing, 1, 'one write at a time')
      await sleep(20)
      batches.push(batch)
      writing -= 1
    }, capture().logger, 'numbers', { flushIntervalMs: 5, maxBatch: 3 })
    const started = performance.now()
    for (let i = 0; i < 7; i++) writer.push(i)
    assert.ok(performance.now() - started < 20, 'push does not wait for the store')
    assert.equal(writer.pending, 7)
    await writer.close()
    assert.deepEqual(batches, [[0, 1, 2], [3, 4, 5], [6]])
    assert.equal(writer.pending, 0)
  })

  it('drops the oldest records beyond maxQueue, counts them and says so once; a failed write loses its batch only', async () => {
    const { logger, lines } = capture()
    let dropped = 0
    const written: number[] = []
    let fail = true
    const writer = new BatchWriter<number>(async (batch) => {
      if (fail) {
        fail = false
        throw new Error('disk full')
      }
      written.push(...batch)
    }, logger, 'numbers', { flushIntervalMs: 50, maxQueue: 2, maxBatch: 1, onDropped: (n) => (dropped += n) })
    for (let i = 0; i < 5; i++) writer.push(i)
    await writer.close()
    assert.equal(dropped, 4, '3 beyond the queue, 1 in the failed write')
    assert.deepEqual(written, [4])
    assert.deepEqual(lines.map((l) => l.msg), ['dropped 3 numbers: the store fell behind', 'could not record numbers; they are lost (nothing else is)'])
  })

  it('writes a full batch waiting behind a write at once, not an interval later', async () => {
    const batches: number[][] = []
    let release!: () => void
    let firstStarted!: () => void
    const started = new Promise<void>((resolve) => (firstStarted = resolve))
    const writer = new BatchWriter<number>(async (batch) => {
      batches.push(batch)
      if (batches.length === 1) {
        firstStarted()
        await new Promise<void>((resolve) => (release = resolve))
      }
    }, capture().logger, 'numbers', { flushIntervalMs: 500, maxBatch: 2 })
    writer.push(1)
    await started
    for (const n of [2, 3, 4]) writer.push(n)
    release()
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(batches, [[1], [2, 3]], 'the second batch went as soon as the first was written')
    await writer.close()
    assert.deepEqual(batches, [[1], [2, 3], [4]])
  })
})
