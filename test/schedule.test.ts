/**
 * `ctx.schedule` end to end, over real HTTP and a real SQLite file: a follow-up runs after its
 * delay, once, although the run that scheduled it failed after scheduling and was retried;
 * misuse makes the scheduling run dead with a clear reason; and the names of the built-in
 * sources are reserved.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { loadProject } from '../src/runtime/project.ts'
import { eventually, makeProject, sendEvent, start, webhooksConfig } from './helpers.ts'

interface Scheduled {
  attempt: number
  runId: number
  id: string
  runAt: number | null
  duplicate: boolean
  runs: number
  /** When ctx.schedule returned. */
  at: number
}

/** What the actions report. */
const probe = {
  scheduled: [] as Scheduled[],
  checks: [] as { at: number; source: string; id: string; payload: any }[],
}
Object.assign(globalThis, { scheduleProbe: probe })
after(() => delete (globalThis as Record<string, unknown>).scheduleProbe)

const DELAY_MS = 1500

const storehook = await start({
  project: makeProject({
    'storehook.config.ts': webhooksConfig(`worker: { pollIntervalMs: 50 },`),
    // Schedules the check, then fails its first attempt: the retry schedules it again.
    'actions/send-order.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'order.created', retry: { maxAttempts: 3, baseDelayMs: 50, jitter: false } }, async (event, ctx) => {
  const scheduled = await ctx.schedule('erp.check-order', { orderId: event.payload.data.id }, { delayMs: ${DELAY_MS} })
  globalThis.scheduleProbe.scheduled.push({ attempt: ctx.attempt, runId: ctx.runId, ...scheduled, at: Date.now() })
  if (ctx.attempt === 1) throw new Error('the ERP hung up after the order was scheduled for a check')
})`,
    'actions/check-order.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'erp.check-order', source: 'schedule' }, async (event) => {
  globalThis.scheduleProbe.checks.push({ at: Date.now(), source: event.source, id: event.id, payload: event.payload })
})`,
    'actions/misuse.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'misuse.*', retry: { maxAttempts: 5, baseDelayMs: 20 } }, async (event, ctx) => {
  if (event.type === 'misuse.type') await ctx.schedule('nobody.listens')
  if (event.type === 'misuse.time') await ctx.schedule('erp.check-order', {}, { delayMs: -5 })
})`,
    'actions/now-and-later.ts': `import { onEvent } from 'storehook'
export default onEvent('batch.created', async (event, ctx) => {
  await ctx.schedule('erp.check-order', { orderId: 'past' }, { at: new Date(0), key: 'past' })
  await ctx.schedule('erp.check-order', { orderId: 'now' }, { key: 'now' })
})`,
  }),
})

describe('ctx.schedule', () => {
  it('runs the follow-up after its delay, once, although the scheduling run was retried', async () => {
    const sent = await sendEvent(storehook.url, { type: 'order.created', data: { id: 'ord-1' } })
    assert.equal(sent.status, 200)
    await eventually(() => probe.checks.some((c) => c.payload.orderId === 'ord-1'), 10_000, 'the follow-up run')
    // Time for a second follow-up to show, were there one: it would be due at the same moment.
    await sleep(300)

    const [first, second] = probe.scheduled
    assert.deepEqual(
      probe.scheduled.map((s) => [s.attempt, s.duplicate, s.runs]),
      [[1, false, 1], [2, true, 0]],
      'the retry scheduled nothing new',
    )
    assert.equal(second!.id, first!.id)
    assert.equal(second!.runAt, null, 'a duplicate keeps the first call\'s time')
    const runAt = first!.runAt!
    assert.ok(runAt >= first!.at + DELAY_MS - 200, 'due after the delay')

    const checks = probe.checks.filter((c) => c.payload.orderId === 'ord-1')
    assert.equal(checks.length, 1, 'the follow-up ran once')
    assert.ok(checks[0]!.at >= runAt, 'not before it was due')
    assert.deepEqual([checks[0]!.source, checks[0]!.id], ['schedule', `run-${first!.runId}:erp.check-order`])

    const { store } = storehook.runtime
    const event = (await store.getEvent('schedule', first!.id))!
    assert.deepEqual([event.type, event.payload, event.duplicateDeliveries], ['erp.check-order', { orderId: 'ord-1' }, 1])
    const runs = await store.runsForEvent(event.seq)
    assert.deepEqual(runs.map((r) => [r.action, r.state]), [['check-order', 'succeeded']])
    assert.ok(runs[0]!.createdAt < runAt && runs[0]!.updatedAt >= runAt, 'stored at once, run when due')
  })

  it('runs a follow-up due now (or in the past) at once, one per key', async () => {
    const sent = await sendEvent(storehook.url, { type: 'batch.created' })
    assert.equal(sent.status, 200)
    await eventually(() => probe.checks.filter((c) => ['past', 'now'].includes(c.payload.orderId)).length === 2, 10_000, 'both follow-ups')
    const ids = probe.checks.filter((c) => ['past', 'now'].includes(c.payload.orderId)).map((c) => c.id.replace(/^run-\d+:/, ''))
    assert.deepEqual(ids.sort(), ['now', 'past'])
  })

  it('makes the scheduling run dead at once, with the reason, when it asks for what cannot be', async () => {
    const { store } = storehook.runtime
    for (const [type, reason] of [
      ['misuse.type', /no action consumes events of type "nobody\.listens" from the source "schedule"/],
      ['misuse.time', /delayMs must be a finite number of ms, 0 or more/],
    ] as const) {
      const sent = await sendEvent(storehook.url, { type })
      const run = await eventually(async () => {
        const [found] = await store.listRuns({ eventIdContains: sent.id })
        return found?.state === 'dead' ? found : undefined
      }, 10_000, `${type} to go dead`)
      assert.equal(run!.attempts, 1, 'not retried: retrying cannot fix it')
      assert.match(run!.lastError!, reason)
    }
    assert.deepEqual(await store.listEvents({ source: 'schedule', type: 'nobody.listens' }), [], 'nothing stored for it')
  })
})

describe('the built-in sources schedule and cron', () => {
  for (const name of ['schedule', 'cron']) {
    it(`cannot be configured as a source named "${name}"`, async () => {
      const dir = makeProject({
        'storehook.config.ts': `import { defineConfig } from 'storehook'
export default defineConfig({ sources: { ${name}: { kind: 'standard-webhooks', secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] } } })`,
      })
      await assert.rejects(loadProject(dir), { name: 'ConfigError', message: new RegExp(`sources\\.${name}: "${name}" is the built-in source`) })
    })
  }

  it('lets onEvent name "schedule" but not "cron", whose ticks go to their cron action only', async () => {
    const dir = makeProject({
      'storehook.config.ts': webhooksConfig(),
      'actions/ticks.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'cron.*', source: 'cron' }, () => {})`,
    })
    await assert.rejects(loadProject(dir), { name: 'ConfigError', message: /source: "cron" is not a configured source/ })
  })
})
