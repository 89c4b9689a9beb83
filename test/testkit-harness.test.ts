/**
 * The testkit harness as a user's test uses it: `examples/order-to-erp` started in-process with
 * the simulators wired in through the environment its config reads, a signed I/O Events delivery
 * sent, the run awaited, and what the ERP received asserted. Also: a Standard Webhooks project
 * (secret read from the config through env()), a Commerce Layer webhook, clear errors for a run that does not end in time
 * or an unknown source, and `close()` leaving no trace (environment, temporary store).
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { startHarness, startSimulators } from '../src/testkit/harness.ts'
import { REPO_ROOT, makeProject } from './helpers.ts'

const ORDER_TO_ERP = join(REPO_ROOT, 'examples/order-to-erp')

describe('startHarness on examples/order-to-erp', () => {
  it('sends a signed order event, awaits its run and shows what the ERP received', async () => {
    const before = { ...process.env }
    const sh = await startHarness({ project: ORDER_TO_ERP })
    try {
      assert.equal(process.env.ERP_URL, sh.erp.url, 'the simulators are wired in through the environment')
      sh.commerce.seedOrder({ entity_id: 42, extension_attributes: { erp_customer_code: 'C-42' } } as never)
      const { eventId, events } = await sh.send('commerce', { type: 'observer.sales_order_save_after', data: { entity_id: 42, increment_id: '000000042' } })
      assert.equal(events.length, 1)
      const { run, attempts, steps, event } = await sh.waitForRun({ eventId })
      assert.equal(run.state, 'succeeded')
      assert.equal(run.action, 'order-to-erp')
      assert.equal(attempts.length, 1)
      assert.equal(attempts[0]!.outcome, 'succeeded')
      assert.deepEqual(steps.map((s) => s.name), ['fetch extension_attributes', 'send to ERP'])
      assert.equal(event.type, 'observer.sales_order_save_after')
      const [request] = sh.erpRequests()
      assert.equal(request!.path, '/orders')
      assert.deepEqual((request!.json as { extension_attributes: unknown }).extension_attributes, { erp_customer_code: 'C-42' })
      assert.equal(sh.commerce.requests.find((r) => r.resource === 'orders/42')?.auth, 'oauth1', 'Commerce was called back with OAuth 1.0a')
      assert.ok(sh.logs.some((line) => line.msg === 'order sent to the ERP' && line.entityId === 42), "the runtime's log lines are kept")
    } finally {
      await sh.close()
    }
    assert.deepEqual({ ...process.env }, before, 'close() puts the environment back')
  })

  it('reports a dead run as its outcome, with the error', async () => {
    const sh = await startHarness({ project: ORDER_TO_ERP, simulators: ['io-events', 'commerce', 'erp'] })
    try {
      // No entity_id: the action refuses it for good on the first attempt.
      const { eventId } = await sh.send('commerce', { type: 'com.adobe.commerce.observer.sales_order_save_after', data: { increment_id: '1' } })
      const { run, attempts } = await sh.waitForRun({ eventId })
      assert.equal(run.state, 'dead')
      assert.match(attempts[0]!.errorMessage ?? '', /entity_id|order id/i)
      assert.equal(sh.erpRequests().length, 0)
      assert.throws(() => sh.commerceLayer, /commerce-layer simulator was not started/)
    } finally {
      await sh.close()
    }
  })

  it('times out with what the run is doing', async () => {
    const sh = await startHarness({ project: ORDER_TO_ERP, orders: [7] })
    try {
      sh.erp.setDown(true)
      const { eventId } = await sh.send('commerce', { type: 'observer.sales_order_save_after', data: { entity_id: 7 } })
      // `until` picks the states that end the wait: here the first failed attempt.
      assert.equal((await sh.waitForRun({ eventId, until: ['retrying'] })).attempts[0]!.outcome, 'failed')
      await assert.rejects(
        sh.waitForRun({ eventId, timeoutMs: 300 }),
        new RegExp(`waitForRun\\(\\{ eventId: '${eventId}' \\}\\): not succeeded/dead/skipped within 300 ms: run \\d+ of action "order-to-erp" is (retrying|running) after \\d+ of \\d+ attempts; last error: .*503`),
      )
      await assert.rejects(sh.waitForRun({ eventId: 'never-sent', timeoutMs: 100 }), /no event with id "never-sent" was stored/)
      await assert.rejects(sh.send('nope', { type: 'x' }), /the project has no source "nope" \(it has commerce\)/)
    } finally {
      await sh.close()
    }
  })

  it('refuses a second harness while one is open, and cleans its temporary store on close', async () => {
    const sh = await startHarness({ project: ORDER_TO_ERP, simulators: ['io-events', 'commerce', 'erp'] })
    const file = sh.db.replace(/^sqlite:/, '')
    try {
      assert.ok(existsSync(file), `the store is a temporary SQLite file: ${sh.db}`)
      await assert.rejects(startHarness({ project: ORDER_TO_ERP }), /still open in this process; close\(\) it first/)
    } finally {
      await sh.close()
    }
    assert.ok(!existsSync(file), 'close() removes the temporary store')
    await sh.close() // twice is harmless
    const again = await startHarness({ project: ORDER_TO_ERP, simulators: ['io-events', 'commerce', 'erp'] })
    await again.close()
  })
})

describe('startHarness on a Standard Webhooks project', () => {
  it("signs with the source's secret from the project's .env, and the action reaches the ERP", async () => {
    const project = makeProject({
      'storehook.config.ts': `import { defineConfig, env } from 'storehook'
export default defineConfig({
  sources: { shop: { kind: 'standard-webhooks', secrets: env('SHOP_WEBHOOK_SECRET') } },
  connections: { erp: { kind: 'http', baseUrl: env('ERP_URL') } },
  worker: { pollIntervalMs: 50 },
})
`,
      '.env': 'SHOP_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n',
      'actions/forward.ts': `import { onEvent } from 'storehook'
export default onEvent('order.created', async (event, { connections, idempotencyKey }) => {
  await connections.erp.post('/orders', { json: event.payload.data, idempotencyKey })
})
`,
    })
    const sh = await startHarness({ project, simulators: ['erp'] })
    try {
      const { eventId } = await sh.send('shop', { type: 'order.created', data: { sku: 'SKU-1' }, id: 'msg_harness_1' })
      assert.equal(eventId, 'msg_harness_1')
      assert.equal((await sh.waitForRun({ eventId })).run.state, 'succeeded')
      assert.deepEqual(sh.erpRequests().map((r) => r.json), [{ sku: 'SKU-1' }])
      await assert.rejects(sh.send('shop', { type: 'order.created', secret: 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }), /storehook answered 401/)
    } finally {
      await sh.close()
    }
    assert.equal(process.env.SHOP_WEBHOOK_SECRET, undefined, "close() removes what the project's .env set")
  })
})

describe('startHarness on examples/commerce-layer', () => {
  it('signs a Commerce Layer webhook with the simulated shared secret; the placed order reaches the ERP', async () => {
    const sh = await startHarness({ project: join(REPO_ROOT, 'examples/commerce-layer'), env: { PRICING_URL: 'http://127.0.0.1:9' } })
    try {
      assert.equal(process.env.CL_SHARED_SECRET, sh.simulators.env.CL_SHARED_SECRET)
      const data = { id: 'wBXVhKzrnq', type: 'orders', attributes: { number: '2485862', updated_at: '2026-01-02T10:00:00.000Z', currency_code: 'EUR' } }
      const { eventId } = await sh.send('cl', { type: 'orders.place', data })
      assert.equal(eventId, 'orders.place/wBXVhKzrnq/2026-01-02T10:00:00.000Z')
      assert.equal((await sh.waitForRun({ eventId })).run.state, 'succeeded')
      assert.deepEqual(
        sh.erpRequests().map((r) => r.json as Record<string, unknown>).map(({ commerce_layer_id, number, currency }) => ({ commerce_layer_id, number, currency })),
        [{ commerce_layer_id: 'wBXVhKzrnq', number: '2485862', currency: 'EUR' }],
      )
    } finally {
      await sh.close()
    }
  })
})

describe('startSimulators', () => {
  it('starts the four simulators and gives the environment that points a project at them', async () => {
    const simulators = await startSimulators({ orders: [1, 2] })
    try {
      assert.deepEqual(Object.keys(simulators.env).sort(), [
        'CL_BASE_URL',
        'CL_CLIENT_ID',
        'CL_CLIENT_SECRET',
        'CL_SHARED_SECRET',
        'CL_TOKEN_URL',
        'COMMERCE_ACCESS_TOKEN',
        'COMMERCE_ACCESS_TOKEN_SECRET',
        'COMMERCE_BASE_URL',
        'COMMERCE_CONSUMER_KEY',
        'COMMERCE_CONSUMER_SECRET',
        'ERP_URL',
        'IO_CLIENT_ID',
        'IO_EVENTS_PUBLIC_KEY_BASE_URL',
      ])
      assert.deepEqual([...simulators.commerce!.orders.keys()], [1, 2])
      assert.equal((await fetch(`${simulators.env.ERP_URL}/orders`, { method: 'POST', body: '{}' })).status, 200)
    } finally {
      await simulators.close()
    }
  })
})
