/**
 * The dashboard on an event whose payload retention removed: the run page says so, and its replay
 * button answers with the reason instead of running the action on `{}` (over real HTTP, signed in).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { createLogger } from '../src/runtime/logger.ts'
import type { RetentionCursor } from '../src/store/retention.ts'
import { login, startWithDashboard } from './browser/storehook.ts'
import { eventually, makeProject, sendEvent, webhooksConfig } from './helpers.ts'

const DAY_MS = 86_400_000
const token = `admin-${randomBytes(12).toString('hex')}`
const project = makeProject({
  'storehook.config.ts': webhooksConfig('worker: { pollIntervalMs: 50 },'),
  'actions/refuse.ts': `import { onEvent, PermanentError } from 'storehook'
export default onEvent('order.*', async () => { throw new PermanentError('refused for the test') })
`,
})
const storehook = await startWithDashboard({ project, adminToken: token, logger: createLogger({ level: 'fatal' }) })
after(() => storehook.close())
const session = await login(storehook.url, token)
const request = (path: string, init: RequestInit = {}) =>
  fetch(`${storehook.url}${path}`, { redirect: 'manual', ...init, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, ...(init.headers as Record<string, string>) } })

describe('a run whose payload retention removed', () => {
  it('shows when it was removed, and its replay answers why it cannot run', async () => {
    const { store } = storehook.runtime
    const sent = await sendEvent(storehook.url, { type: 'order.created', data: { customer: 'c1' } })
    const run = (await eventually(async () => (await store.listRuns({ state: 'dead' }))[0], 10_000, 'the run to be dead'))!
    let cursor: RetentionCursor | null | undefined
    do cursor = (await store.applyRetention({ policy: { payloadsDays: 1, metadataDays: null, externalCallsDays: null }, now: Date.now() + 2 * DAY_MS, batchSize: 100, ...(cursor ? { cursor } : {}) })).next
    while (cursor)
    assert.ok((await store.getEvent('webhooks', sent.id))!.payloadRemovedAt)

    const page = await (await request(`/admin/runs/${run.id}`)).text()
    assert.match(page, /class="notice warn">Removed <time[^>]*>[^<]+<\/time> by retention or an expunge/)

    const htmx = await request(`/admin/runs/${run.id}/replay`, { method: 'POST', headers: { 'hx-request': 'true' } })
    assert.equal(htmx.status, 200, 'htmx swaps only 2xx answers')
    assert.match(await htmx.text(), /notice warn">run \d+ cannot be replayed: its event&#39;s payload was removed/)
    const form = await request(`/admin/runs/${run.id}/replay`, { method: 'POST' })
    assert.equal(form.status, 409)
    assert.equal((await store.runsForEvent(run.eventSeq)).length, 1, 'no replay was created')
  })
})
