/**
 * Durable steps and the stale-update guard end to end, over real HTTP and real SQLite files: a
 * finished step is never redone by a retry or after a restart, its result is what later attempts
 * get, a result JSON cannot keep is refused at the step, and a stale event is skipped.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { startCommerceSimulator } from '../src/testkit/commerce-simulator.ts'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { eventually, makeProject, sendEvent, start, webhooksConfig } from './helpers.ts'

const commerce = await startCommerceSimulator()
const erp = await startErpSimulator()
after(() => Promise.all([commerce.close(), erp.close()]))

/** What actions report to the test, on globalThis (they run in this process). */
const probe = { stepRuns: new Map<string, number>(), seen: [] as unknown[], release: () => {} }
Object.assign(globalThis, { stepsProbe: probe })

const project = makeProject({
  'storehook.config.ts': webhooksConfig(`
  connections: {
    commerce: {
      kind: 'adobe-commerce',
      baseUrl: '${commerce.url}/',
      oauth1: ${JSON.stringify(commerce.credentials)},
    },
    erp: { kind: 'http', baseUrl: '${erp.url}' },
  },
  worker: { pollIntervalMs: 50, shutdownGraceMs: 200 },`),
  // The case: enrich from Commerce in one step, send to the ERP in the next.
  'actions/order-to-erp.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'order.placed', retry: { baseDelayMs: 20, maxDelayMs: 40 } }, async (event, ctx) => {
  const order = await ctx.step('fetch order', () => ctx.connections.commerce.getOrder(event.payload.data.entityId))
  globalThis.stepsProbe.seen.push(order.extension_attributes)
  // The step returns the status, not the response: a response (with its Headers) is no plain data.
  await ctx.step('send to ERP', async () => (await ctx.connections.erp.post('orders', { json: order, idempotencyKey: ctx.idempotencyKey })).status)
})`,
  'actions/restartable.ts': `import { onEvent } from 'storehook'
const count = (name) => globalThis.stepsProbe.stepRuns.set(name, (globalThis.stepsProbe.stepRuns.get(name) ?? 0) + 1)
export default onEvent('job.restartable', async (event, ctx) => {
  const first = await ctx.step('first', () => (count('first'), { at: 'first', n: 1 }))
  await ctx.step('second', async () => {
    count('second')
    // The first process hangs here until it is stopped; the next one passes.
    if (globalThis.stepsProbe.stepRuns.get('second') === 1) await new Promise((resolve) => { globalThis.stepsProbe.release = resolve })
    return first.n + 1
  })
})`,
  'actions/bad-step.ts': `import { onEvent } from 'storehook'
export default onEvent('job.bad-step', async (event, ctx) => {
  await ctx.step('when', () => ({ at: new Date(0) }))
})`,
  'actions/stock-sync.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'stock.changed', orderingKey: 'data.sku', version: 'data.updated_at' }, async (event, ctx) => {
  await ctx.connections.erp.post('stock', { json: event.payload.data })
})`,
})

const db = `sqlite:${join(project, '.storehook', 'steps.db')}`
const storehook = await start({ project, db })
const admin = async (path: string) => (await fetch(`${storehook.url}/admin/api${path}`)).json() as Promise<any>

async function runOf(eventId: string) {
  const { runs } = await admin(`/events/webhooks/${eventId}`)
  return runs[0] as { id: number; state: string; lastError: string | null }
}

describe('durable steps', () => {
  it('does the Commerce step once while the ERP step fails three times, and shows each attempt\'s steps', async () => {
    commerce.seedOrder({ entity_id: 4242, extension_attributes: { erp_customer_code: 'C-4242' } } as never)
    erp.failFirst(3, 503)
    const sent = await sendEvent(storehook.url, { type: 'order.placed', data: { entityId: 4242 } })
    assert.equal(sent.status, 200)
    await eventually(async () => (await runOf(sent.id)).state === 'succeeded', 10_000, 'the run to succeed').catch((error) => {
      console.log(storehook.logs.join('\n'))
      throw error
    })

    assert.equal(commerce.requests.filter((r) => r.resource === 'orders/4242').length, 1, 'Commerce was called once')
    assert.equal(erp.deliveries.filter((d) => d.path === '/orders').length, 4, 'three failures, then the delivery')
    assert.deepEqual(probe.seen, [1, 2, 3, 4].map(() => ({ erp_customer_code: 'C-4242' })), 'every attempt got the stored order')

    const { attempts } = await admin(`/runs/${(await runOf(sent.id)).id}`)
    assert.deepEqual(attempts.map((a: any) => [a.outcome, a.steps.map((s: any) => s.name)]), [
      ['failed', ['fetch order']],
      ['failed', []],
      ['failed', []],
      ['succeeded', ['send to ERP']],
    ])
    assert.equal(attempts[0].steps[0].result.entity_id, 4242)
    assert.equal(attempts[3].steps[0].result, 200)
    assert.match(attempts[0].steps[0].finishedAt, /^\d{4}-\d\d-\d\dT/)
  })

  it('continues at the second step after a restart, without redoing the first', async () => {
    const ownDb = `sqlite:${join(project, '.storehook', 'restart.db')}`
    const first = await start({ project, db: ownDb })
    const sent = await sendEvent(first.url, { type: 'job.restartable' })
    await eventually(() => probe.stepRuns.get('second') === 1, 10_000, 'the second step to start')
    await first.close() // gives the hung run back to the store, unfinished
    probe.release()

    const again = await start({ project, db: ownDb })
    const run = await eventually(async () => {
      const { runs } = (await (await fetch(`${again.url}/admin/api/events/webhooks/${sent.id}`)).json()) as any
      return runs[0].state === 'succeeded' ? runs[0] : null
    }, 10_000, 'the run to finish in the new process')
    assert.deepEqual(Object.fromEntries(probe.stepRuns), { first: 1, second: 2 })
    const { attempts } = (await (await fetch(`${again.url}/admin/api/runs/${run.id}`)).json()) as any
    assert.deepEqual(attempts.map((a: any) => [a.outcome, a.steps.map((s: any) => [s.name, s.result])]), [
      ['interrupted', [['first', { at: 'first', n: 1 }]]],
      ['succeeded', [['second', 2]]],
    ])
    await again.close()
  })
})

describe('bad steps and stale events', () => {
  const { url } = storehook

  it('makes a run dead at the step that returns what JSON cannot keep, saying where and what to do', async () => {
    const sent = await sendEvent(url, { type: 'job.bad-step' })
    const run = await eventually(async () => {
      const { runs } = (await (await fetch(`${url}/admin/api/events/webhooks/${sent.id}`)).json()) as any
      return runs[0].state === 'dead' ? runs[0] : null
    }, 10_000, 'the run to die')
    assert.match(run.lastError, /step "when" returned a Date at the result\.at, which cannot be stored as it is: return plain data .*toISOString/)
    assert.equal(run.attempts, 1, 'not retried: the code must change')
  })

  it('skips a stock update older than the one already delivered for the same SKU', async () => {
    const send = (updated_at: string, qty: number) => sendEvent(url, { type: 'stock.changed', data: { sku: 'TSHIRT-M', qty, updated_at } })
    const newer = await send('2026-11-22 10:00:00', 7)
    const state = async (id: string) => {
      const { runs } = (await (await fetch(`${url}/admin/api/events/webhooks/${id}`)).json()) as any
      return runs[0]
    }
    await eventually(async () => (await state(newer.id)).state === 'succeeded', 10_000, 'the newer update')
    const older = await send('2026-11-22T09:59:59Z', 3)
    const skipped = await eventually(async () => ((await state(older.id)).state === 'skipped' ? state(older.id) : null), 10_000, 'the skip')
    assert.match(skipped.lastError, /older than 2026-11-22 10:00:00/)
    const same = await send('2026-11-22T10:00:00Z', 8) // the same instant, written the other way: runs
    await eventually(async () => (await state(same.id)).state === 'succeeded', 10_000, 'an update as new as the last')
    const stock = erp.accepted().filter((d) => d.path === '/stock').map((d) => JSON.parse(d.body).qty)
    assert.deepEqual(stock, [7, 8], 'the stale quantity never reached the ERP')
  })
})
