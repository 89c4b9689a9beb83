/**
 * The timekeeper on an injected clock: which ticks fire, when, and what happens when storing a
 * tick fails or takes long. Nothing here waits on real time.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MAX_TIMER_MS } from './subscriptions.ts'
import { Timekeeper, type Clock, type CronJob } from './cron.ts'

/** A clock that moves only when told; timers fire in time order as it passes them. */
class ManualClock implements Clock {
  time: number
  readonly timers = new Set<{ at: number; fire: () => void }>()
  /** Every delay asked for, to check none exceeds what Node can set. */
  readonly requested: number[] = []
  /** How late each timer fires (Node fires at or after its time, never before). */
  lateness = 0
  constructor(iso: string) {
    this.time = Date.parse(iso)
  }
  now() {
    return this.time
  }
  setTimer(fire: () => void, ms: number) {
    this.requested.push(ms)
    const timer = { at: this.time + ms, fire }
    this.timers.add(timer)
    return () => this.timers.delete(timer)
  }
  /** Moves to `iso`, firing each timer due on the way, and letting what it starts settle. */
  async advanceTo(iso: string) {
    const end = Date.parse(iso)
    for (;;) {
      await settle()
      const next = [...this.timers].sort((a, b) => a.at - b.at)[0]
      if (!next || next.at + this.lateness > end) break
      this.timers.delete(next)
      this.time = Math.max(this.time, next.at + this.lateness)
      next.fire()
    }
    this.time = end
    await settle()
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

function keeper(jobs: CronJob[], clock: ManualClock, fire?: (job: CronJob, tick: Date) => Promise<void>) {
  const fired: string[] = []
  const logs: { level: string; message: string; fields: Record<string, unknown> }[] = []
  const log = (level: string) => (fields: Record<string, unknown>, message: string) => logs.push({ level, message, fields })
  const timekeeper = new Timekeeper({
    jobs,
    clock,
    logger: { warn: log('warn'), error: log('error') } as never,
    fire: async (job, tick) => {
      await fire?.(job, tick)
      fired.push(`${job.action}@${tick.toISOString()}`)
    },
  })
  return { timekeeper, fired, logs }
}

const job = (pattern: string, extra: Partial<CronJob> = {}): CronJob => ({ action: 'job', pattern, catchUp: false, ...extra })

describe('Timekeeper', () => {
  it('fires each tick at its scheduled instant, without drift however late its timer goes off', async () => {
    const clock = new ManualClock('2025-03-01T10:00:00.400Z')
    clock.lateness = 370 // every timer late: ticks must still be the schedule's, not now + interval
    const { timekeeper, fired } = keeper([job('* * * * * *'), job('*/2 * * * * *', { action: 'even' })], clock)
    timekeeper.start()
    await clock.advanceTo('2025-03-01T10:00:05.000Z')
    assert.deepEqual(fired.filter((f) => f.startsWith('job@')), [
      'job@2025-03-01T10:00:01.000Z',
      'job@2025-03-01T10:00:02.000Z',
      'job@2025-03-01T10:00:03.000Z',
      'job@2025-03-01T10:00:04.000Z',
    ])
    assert.deepEqual(fired.filter((f) => f.startsWith('even@')), ['even@2025-03-01T10:00:02.000Z', 'even@2025-03-01T10:00:04.000Z'])
    await timekeeper.stop()
  })

  it('does not replay missed ticks at start, unless catchUp, which fires the most recent one once', async () => {
    const clock = new ManualClock('2025-03-01T10:07:30.000Z')
    const { timekeeper, fired } = keeper([job('*/5 * * * *'), job('*/5 * * * *', { action: 'catching', catchUp: true })], clock)
    timekeeper.start()
    await clock.advanceTo('2025-03-01T10:10:00.000Z')
    assert.deepEqual(fired, ['catching@2025-03-01T10:05:00.000Z', 'job@2025-03-01T10:10:00.000Z', 'catching@2025-03-01T10:10:00.000Z'])
    await timekeeper.stop()
  })

  it('with catchUp, counts a tick at exactly the start instant once, as the missed one', async () => {
    const clock = new ManualClock('2025-03-01T10:05:00.000Z')
    const { timekeeper, fired } = keeper([job('*/5 * * * *', { catchUp: true })], clock)
    timekeeper.start()
    await clock.advanceTo('2025-03-01T10:10:00.000Z')
    assert.deepEqual(fired, ['job@2025-03-01T10:05:00.000Z', 'job@2025-03-01T10:10:00.000Z'])
    await timekeeper.stop()
  })

  it('reads the pattern in the given time zone', async () => {
    const clock = new ManualClock('2025-01-15T00:00:00.000Z')
    const { timekeeper, fired } = keeper([job('0 9 * * *', { timezone: 'America/New_York' })], clock)
    timekeeper.start()
    await clock.advanceTo('2025-01-16T00:00:00.000Z')
    assert.deepEqual(fired, ['job@2025-01-15T14:00:00.000Z'])
    await timekeeper.stop()
  })

  it('waits for a tick months away in timers Node can set, and fires it only at its time', async () => {
    const clock = new ManualClock('2025-01-01T00:00:00.000Z')
    const { timekeeper, fired } = keeper([job('0 0 1 7 *')], clock) // 1 July, 181 days away
    timekeeper.start()
    await clock.advanceTo('2025-06-30T23:59:59.000Z')
    assert.deepEqual(fired, [])
    await clock.advanceTo('2025-07-01T00:00:00.000Z')
    assert.deepEqual(fired, ['job@2025-07-01T00:00:00.000Z'])
    assert.ok(clock.requested.every((ms) => ms > 0 && ms <= MAX_TIMER_MS), 'no timer longer than Node can set')
    await timekeeper.stop()
  })

  it('tries a tick it could not store again with backoff, and gives up on it when the next is due', async () => {
    const clock = new ManualClock('2025-03-01T10:00:30.000Z')
    let failing = true
    const tries: string[] = []
    const { timekeeper, fired, logs } = keeper([job('* * * * *')], clock, async (_job, tick) => {
      tries.push(`${tick.toISOString()} at ${new Date(clock.now()).toISOString()}`)
      if (failing) throw new Error('database is down')
    })
    timekeeper.start()
    await clock.advanceTo('2025-03-01T10:01:10.000Z')
    // 1 s, 2 s, 4 s, 8 s, 16 s after the tick; the next try (32 s → 30 s) would pass the next tick.
    assert.deepEqual(tries, [
      '2025-03-01T10:01:00.000Z at 2025-03-01T10:01:00.000Z',
      '2025-03-01T10:01:00.000Z at 2025-03-01T10:01:01.000Z',
      '2025-03-01T10:01:00.000Z at 2025-03-01T10:01:03.000Z',
      '2025-03-01T10:01:00.000Z at 2025-03-01T10:01:07.000Z',
    ])
    await clock.advanceTo('2025-03-01T10:01:59.000Z')
    assert.equal(tries.length, 6)
    assert.match(logs.at(-1)!.message, /before the next one was due; it is skipped/)
    failing = false
    await clock.advanceTo('2025-03-01T10:02:00.000Z')
    assert.deepEqual(fired, ['job@2025-03-01T10:02:00.000Z'])
    await timekeeper.stop()
  })

  it('skips, with a warning, ticks that passed while a slow store was storing the previous one', async () => {
    const clock = new ManualClock('2025-03-01T10:00:00.500Z')
    let release = () => {}
    const { timekeeper, fired, logs } = keeper([job('* * * * * *')], clock, (_job, tick) =>
      tick.getSeconds() === 1 ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve(),
    )
    timekeeper.start()
    await clock.advanceTo('2025-03-01T10:00:03.500Z') // the store hangs on 10:00:01 until now
    release()
    await clock.advanceTo('2025-03-01T10:00:04.000Z')
    assert.deepEqual(fired, ['job@2025-03-01T10:00:01.000Z', 'job@2025-03-01T10:00:04.000Z'])
    const warning = logs.find((l) => l.level === 'warn')!
    assert.deepEqual([warning.fields.from, warning.fields.until], ['2025-03-01T10:00:02.000Z', '2025-03-01T10:00:04.000Z'])
    await timekeeper.stop()
  })

  it('stops firing at stop, after the tick being stored is stored', async () => {
    const clock = new ManualClock('2025-03-01T10:00:00.500Z')
    let release = () => {}
    const { timekeeper, fired } = keeper([job('* * * * * *')], clock, () => new Promise<void>((resolve) => (release = resolve)))
    timekeeper.start()
    await clock.advanceTo('2025-03-01T10:00:01.000Z')
    let stopped = false
    const stopping = timekeeper.stop().then(() => (stopped = true))
    await settle()
    assert.equal(stopped, false, 'waits for the tick in flight')
    release()
    await stopping
    assert.deepEqual(fired, ['job@2025-03-01T10:00:01.000Z'])
    assert.equal(clock.timers.size, 0, 'no timer left')
    await clock.advanceTo('2025-03-01T10:00:05.000Z')
    assert.equal(fired.length, 1)
  })
})
