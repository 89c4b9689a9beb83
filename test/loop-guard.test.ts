/**
 * ctx.loopGuard end to end: a two-way sync where the ERP → Commerce action remembers what it wrote
 * and the Commerce → ERP action skips the echo of that write, but not a real change.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { fingerprintOf } from '../src/runtime/loop-guard.ts'
import { eventually, makeProject, sendEvent, start, webhooksConfig } from './helpers.ts'

const commerce = await startErpSimulator() // stands in for Commerce's REST API
const erp = await startErpSimulator()
after(() => Promise.all([commerce.close(), erp.close()]))

const storehook = await start({
  project: makeProject({
    'storehook.config.ts': webhooksConfig(`connections: {
    commerce: { kind: 'http', baseUrl: '${commerce.url}' },
    erp: { kind: 'http', baseUrl: '${erp.url}' },
  },
  worker: { pollIntervalMs: 50 },`),
    // ERP → Commerce: write the stock level, remember it; fail on purpose when asked.
    'actions/erp-to-commerce.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'erp.stock', retry: { maxAttempts: 1 } }, async (event, ctx) => {
  const { sku, qty, failAfterWrite } = event.payload.data
  await ctx.connections.commerce.put('stock/' + sku, { json: { sku, qty } })
  ctx.loopGuard.remember('stock:' + sku, { sku, qty }, { ttlMs: ${2000} })
  if (failAfterWrite) throw new Error('failed after the write')
})`,
    // Commerce → ERP: Commerce emits an event for every stock change, ours included.
    'actions/commerce-to-erp.ts': `import { onEvent } from 'storehook'
export default onEvent('commerce.stock', async (event, ctx) => {
  const { qty, sku } = event.payload.data
  if (await ctx.loopGuard.isEcho('stock:' + sku, { qty, sku })) return ctx.logger.info('echo of our own write: skipped')
  await ctx.connections.erp.put('stock/' + sku, { json: { sku, qty } })
})`,
  }),
})

const settle = async (id: string) =>
  eventually(async () => {
    const { runs } = (await (await fetch(`${storehook.url}/admin/api/events/webhooks/${id}`)).json()) as { runs: { state: string }[] }
    return runs.every((r) => r.state === 'succeeded' || r.state === 'dead')
  }, 10_000, `the runs of ${id} to finish`)
const erpWrites = (sku: string) => erp.accepted().filter((d) => d.path === `/stock/${sku}`).length

describe('ctx.loopGuard', () => {
  it("skips Commerce's echo of our own write, in any key order, and passes a real change", async () => {
    await settle((await sendEvent(storehook.url, { type: 'erp.stock', data: { sku: 'A', qty: 5 } })).id)
    await settle((await sendEvent(storehook.url, { type: 'commerce.stock', data: { qty: 5, sku: 'A' } })).id)
    assert.equal(erpWrites('A'), 0, 'the echo went nowhere')
    await settle((await sendEvent(storehook.url, { type: 'commerce.stock', data: { sku: 'A', qty: 4 } })).id)
    assert.equal(erpWrites('A'), 1, 'a change made in Commerce reaches the ERP')
  })

  it('remembers nothing for a run that fails after writing', async () => {
    await settle((await sendEvent(storehook.url, { type: 'erp.stock', data: { sku: 'B', qty: 1, failAfterWrite: true } })).id)
    await settle((await sendEvent(storehook.url, { type: 'commerce.stock', data: { sku: 'B', qty: 1 } })).id)
    assert.equal(erpWrites('B'), 1)
  })

  it('forgets after the TTL', async () => {
    await settle((await sendEvent(storehook.url, { type: 'erp.stock', data: { sku: 'C', qty: 9 } })).id)
    await new Promise((resolve) => setTimeout(resolve, 2100))
    await settle((await sendEvent(storehook.url, { type: 'commerce.stock', data: { sku: 'C', qty: 9 } })).id)
    assert.equal(erpWrites('C'), 1)
  })

  it('fingerprints ignore key order but not values', () => {
    assert.equal(fingerprintOf({ a: 1, b: { c: 2, d: [1, 2] } }), fingerprintOf({ b: { d: [1, 2], c: 2 }, a: 1 }))
    assert.notEqual(fingerprintOf({ a: 1 }), fingerprintOf({ a: '1' }))
    assert.notEqual(fingerprintOf([1, 2]), fingerprintOf([2, 1]))
  })
})
