/**
 * Connection slots shared through PostgreSQL (store/postgres/slots.ts): two store instances on
 * one schema stand for two storehook processes, each with its own FlowRegistry and its own `http`
 * connection to the same target, as two processes running one project would have. Together they
 * never exceed the budget or the cap, measured at the target; a slot a crashed process held
 * comes back when it expires; a 429 seen by one pauses the other.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createServer, type ServerResponse } from 'node:http'
import { after, beforeEach, describe, it, type TestContext } from 'node:test'
import pg from 'pg'
import { FlowRegistry } from '../src/connections/flow/index.ts'
import { httpConfigSchema, httpConnection, type HttpConnectionConfig } from '../src/connections/http/index.ts'
import { openPostgresStore, type PostgresStore } from '../src/store/postgres/index.ts'
import { usePostgres } from './postgres-cluster.ts'
import { listenOnLoopback } from './loopback.ts'

const server = await usePostgres()
const admin = new pg.Pool({ connectionString: server.url, max: 2 })
admin.on('error', () => {})
after(() => admin.end())

/** The target: arrival times, requests in flight, and how it answers. */
let arrivals: { at: number; path: string }[] = []
let inFlight = 0
let peakInFlight = 0
let respond: (res: ServerResponse, path: string) => void = (res) => res.end('ok')
const target = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    arrivals.push({ at: Date.now(), path: req.url ?? '' })
    peakInFlight = Math.max(peakInFlight, ++inFlight)
    res.on('finish', () => inFlight--)
    respond(res, req.url ?? '')
  })
})
const origin = await listenOnLoopback(target)
beforeEach(() => {
  arrivals = []
  inFlight = 0
  peakInFlight = 0
  respond = (res) => res.end('ok')
})

/** Two "processes" on a fresh schema, each with the same connection config; closed and dropped after test `t`. */
async function twoProcesses(t: TestContext, config: Partial<HttpConnectionConfig>) {
  const schema = `flow_${process.pid}_${randomUUID().slice(0, 8)}`
  const stores: PostgresStore[] = []
  t.after(async () => {
    await Promise.all(stores.map((store) => store.close()))
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  })
  const processes = []
  for (let i = 0; i < 2; i++) {
    const store = await openPostgresStore({ url: server.url, schema })
    stores.push(store)
    const flow = new FlowRegistry()
    const erp = httpConnection.create('erp', httpConfigSchema.parse({ baseUrl: `${origin}/p${i}/`, ...config }), { flow })
    flow.useBackend(store.slots)
    processes.push({ store, flow, erp })
  }
  return { processes, schema, stores }
}

/** The most arrivals in any window of `ms` (half-open, sliding over the arrival times). */
function busiestWindow(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b)
  let busiest = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[j]! <= sorted[i]! - ms) j++
    busiest = Math.max(busiest, i - j + 1)
  }
  return busiest
}

describe('flow control shared through PostgreSQL', () => {
  it('two processes sharing one rate budget never exceed it together', { timeout: 60_000 }, async (t) => {
    const { processes } = await twoProcesses(t, { rateLimit: { requests: 5, perMs: 500 } })
    assert.equal(processes[0]!.flow.backendKind, 'postgres')
    await Promise.all(processes.flatMap(({ erp }) => Array.from({ length: 15 }, (_, n) => erp.get(`n/${n}`))))
    assert.equal(arrivals.length, 30)
    assert.ok(arrivals.some((a) => a.path.startsWith('/p0/')) && arrivals.some((a) => a.path.startsWith('/p1/')), 'both processes sent')
    const busiest = busiestWindow(arrivals.map((a) => a.at), 500)
    assert.ok(busiest <= 5, `a window of 500 ms held ${busiest} requests from the two processes`)
    // Alone, each process would have sent 5 per window: together they shared 5.
    const span = Math.max(...arrivals.map((a) => a.at)) - Math.min(...arrivals.map((a) => a.at))
    assert.ok(span >= 2500, `30 requests at 5 per 500 ms took only ${span} ms`)
  })

  it('two processes sharing one concurrency cap never have more in flight together', { timeout: 60_000 }, async (t) => {
    const { processes } = await twoProcesses(t, { maxConcurrency: 2 })
    respond = (res) => setTimeout(() => res.end('ok'), 40)
    await Promise.all(processes.flatMap(({ erp }) => Array.from({ length: 8 }, (_, n) => erp.get(`n/${n}`))))
    assert.equal(arrivals.length, 16)
    assert.equal(peakInFlight, 2)
  })

  it('a 429 seen by one process pauses the budget for the other until Retry-After', { timeout: 60_000 }, async (t) => {
    const { processes } = await twoProcesses(t, { rateLimit: { requests: 5, perMs: 200 } })
    const [first, second] = processes
    let throttledAt = 0
    respond = (res, path) => {
      if (path.endsWith('/limited')) {
        throttledAt = Date.now()
        res.writeHead(429, { 'retry-after': '1' }).end()
      } else res.end('ok')
    }
    await assert.rejects(first!.erp.get('limited'), { status: 429 })
    assert.equal(first!.flow.status()[0]?.rateLimit?.effective, 2)
    await Promise.all([second!.erp.get('a'), second!.erp.get('b')])
    for (const arrival of arrivals.filter((a) => a.path.startsWith('/p1/'))) {
      assert.ok(arrival.at >= throttledAt + 1000, `the other process sent ${arrival.at - throttledAt} ms after the 429`)
    }
  })

  it('a slot held by a process that died comes back when it expires; a release by a holder that lost it changes nothing', { timeout: 60_000 }, async (t) => {
    const { stores, schema } = await twoProcesses(t, {})
    const [crashed, survivor] = stores.map((store) => store.slots!)
    assert.deepEqual(await crashed!.take('erp:concurrency', 1, { holder: 'crashed:1', expiresInMs: 300 }), { taken: true, slot: 0 })
    const refused = await survivor!.take('erp:concurrency', 1, { holder: 'survivor:1', expiresInMs: 10_000 })
    assert.equal(refused.taken, false)
    assert.ok(!refused.taken && refused.retryInMs > 0 && refused.retryInMs <= 300)
    await new Promise((resolve) => setTimeout(resolve, 350))
    assert.deepEqual(await survivor!.take('erp:concurrency', 1, { holder: 'survivor:1', expiresInMs: 10_000 }), { taken: true, slot: 0 })
    await crashed!.release('erp:concurrency', 0, 'crashed:1', 0)
    assert.equal((await survivor!.take('erp:concurrency', 1, { holder: 'survivor:2', expiresInMs: 10_000 })).taken, false)
    // A budget of N is N rows, and its pause one more (slot -1).
    await survivor!.pause('erp:concurrency', 50)
    const { rows } = await admin.query(`SELECT slot, holder FROM "${schema}".budget_slots WHERE budget = 'erp:concurrency' ORDER BY slot`)
    assert.deepEqual(rows, [{ slot: -1, holder: 'pause' }, { slot: 0, holder: 'survivor:1' }])
  })

  it('takers racing for the last slots never get the same one', { timeout: 60_000 }, async (t) => {
    const { stores } = await twoProcesses(t, {})
    const takes = await Promise.all(
      Array.from({ length: 20 }, (_, n) => stores[n % 2]!.slots!.take('race', 3, { holder: `h${n}`, expiresInMs: 60_000 })),
    )
    const slots = takes.flatMap((take) => (take.taken ? [take.slot] : []))
    assert.deepEqual(slots.sort(), [0, 1, 2])
  })
})
