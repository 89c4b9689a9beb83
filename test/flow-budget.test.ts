/**
 * A shared rate budget end to end (issue 5's stated case): 200 runs share an `http` connection
 * with `rateLimit: { requests: 10, perMs: 1000 }`; at the ERP simulator no sliding one-second
 * window ever holds more than 10 requests, and all 200 are delivered. Real HTTP on 127.0.0.1, a
 * real SQLite file, the worker as `storehook start` runs it. Also what the admin API and
 * `/metrics` say about the connection while it runs. Takes about 20 s: 200 requests at 10 a second.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { makeProject, sendEvent, start, webhooksConfig } from './helpers.ts'

const RUNS = 200
const LIMIT = { requests: 10, perMs: 1000 }
const ADMIN_TOKEN = 'flow-budget-admin-token'

const erp = await startErpSimulator()
after(() => erp.close())

const storehook = await start({
  adminToken: ADMIN_TOKEN,
  project: makeProject({
    'storehook.config.ts': webhooksConfig(`
  connections: { erp: { kind: 'http', baseUrl: '${erp.url}/orders', rateLimit: ${JSON.stringify(LIMIT)} } },
  worker: { pollIntervalMs: 50, concurrency: 32 },`),
    'actions/forward.ts': `import { onEvent } from 'storehook'
export default onEvent('order.*', async (event, { connections }) => {
  await connections.erp.post('', { json: event.payload, idempotencyKey: event.id })
})`,
  }),
})

const admin = async (path: string, token: string | undefined = ADMIN_TOKEN) => {
  const response = await fetch(`${storehook.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {})
  return { status: response.status, text: await response.text() }
}

describe('a rate budget shared by 200 runs', () => {
  it('never lets more than 10 requests into any 1-second window at the ERP, and delivers all 200', { timeout: 90_000 }, async () => {
    const sent = new Set<string>()
    for (let n = 0; n < RUNS; n++) {
      const { id, status } = await sendEvent(storehook.url, { type: 'order.created', data: { n } })
      assert.equal(status, 200)
      sent.add(id)
    }

    // While they run: the connection as the admin API and metrics show it.
    const { status, text } = await admin('/admin/api/connections')
    assert.equal(status, 200)
    const [erpStatus] = JSON.parse(text).connections
    assert.equal(erpStatus.connection, 'erp')
    assert.equal(erpStatus.kind, 'http')
    assert.equal(erpStatus.slots, 'memory')
    assert.deepEqual(erpStatus.rateLimit, { ...LIMIT, effective: 10, pausedForMs: 0 })
    assert.ok(erpStatus.waiting > 0, `${erpStatus.waiting} calls waiting for a slot: 32 runs at once against 10 a second`)
    assert.equal(erpStatus.breaker, null)
    assert.equal((await admin('/admin/api/connections', 'wrong-token')).status, 401)
    const metrics = (await admin('/metrics', undefined)).text
    assert.match(metrics, /^storehook_connection_rate_limit_effective\{connection="erp"\} 10$/m)
    assert.match(metrics, /^storehook_connection_waiting_calls\{connection="erp"\} \d+$/m)

    const accepted = await erp.waitForAccepted(RUNS, 60_000)
    assert.deepEqual(new Set(accepted.map((delivery) => delivery.idempotencyKey)), sent)
    assert.equal(erp.deliveries.length, RUNS, 'nothing was refused or retried')

    // Sliding windows over the arrival times: the 11th request after any request comes a full window later.
    const times = erp.deliveries.map((delivery) => delivery.at).sort((a, b) => a - b)
    let busiest = 0
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[j]! <= times[i]! - LIMIT.perMs) j++
      busiest = Math.max(busiest, i - j + 1)
    }
    assert.ok(busiest <= LIMIT.requests, `a window of ${LIMIT.perMs} ms held ${busiest} requests`)
    // …and the budget was used, not just respected: 200 requests took about 20 windows.
    const spanMs = times.at(-1)! - times[0]!
    assert.ok(spanMs >= ((RUNS - LIMIT.requests) / LIMIT.requests) * LIMIT.perMs, `200 requests in ${spanMs} ms`)
    assert.ok(spanMs < 40_000, `200 requests took ${spanMs} ms: the budget was left unused`)
  })
})
