/**
 * A storehook with its dashboard, seeded for the dashboard's HTTP tests: orders forwarded to an ERP
 * simulator (one carrying a password and a card number, one a configured secret in an innocent
 * field), three payments whose runs are dead (the `fragile` action is broken while the project's
 * flag file exists), an event stored with an `Authorization` header, and three calls to the `price`
 * external resource (one answered by its fallback). Everything is closed after the test file.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after } from 'node:test'
import { createLogger } from '../../src/runtime/logger.ts'
import { startErpSimulator } from '../../src/testkit/erp-simulator.ts'
import { eventually } from '../helpers.ts'
import { callPrice, DEMO_SECRETS, makeDemoProject, sendDemoEvent } from './demo-project.ts'
import { login, startWithDashboard, type Session } from './storehook.ts'

/**
 * @example
 * const { url, request, deadRuns } = await seededDashboard()
 * const page = (await request(`/admin/runs/${deadRuns[0]}`)).text
 */
export async function seededDashboard() {
  const token = `admin-${randomBytes(12).toString('hex')}`
  const tag = randomBytes(4).toString('hex')
  /** Values that must never reach a page. */
  const secrets = {
    ...DEMO_SECRETS,
    admin: token,
    payloadPassword: `hunter2-${tag}`,
    card: '4111111111111111',
    bearer: `leaked-bearer-${tag}`,
  }

  const erp = await startErpSimulator()
  after(() => erp.close())
  const project = makeDemoProject(erp.url)
  after(() => project.remove())
  const storehook = await startWithDashboard({ project: project.dir, adminToken: token, logger: createLogger({ level: 'fatal' }) })
  after(() => storehook.close())
  const { url, runtime } = storehook
  const { store } = runtime

  assert.equal(await sendDemoEvent(url, 'webhooks', { id: `ord_${tag}_1`, type: 'order.created', data: { customer: { password: secrets.payloadPassword }, card_number: secrets.card } }), 200)
  // A configured secret inside a payload field with an innocent name: only the scrubber catches it.
  assert.equal(await sendDemoEvent(url, 'webhooks', { id: `ord_${tag}_2`, type: 'order.updated', data: { note: `erp password is ${DEMO_SECRETS.erpPassword}` } }), 200)
  for (const i of [1, 2, 3]) assert.equal(await sendDemoEvent(url, 'shop', { id: `pay_${tag}_${i}`, type: 'payment.captured' }), 200)
  // An event stored with a credential header (as a store written before header redaction would hold it).
  await store.ingest([{ source: 'webhooks', event: { id: `raw_${tag}`, type: 'order.imported', payload: { ok: true }, headers: { authorization: `Bearer ${secrets.bearer}` } }, runs: [] }])
  for (const sku of ['A', 'SLOW', 'HANG']) await callPrice(url, sku)
  await eventually(async () => (await store.listRuns({ state: 'dead', eventIdContains: `pay_${tag}` })).length === 3, 10_000, 'the payments to go dead')
  await eventually(async () => (await store.listRuns({ state: 'succeeded', eventIdContains: `ord_${tag}` })).length === 2, 10_000, 'the orders to be forwarded')
  await eventually(async () => (await store.listExternalCalls!({ resource: 'price' })).length === 3, 10_000, 'the price calls to be recorded')
  const deadRuns = (await store.listRuns({ state: 'dead', eventIdContains: `pay_${tag}` })).map((r) => r.id)
  const session = await login(url, token)

  /** A request as the signed-in operator (or as `as`, or anonymously with `session: null`); redirects are not followed. */
  async function request(path: string, init: RequestInit & { session?: Session | null } = {}) {
    const { session: as = session, headers, ...rest } = init
    const response = await fetch(`${url}${path}`, { redirect: 'manual', ...rest, headers: { ...(as ? { cookie: as.cookie } : {}), ...(headers as Record<string, string>) } })
    return { status: response.status, headers: response.headers, text: await response.text() }
  }

  return { storehook, url, runtime, store, project, token, tag, secrets, deadRuns, session, request }
}
