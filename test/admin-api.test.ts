/**
 * The admin JSON API (`/admin/api`) and `/metrics`, over real HTTP on 127.0.0.1 with real SQLite
 * files: listing and filtering, one event or run in detail, replays, the admin guard, and the
 * Prometheus figures real traffic produces.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createApp } from '../src/server/app.ts'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { TEST_SECRET, eventually, makeProject, sendEvent, start, webhooksConfig } from './helpers.ts'

const erp = await startErpSimulator()
after(() => erp.close())

/** Event types the `fragile` action fails on for good, as a bug in an action would; the test "fixes" it. */
const broken = new Set<string>()
;(globalThis as any).brokenTypes = broken

const project = makeProject({
  'storehook.config.ts': `import { defineConfig } from 'storehook'
export default defineConfig({
  sources: {
    webhooks: { kind: 'standard-webhooks', secrets: ['${TEST_SECRET}'] },
    shop: { kind: 'standard-webhooks', secrets: ['${TEST_SECRET}'] },
  },
  connections: { erp: { kind: 'http', baseUrl: '${erp.url}/orders' } },
  worker: { pollIntervalMs: 50 },
})`,
  'actions/forward.ts': `import { onEvent } from 'storehook'
export default onEvent('order.*', async (event, { connections }) => {
  await connections.erp.post('', { json: event.payload, idempotencyKey: event.id })
})`,
  'actions/fragile.ts': `import { onEvent, PermanentError } from 'storehook'
export default onEvent('fragile.*', async (event) => {
  if (globalThis.brokenTypes.has(event.type)) throw new PermanentError(event.type + ' is broken')
})`,
})
const storehook = await start({ project })
const { url } = storehook

async function call(path: string, init: RequestInit = {}) {
  const response = await fetch(`${url}/admin/api${path}`, init)
  return { status: response.status, body: (await response.json()) as any }
}

/** GET that must answer 200. */
async function api(path: string): Promise<any> {
  const { status, body } = await call(path)
  assert.equal(status, 200, `GET ${path}: ${JSON.stringify(body)}`)
  return body
}

/** Sends an event and waits until its (single) run reached `state`; returns the event id. */
async function sendAndSettle(event: { id: string; type: string }, state: string, source = 'webhooks'): Promise<string> {
  const sent = await sendEvent(url, event, source)
  assert.equal(sent.status, 200)
  await eventually(async () => (await api(`/events/${source}/${event.id}`)).runs[0]?.state === state, 5000, `${event.id} to be ${state}`)
  return event.id
}

const ids = (list: { id: string }[]) => list.map((e) => e.id)
const eventIds = (list: { eventId: string }[]) => list.map((r) => r.eventId)

describe('listing and filtering', () => {
  const tag = randomUUID().slice(0, 8)
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => `evt_${tag}_${x}`) as [string, string, string, string]
  /** Events a and b were received before this epoch ms, c and d at or after it. */
  let split: number

  before(async () => {
    broken.add('fragile.bad')
    await sendAndSettle({ id: a, type: 'order.created' }, 'succeeded')
    await sendAndSettle({ id: b, type: 'order.updated' }, 'succeeded', 'shop')
    split = Date.now() + 1
    await eventually(() => Date.now() > split)
    await sendAndSettle({ id: c, type: 'fragile.bad' }, 'dead')
    await sendAndSettle({ id: d, type: 'fragile.ok' }, 'succeeded', 'shop')
  })

  it('lists events newest first, narrowed by free text in the id', async () => {
    assert.deepEqual(ids((await api(`/events?q=${tag}`)).events), [d, c, b, a])
    assert.deepEqual(ids((await api(`/events?q=${tag}_b`)).events), [b])
  })

  it('filters events by source, type and time (ISO 8601 or epoch ms)', async () => {
    assert.deepEqual(ids((await api(`/events?q=${tag}&source=shop`)).events), [d, b])
    assert.deepEqual(ids((await api(`/events?q=${tag}&type=order.updated`)).events), [b])
    assert.deepEqual(ids((await api(`/events?q=${tag}&since=${new Date(split).toISOString()}`)).events), [d, c])
    assert.deepEqual(ids((await api(`/events?q=${tag}&until=${split}`)).events), [b, a])
    assert.deepEqual(ids((await api(`/events?q=${tag}&source=webhooks&until=${split}`)).events), [a])
  })

  it('pages events backwards with before (a seq) and limit', async () => {
    const first = (await api(`/events?q=${tag}&limit=3`)).events
    assert.deepEqual(ids(first), [d, c, b])
    assert.deepEqual(ids((await api(`/events?q=${tag}&limit=3&before=${first.at(-1).seq}`)).events), [a])
  })

  it('filters runs by state, action, source, type, free text and time', async () => {
    assert.deepEqual(eventIds((await api(`/runs?q=${tag}`)).runs), [d, c, b, a])
    assert.deepEqual(eventIds((await api(`/runs?q=${tag}&state=dead`)).runs), [c])
    assert.deepEqual(eventIds((await api(`/runs?q=${tag}&state=succeeded`)).runs), [d, b, a])
    assert.deepEqual(eventIds((await api(`/runs?q=${tag}&action=forward`)).runs), [b, a])
    assert.deepEqual(eventIds((await api(`/runs?q=${tag}&source=shop`)).runs), [d, b])
    assert.deepEqual(eventIds((await api(`/runs?q=${tag}&type=fragile.ok`)).runs), [d])
    assert.deepEqual(eventIds((await api(`/runs?q=${tag}&since=${split}`)).runs), [d, c])
    assert.deepEqual(eventIds((await api(`/runs?q=${tag}&until=${new Date(split).toISOString()}`)).runs), [b, a])
    assert.deepEqual(eventIds((await api(`/runs?q=${tag}&state=succeeded&source=shop&action=fragile`)).runs), [d])
  })

  it('pages runs backwards with before (a run id) and limit', async () => {
    const first = (await api(`/runs?q=${tag}&limit=2`)).runs
    assert.deepEqual(eventIds(first), [d, c])
    assert.deepEqual(eventIds((await api(`/runs?q=${tag}&limit=2&before=${first.at(-1).id}`)).runs), [b, a])
  })

  it('shows one event with its runs, times in ISO 8601', async () => {
    const { event, runs } = await api(`/events/shop/${b}`)
    assert.equal(event.id, b)
    assert.equal(event.source, 'shop')
    assert.equal(event.type, 'order.updated')
    assert.deepEqual(event.payload, { type: 'order.updated', data: {} })
    assert.equal(event.receivedAt, new Date(Date.parse(event.receivedAt)).toISOString())
    assert.deepEqual(
      runs.map((r: any) => [r.action, r.state, r.attempts]),
      [['forward', 'succeeded', 1]],
    )
  })

  it('shows one run with its attempts and its event', async () => {
    const [listed] = (await api(`/runs?q=${tag}&state=dead`)).runs
    const { run, attempts, event } = await api(`/runs/${listed.id}`)
    assert.equal(run.id, listed.id)
    assert.equal(run.state, 'dead')
    assert.match(run.lastError, /fragile.bad is broken/)
    assert.equal(attempts.length, 1)
    assert.equal(attempts[0].number, 1)
    assert.equal(attempts[0].outcome, 'dead')
    assert.match(attempts[0].errorMessage, /fragile.bad is broken/)
    assert.ok(Date.parse(attempts[0].endedAt) >= Date.parse(attempts[0].startedAt))
    assert.equal(event.id, c)
    assert.equal(event.type, 'fragile.bad')
  })
})

describe('replays', () => {
  it('replays one run: 201 with a new run, the old one kept, and the action runs again', async () => {
    const id = `evt_${randomUUID()}`
    erp.respondWith(422)
    await sendAndSettle({ id, type: 'order.created' }, 'dead')
    const [old] = (await api(`/events/webhooks/${id}`)).runs

    const replayed = await call(`/runs/${old.id}/replay`, { method: 'POST' })
    assert.equal(replayed.status, 201)
    assert.equal(replayed.body.run.replayOf, old.id)
    assert.notEqual(replayed.body.run.id, old.id)

    await eventually(async () => (await api(`/runs/${replayed.body.run.id}`)).run.state === 'succeeded', 5000, 'the replay to succeed')
    assert.deepEqual(
      erp.deliveries.filter((delivery) => delivery.idempotencyKey === id).map((delivery) => delivery.status),
      [422, 200],
    )
    const kept = await api(`/runs/${old.id}`)
    assert.equal(kept.run.state, 'dead')
    assert.deepEqual(kept.attempts.map((x: any) => x.outcome), ['dead'])
    assert.equal((await api(`/events/webhooks/${id}`)).runs.length, 2)
  })

  it('bulk-replays only the dead runs matching the filter, and each only once', async () => {
    const tag = randomUUID().slice(0, 8)
    broken.add('fragile.x').add('fragile.y')
    const matching = [await sendAndSettle({ id: `bulk_${tag}_1`, type: 'fragile.x' }, 'dead'), await sendAndSettle({ id: `bulk_${tag}_2`, type: 'fragile.x' }, 'dead')]
    await sendAndSettle({ id: `bulk_${tag}_3`, type: 'fragile.x' }, 'dead', 'shop')
    await sendAndSettle({ id: `bulk_${tag}_4`, type: 'fragile.y' }, 'dead')
    broken.delete('fragile.x')
    broken.delete('fragile.y')

    const filter = `q=${tag}&type=fragile.x&source=webhooks`
    const first = await call(`/runs/replay?${filter}`, { method: 'POST' })
    assert.equal(first.status, 200)
    assert.equal(first.body.replayed, 2)
    assert.deepEqual(first.body.runs.map((r: any) => r.eventId).sort(), matching)
    assert.deepEqual((await call(`/runs/replay?${filter}`, { method: 'POST' })).body, { replayed: 0, runs: [] })

    for (const run of first.body.runs) {
      await eventually(async () => (await api(`/runs/${run.id}`)).run.state === 'succeeded', 5000, `replay ${run.id} to succeed`)
    }
    const all = (await api(`/runs?q=${tag}`)).runs
    assert.equal(all.length, 6, 'four originals and two replays')
    assert.deepEqual(all.filter((r: any) => r.state === 'dead').map((r: any) => r.eventId).sort(), [...matching, `bulk_${tag}_3`, `bulk_${tag}_4`])
  })

  it('refuses a bulk replay of runs in a state other than dead', async () => {
    const { status, body } = await call('/runs/replay?state=succeeded', { method: 'POST' })
    assert.equal(status, 400)
    assert.match(body.error, /state.*dead/)
  })
})

describe('bad requests', () => {
  const badFilters = [
    ['GET', '/events?since=yesterday', /since: expected an ISO 8601 time or epoch milliseconds/],
    ['GET', '/events?until=2024-13-45', /until: expected an ISO 8601 time/],
    ['GET', '/events?limit=ten', /limit: expected a non-negative integer/],
    ['GET', '/events?before=-5', /beforeSeq: expected a non-negative integer/],
    ['GET', '/runs?state=exploded', /state: expected one of pending, running, succeeded, retrying, dead/],
    ['GET', '/runs?since=soon', /since: expected/],
    ['GET', '/runs?limit=1.5', /limit: expected a non-negative integer/],
    ['POST', '/runs/replay?until=later', /until: expected/],
  ] as const
  for (const [method, path, reason] of badFilters) {
    it(`400 with a reason for ${method} ${path}`, async () => {
      const { status, body } = await call(path, { method })
      assert.equal(status, 400)
      assert.match(body.error, reason)
    })
  }

  const unknown = [
    ['GET', '/events/webhooks/no-such-event'],
    ['GET', '/events/no-such-source/x'],
    ['GET', '/runs/987654321'],
    ['POST', '/runs/987654321/replay'],
    ['GET', '/runs/not-a-number'],
  ] as const
  for (const [method, path] of unknown) {
    it(`404 for ${method} ${path}`, async () => {
      const { status, body } = await call(path, { method })
      assert.equal(status, 404)
      assert.equal(typeof body.error, 'string')
    })
  }
})

describe('admin guard', async () => {
  const token = `adm_${randomUUID()}`
  const secured = await start({ project, db: `sqlite:${join(project, 'secured.db')}`, adminToken: token })
  const bodies: string[] = []
  const securedGet = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${secured.url}/admin/api${path}`, { headers })
    bodies.push(await response.text())
    return response.status
  }

  it('answers 401 without a bearer token or with a wrong one', async () => {
    assert.equal(await securedGet('/runs'), 401)
    assert.equal(await securedGet('/runs', { authorization: `Bearer ${token}x` }), 401)
    assert.equal(await securedGet('/runs', { authorization: `Bearer ${token.slice(0, -1)}` }), 401)
    assert.equal(await securedGet('/runs', { authorization: token }), 401)
    assert.match(bodies[0]!, /bearer token/)
  })

  it('answers 200 with the right bearer token', async () => {
    const authorization = `Bearer ${token}`
    const sent = await sendEvent(secured.url, { type: 'fragile.ok' })
    assert.equal(await securedGet('/runs', { authorization }), 200)
    assert.equal(await securedGet('/actions', { authorization }), 200)
    await eventually(async () => {
      assert.equal(await securedGet(`/events/webhooks/${sent.id}`, { authorization }), 200)
      return JSON.parse(bodies.at(-1)!).runs[0].state === 'succeeded'
    }, 5000, 'the run to succeed')
  })

  it('never puts the token in a response body or a log line', async () => {
    assert.equal((await sendEvent(secured.url, { secret: 'whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==' })).status, 401)
    assert.ok(bodies.length >= 7)
    assert.ok(secured.logs.some((line) => line.includes('run succeeded')) && secured.logs.some((line) => line.includes('rejected')))
    for (const text of [...bodies, ...secured.logs]) assert.ok(!text.includes(token), `token leaked in: ${text}`)
  })

  it('with no token, answers on loopback', async () => {
    assert.equal((await call('/runs?limit=1')).status, 200)
  })

  it('with no token, refuses a caller that is not on loopback (403)', async () => {
    const response = await createApp(storehook.runtime).request('/admin/api/runs')
    assert.equal(response.status, 403)
    assert.match(((await response.json()) as any).error, /STOREHOOK_ADMIN_TOKEN is not set/)
  })

  it('with a token, lets a caller that is not on loopback in with it, and only with it', async () => {
    const app = createApp(secured.runtime, { adminToken: token })
    assert.equal((await app.request('/admin/api/runs', { headers: { authorization: `Bearer ${token}` } })).status, 200)
    assert.equal((await app.request('/admin/api/runs')).status, 401)
  })
})

describe('/metrics', async () => {
  const target = await startErpSimulator()
  after(() => target.close())
  const metered = await start({
    project: makeProject({
      'storehook.config.ts': webhooksConfig(`
  connections: { erp: { kind: 'http', baseUrl: '${target.url}/orders' } },
  worker: { pollIntervalMs: 50, shutdownGraceMs: 100 },`),
      'actions/forward.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'order.*', retry: { baseDelayMs: 10, maxDelayMs: 10 } }, async (event, { connections }) => {
  await connections.erp.post('', { json: event.payload, idempotencyKey: event.id })
})`,
      // One run at a time, each held until storehook stops: the rest stay pending.
      'actions/hold.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'hold', concurrency: 1 }, (event, { signal }) => new Promise((resolve) => signal.addEventListener('abort', resolve)))`,
    }),
  })
  let text = ''
  const value = (name: string, labels: Record<string, string> = {}) => sample(text, name, labels)

  before(async () => {
    const settle = async (id: string, state: string) =>
      eventually(async () => {
        const { body } = await fetch(`${metered.url}/admin/api/events/webhooks/${id}`).then(async (r) => ({ body: (await r.json()) as any }))
        return body.runs?.[0]?.state === state
      }, 5000, `${id} to be ${state}`)
    target.respondWith(503)
    await settle((await sendEvent(metered.url, { type: 'order.created' })).id, 'succeeded')
    const second = await sendEvent(metered.url, { type: 'order.created' })
    await settle(second.id, 'succeeded')
    target.respondWith(422)
    await settle((await sendEvent(metered.url, { type: 'order.updated' })).id, 'dead')
    assert.equal((await sendEvent(metered.url, { id: second.id, type: 'order.created' })).body.events[0].duplicate, true)
    assert.equal((await sendEvent(metered.url, { secret: 'whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==' })).status, 401)
    for (let i = 0; i < 3; i++) await sendEvent(metered.url, { type: 'hold' })
    await eventually(async () => {
      text = await (await fetch(`${metered.url}/metrics`)).text()
      return value('storehook_runs', { state: 'running' }) === 1
    }, 5000, 'one held run to be running')
  })

  it('counts received, duplicate and rejected events by label', () => {
    assert.equal(value('storehook_events_received_total', { source: 'webhooks', type: 'order.created' }), 2)
    assert.equal(value('storehook_events_received_total', { source: 'webhooks', type: 'order.updated' }), 1)
    assert.equal(value('storehook_events_received_total', { source: 'webhooks', type: 'hold' }), 3)
    assert.equal(value('storehook_events_duplicate_total', { source: 'webhooks', type: 'order.created' }), 1)
    assert.equal(value('storehook_events_rejected_total', { source: 'webhooks', reason: 'signature' }), 1)
  })

  it('counts finished attempts by action and outcome', () => {
    assert.equal(value('storehook_run_attempts_total', { action: 'forward', outcome: 'succeeded' }), 2)
    assert.equal(value('storehook_run_attempts_total', { action: 'forward', outcome: 'retrying' }), 1)
    assert.equal(value('storehook_run_attempts_total', { action: 'forward', outcome: 'dead' }), 1)
    assert.equal(value('storehook_run_attempts_total', { action: 'hold', outcome: 'succeeded' }), undefined)
  })

  it('times attempts in a histogram', () => {
    assert.match(text, /^# TYPE storehook_run_attempt_duration_seconds histogram$/m)
    const succeeded = { action: 'forward', outcome: 'succeeded' }
    assert.equal(value('storehook_run_attempt_duration_seconds_count', succeeded), 2)
    assert.equal(value('storehook_run_attempt_duration_seconds_bucket', { ...succeeded, le: '+Inf' }), 2)
    const sum = value('storehook_run_attempt_duration_seconds_sum', succeeded)!
    assert.ok(sum > 0 && sum < 10, `sum of durations ${sum} s`)
    assert.equal(value('storehook_run_attempt_duration_seconds_count', { action: 'forward', outcome: 'retrying' }), 1)
    const buckets = ['0.005', '0.01', '0.1', '1', '10', '60'].map((le) => value('storehook_run_attempt_duration_seconds_bucket', { ...succeeded, le })!)
    assert.deepEqual(buckets, [...buckets].sort((x, y) => x - y), 'cumulative buckets never decrease')
  })

  it('reports runs in the store by state', () => {
    assert.equal(value('storehook_runs', { state: 'pending' }), 2)
    assert.equal(value('storehook_runs', { state: 'running' }), 1)
    assert.equal(value('storehook_runs', { state: 'succeeded' }), 2)
    assert.equal(value('storehook_runs', { state: 'dead' }), 1)
    assert.equal(value('storehook_runs', { state: 'retrying' }), 0)
  })
})

/** The value of the Prometheus sample `name` whose labels are exactly `labels`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]))
    const wanted = Object.entries(labels)
    if (wanted.length === Object.keys(found).length && wanted.every(([k, v]) => found[k] === v)) return Number(match[3])
  }
  return undefined
}
