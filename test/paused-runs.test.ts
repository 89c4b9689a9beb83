/**
 * Target breakers end to end: while the ERP is down, runs that need it pause instead of burning
 * their retries, one probe at a time finds it back, and then every paused run is delivered, in
 * order, none dead. Real HTTP, a real SQLite file, the ERP simulator.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { eventually, makeProject, sendEvent, start, webhooksConfig } from './helpers.ts'

const erp = await startErpSimulator()
after(() => erp.close())

const storehook = await start({
  project: makeProject({
    'storehook.config.ts': webhooksConfig(`
  connections: { erp: { kind: 'http', baseUrl: '${erp.url}', timeoutMs: 2000, breaker: { failures: 3, probeAfterMs: 300 } } },
  worker: { pollIntervalMs: 50, pausedSweepMs: 60000 },`),
    // Three attempts only: without pausing, an outage of a second would kill every run.
    'actions/to-erp.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'order.placed', retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 40 } }, async (event, ctx) => {
  await ctx.connections.erp.post('orders', { json: event.payload.data, idempotencyKey: ctx.idempotencyKey })
})`,
  }),
})
const admin = async (path: string) => (await (await fetch(`${storehook.url}/admin/api${path}`)).json()) as any

describe('a connection whose target is down', () => {
  it('pauses the runs that need it, probes one at a time, then delivers them all and kills none', async () => {
    erp.setDown(true)
    const sent = []
    for (let n = 0; n < 20; n++) sent.push(await sendEvent(storehook.url, { type: 'order.placed', data: { n } }))
    assert.ok(sent.every((s) => s.status === 200))
    await eventually(async () => (await admin('/runs?state=paused')).runs.length === 20, 10_000, 'every run to be paused')
    // Before the breaker opened, runs in flight at once may each have reached the ERP, but no run
    // retried its way to death: at most one request per run and the threshold.
    const beforePaused = erp.deliveries.length
    assert.ok(beforePaused <= 20 + 3, `${beforePaused} requests reached the down ERP before every run was paused`)
    // Down for a while: the breaker lets one probe through every 300 ms, nothing more (counted
    // from when all are paused, so a slow machine's longer wait above does not count).
    await new Promise((resolve) => setTimeout(resolve, 1200))
    const duringOutage = erp.deliveries.length - beforePaused
    assert.ok(duringOutage <= 1200 / 300 + 2, `${duringOutage} requests reached the down ERP in 1.2 s of pause: one probe at a time`)
    const paused = (await admin('/runs?state=paused')).runs
    assert.ok(paused.length >= 19, `${paused.length} paused (one may be out probing)`)
    assert.ok(paused.every((run: any) => run.pausedOn === 'erp'))
    assert.equal((await admin('/runs?state=dead')).runs.length, 0, 'a failed probe pauses its run again: no retry spent')

    erp.setDown(false)
    await eventually(async () => (await admin('/runs?state=succeeded')).runs.length === 20, 15_000, 'every run to be delivered')
    assert.equal((await admin('/runs?state=dead')).runs.length, 0)
    const delivered = erp.accepted().map((d) => JSON.parse(d.body).n)
    assert.deepEqual([...delivered].sort((a, b) => a - b), [...Array(20).keys()], 'each order once')
    const { attempts } = await admin(`/runs/${paused.at(-1).id}`)
    assert.ok(attempts.filter((a: any) => a.outcome === 'failed').length < 3, 'pauses did not spend its retries')
    assert.ok(attempts.some((a: any) => a.outcome === 'paused'), 'the pause is on the record')
    assert.equal(attempts.at(-1).outcome, 'succeeded')
  })
})
