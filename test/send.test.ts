/**
 * `storehook send` as users run it (`bin/storehook.js` in a child process) against a storehook
 * running the project it reads: for each kind of source (Adobe I/O Events, Commerce Layer
 * webhooks, Standard Webhooks) and a Commerce Layer external resource, the signed request is
 * accepted, the stored payload is the fixture's (with `--data` merged in), and the run is
 * printed; every way it can go wrong ends with its documented exit code and a message that says
 * what to do.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { SEND_EXIT_CODES } from '../src/cli/send.ts'
import { makeProject, REPO_ROOT, start, TEST_SECRET } from './helpers.ts'

const CLI = join(REPO_ROOT, 'bin', 'storehook.js')
const FIXTURES = join(REPO_ROOT, 'src', 'cli', 'fixtures')
const ADMIN_TOKEN = 'send-test-admin-token'
const CL_SECRET = 'b3d2c1f0a9e8d7c6b5a4f3e2d1c0b9a8'
const fixture = (path: string) => JSON.parse(readFileSync(join(FIXTURES, path), 'utf8')).payload

/** A free port on 127.0.0.1 (listened on and released). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

const keysPort = await freePort()
// Held for the whole file: the `busy` source's key server address is taken.
const squatter = createServer()
await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve))
after(() => new Promise((resolve) => squatter.close(resolve)))

const env: Record<string, string> = {
  WEBHOOK_SECRET: TEST_SECRET,
  CL_SHARED_SECRET: CL_SECRET,
  IO_KEYS_URL: `http://127.0.0.1:${keysPort}`,
  BUSY_KEYS_URL: `http://127.0.0.1:${(squatter.address() as AddressInfo).port}`,
}
Object.assign(process.env, env)

const project = makeProject({
  'storehook.config.ts': `import { defineConfig, env } from 'storehook'
export default defineConfig({
  sources: {
    webhooks: { kind: 'standard-webhooks', secrets: env('WEBHOOK_SECRET') },
    commerce: { kind: 'adobe-io-events', clientId: 'send-test-client', publicKeyBaseUrl: env('IO_KEYS_URL') },
    cl: { kind: 'commerce-layer', secrets: env('CL_SHARED_SECRET') },
    busy: { kind: 'adobe-io-events', clientId: 'send-test-client', publicKeyBaseUrl: env('BUSY_KEYS_URL') },
    adobe: { kind: 'adobe-io-events', clientId: 'send-test-client' },
  },
  worker: { pollIntervalMs: 50, shutdownGraceMs: 200 },
})
`,
  'actions/ok.ts': `import { onEvent } from 'storehook'
export default onEvent(['order.created', 'invoice.paid', 'observer.sales_order_save_after', 'orders.place'], async () => {})
`,
  'actions/refuse.ts': `import { onEvent, PermanentError } from 'storehook'
export default onEvent('order.rejected', async () => { throw new PermanentError('the ERP would refuse this order') })
`,
  'actions/slow.ts': `import { onEvent } from 'storehook'
import { setTimeout } from 'node:timers/promises'
export default onEvent('order.slow', async (event, { signal }) => { await setTimeout(5000, undefined, { signal }) })
`,
  'actions/flaky.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'order.flaky', retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 100 } }, async (event, { attempt }) => {
  if (attempt === 1) throw new Error('the first attempt fails')
})
`,
  'external/price.ts': `import { commerceLayer, env } from 'storehook'
export default commerceLayer.price((lineItem) => ({ unit_amount_cents: lineItem.sku_code === 'TSHIRTMM000000FFFFFFXLXX' ? 2500 : 100 }), { secrets: env('CL_SHARED_SECRET') })
`,
})
const storehook = await start({ project, adminToken: ADMIN_TOKEN, db: `sqlite:${join(makeProject({}), 'store.db')}` })

interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `storehook send <args>` against the running storehook, with the project's environment. */
function send(args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, STOREHOOK_ADMIN_TOKEN: ADMIN_TOKEN, STOREHOOK_URL: storehook.url, ...extraEnv }
  for (const name of ['NODE_TEST_CONTEXT', 'NODE_OPTIONS']) delete childEnv[name]
  for (const [name, value] of Object.entries(extraEnv)) if (value === undefined) delete childEnv[name]
  const child = spawn(process.execPath, [CLI, 'send', '--project', project, ...args], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`storehook send ${args.join(' ')} did not exit within 30 s\n${stdout}${stderr}`))
    }, 30_000)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** `send --json`, which must exit with `code`; its report. */
async function sendJson(args: string[], code: number = SEND_EXIT_CODES.succeeded): Promise<any> {
  const result = await send([...args, '--json'])
  assert.equal(result.code, code, `storehook send ${args.join(' ')}\n${result.stdout}${result.stderr}`)
  return JSON.parse(result.stdout)
}

async function admin(path: string): Promise<any> {
  const response = await fetch(`${storehook.url}/admin/api${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  return response.json()
}

/** The stored event a send produced (ids of Commerce Layer events hold slashes, so by listing). */
async function storedEvent(source: string, id: string): Promise<any> {
  const { events } = await admin(`/events?source=${source}&q=${encodeURIComponent(id)}`)
  return events.find((e: any) => e.id === id)
}

describe('storehook send, for each kind of source', () => {
  it('finds a running `storehook dev` of the project: its address, and the variables it set for the project', async () => {
    // What `storehook dev` writes while it runs (src/cli/dev.ts, DEV_SESSION_FILE); this process stands for it.
    mkdirSync(join(project, '.storehook'), { recursive: true })
    const session = join(project, '.storehook', 'dev.json')
    writeFileSync(session, JSON.stringify({ url: storehook.url, pid: process.pid, env: { WEBHOOK_SECRET: TEST_SECRET } }))
    try {
      const result = await send(['webhooks'], { STOREHOOK_URL: undefined, WEBHOOK_SECRET: undefined })
      assert.equal(result.code, SEND_EXIT_CODES.succeeded, result.stdout + result.stderr)
      assert.match(result.stdout, new RegExp(`^→ POST ${storehook.url}/events/webhooks `))
    } finally {
      rmSync(session)
    }
    // A session file whose dev is gone is ignored: without its variables the project does not load.
    writeFileSync(session, JSON.stringify({ url: storehook.url, pid: 2 ** 22 + 12345, env: { WEBHOOK_SECRET: TEST_SECRET } }))
    try {
      const result = await send(['webhooks'], { STOREHOOK_URL: undefined, WEBHOOK_SECRET: undefined })
      assert.equal(result.code, SEND_EXIT_CODES.usage, result.stdout + result.stderr)
      assert.match(result.stderr, /WEBHOOK_SECRET is not set/)
    } finally {
      rmSync(session)
    }
  })

  it('signs a Standard Webhook with the source secret; the run succeeds and is printed with its dashboard link', async () => {
    const result = await send(['webhooks'])
    assert.equal(result.code, SEND_EXIT_CODES.succeeded, result.stdout + result.stderr)
    const [sent, answer, run, link] = result.stdout.trimEnd().split('\n')
    assert.match(sent!, new RegExp(`^→ POST ${storehook.url}/events/webhooks  order\\.created \\(fixture, event (msg_\\w+)\\)$`))
    assert.match(answer!, /^← 200 \{"received":1,"events":\[\{"id":"msg_\w+","type":"order.created","duplicate":false,"runs":1\}\]\}$/)
    assert.match(run!, /^run \d+ ok: succeeded \(attempt 1 of 25\)$/)
    assert.equal(link, `  ${storehook.url}/admin/runs/${/^run (\d+)/.exec(run!)![1]}`)
    const id = /event (msg_\w+)/.exec(sent!)![1]!
    const event = await storedEvent('webhooks', id)
    assert.equal(event.type, 'order.created')
    assert.deepEqual(event.payload.data, fixture('standard-webhooks/order.created.json'))
  })

  it('sends an Adobe I/O Events CloudEvent signed with keys served where the source fetches them, --data merged into data.value', async () => {
    const report = await sendJson(['commerce', 'observer.sales_order_save_after', '--data', '{"entity_id": 7, "status": "processing"}'])
    assert.equal(report.outcome, 'succeeded')
    assert.equal(report.answer.status, 200)
    assert.match(report.request.headers['x-adobe-digital-signature-1'], /^[A-Za-z0-9+/]+=*$/)
    assert.equal(report.runs.length, 1)
    assert.equal(report.runs[0].state, 'succeeded')
    assert.equal(report.runs[0].dashboard, `${storehook.url}/admin/runs/${report.runs[0].id}`)
    const event = await storedEvent('commerce', report.runs[0].eventId)
    assert.equal(event.type, 'observer.sales_order_save_after')
    assert.equal(event.payload.type, 'com.adobe.commerce.observer.sales_order_save_after')
    assert.equal(event.payload.recipientclientid, 'send-test-client')
    assert.deepEqual(event.payload.data.value, { ...fixture('adobe-io-events/observer.sales_order_save_after.json'), entity_id: 7, status: 'processing' })
  })

  it('makes each send a new event: two sends of one fixture are two runs', async () => {
    const first = await sendJson(['commerce'])
    const second = await sendJson(['commerce'])
    assert.notEqual(first.runs[0].eventId, second.runs[0].eventId)
    assert.notEqual(first.runs[0].id, second.runs[0].id)
  })

  it('sends a Commerce Layer webhook signed with the shared secret, as a new change of the order', async () => {
    const report = await sendJson(['cl', 'orders.place'])
    assert.equal(report.request.headers['x-commercelayer-topic'], 'orders.place')
    assert.equal(report.runs[0].state, 'succeeded')
    const document = fixture('commerce-layer/orders.place.json')
    assert.match(report.runs[0].eventId, new RegExp(`^orders\\.place/${document.data.id}/\\d{4}-`))
    const event = await storedEvent('cl', report.runs[0].eventId)
    assert.deepEqual(event.payload.included, document.included)
    assert.notEqual(event.payload.data.attributes.updated_at, document.data.attributes.updated_at)
  })

  it("calls a Commerce Layer external resource with its kind's fixture and prints the answer", async () => {
    const result = await send(['price'])
    assert.equal(result.code, SEND_EXIT_CODES.succeeded, result.stdout + result.stderr)
    const [sent, answer] = result.stdout.trimEnd().split('\n')
    assert.equal(sent, `→ POST ${storehook.url}/external/price  price (fixture)`)
    assert.equal(answer, '← 200 {"success":true,"data":{"sku_code":"TSHIRTMM000000FFFFFFXLXX","unit_amount_cents":2500}}')
    const report = await sendJson(['external/price', '--data', '{"sku_code": "CAP"}'])
    assert.deepEqual(report.answer.body, { success: true, data: { sku_code: 'CAP', unit_amount_cents: 100 } })
  })

  it('sends --type with --data alone, and a fixture file of your own', async () => {
    const typed = await sendJson(['webhooks', '--type', 'invoice.paid', '--data', '{"invoice_id": "in_1"}'])
    assert.equal(typed.fixture, '')
    assert.deepEqual(typed.request.body.data, { invoice_id: 'in_1' })
    assert.equal(typed.runs[0].eventType, 'invoice.paid')
    const file = join(project, 'my-order.json')
    writeFileSync(file, JSON.stringify({ platform: 'standard-webhooks', type: 'order.created', payload: { order_id: 'mine' } }))
    const own = await sendJson(['webhooks', file])
    assert.deepEqual(own.request.body.data, { order_id: 'mine' })
    assert.equal(own.runs[0].state, 'succeeded')
  })

  it('waits through retries with --wait, until the run is final', async () => {
    const report = await sendJson(['webhooks', '--type', 'order.flaky', '--wait'])
    assert.equal(report.outcome, 'succeeded')
    assert.equal(report.runs[0].state, 'succeeded')
    assert.equal(report.runs[0].attempts, 2)
  })

  it('prints the signed request with --dry-run and sends nothing', async () => {
    const before = (await admin('/events?source=webhooks&limit=1000')).events.length
    const result = await send(['webhooks', '--dry-run'])
    assert.equal(result.code, SEND_EXIT_CODES.succeeded, result.stderr)
    assert.match(result.stdout, /^ {2}webhook-signature: v1,[A-Za-z0-9+/]+=*$/m)
    assert.match(result.stdout, /"order_id": "ord_1001"/)
    assert.equal((await admin('/events?source=webhooks&limit=1000')).events.length, before)
  })

  it("lists the project's sources and external resources with their fixtures", async () => {
    const result = await send(['--list', '--json'])
    assert.equal(result.code, 0, result.stderr)
    const { targets } = JSON.parse(result.stdout)
    const byName = Object.fromEntries(targets.map((t: any) => [t.name, t]))
    assert.deepEqual(byName.commerce.fixtures, ['observer.catalog_product_save_after', 'observer.customer_save_after', 'observer.sales_order_invoice_save_after', 'observer.sales_order_save_after', 'observer.sales_order_shipment_save_after'])
    assert.equal(byName.commerce.defaultFixture, 'observer.sales_order_save_after')
    assert.deepEqual(byName.price, { name: 'price', call: 'external', kind: 'commerce-layer/price', path: '/external/price', fixtures: ['price'], defaultFixture: 'price' })
    assert.deepEqual(byName.cl.fixtures, ['orders.place'])
    assert.deepEqual(byName.webhooks.fixtures, ['order.created'])
  })
})

// Concurrent: only one of these delivers to an I/O Events source, so no two want the key server's port.
describe('storehook send, when it does not go well', { concurrency: 2 }, () => {
  it('exits 4 when the run goes dead, with the reason', async () => {
    const result = await send(['webhooks', '--type', 'order.rejected'])
    assert.equal(result.code, SEND_EXIT_CODES.notSucceeded, result.stdout + result.stderr)
    assert.match(result.stdout, /^run \d+ refuse: dead \(attempt 1 of 25\): .*the ERP would refuse this order/m)
  })

  it('exits 4 when no action consumes the event', async () => {
    const result = await send(['commerce', 'observer.customer_save_after'])
    assert.equal(result.code, SEND_EXIT_CODES.notSucceeded, result.stdout + result.stderr)
    assert.match(result.stdout, /accepted, but no action consumes observer\.customer_save_after from source "commerce", so nothing ran/)
  })

  it('exits 5 when the run has not finished an attempt within --timeout', async () => {
    const result = await send(['webhooks', '--type', 'order.slow', '--timeout', '300'])
    assert.equal(result.code, SEND_EXIT_CODES.timedOut, result.stdout + result.stderr)
    assert.match(result.stdout, /^run \d+ slow: (pending|running) /m)
    assert.match(result.stdout, /did not finish an attempt within 300 ms \(--timeout\)/)
  })

  it('exits 3 when storehook refuses the signature (the sender has another secret)', async () => {
    const result = await send(['webhooks'], { WEBHOOK_SECRET: 'whsec_QW5vdGhlclNlY3JldEFub3RoZXJTZWNyZXQ=' })
    assert.equal(result.code, SEND_EXIT_CODES.refused, result.stdout + result.stderr)
    assert.match(result.stdout, /^← 401 /m)
  })

  it('exits 2 when nothing answers at --url', async () => {
    const result = await send(['webhooks', '--url', `http://127.0.0.1:${await freePort()}`])
    assert.equal(result.code, SEND_EXIT_CODES.unreachable, result.stdout + result.stderr)
    assert.equal(result.stdout, '')
    assert.match(result.stderr, /^storehook send: nothing answers at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): is storehook running there\?/)
  })

  it('exits 6 when the admin API wants a token it was not given', async () => {
    const result = await send(['webhooks'], { STOREHOOK_ADMIN_TOKEN: undefined })
    assert.equal(result.code, SEND_EXIT_CODES.adminApi, result.stdout + result.stderr)
    assert.match(result.stdout, /^← 200 /m)
    assert.match(result.stderr, /^storehook send: the admin API answered 401 .*set STOREHOOK_ADMIN_TOKEN/)
  })

  const usage: [string, string[], RegExp][] = [
    ['an unknown source, listing the known ones', ['nope'], /has no source or external resource named "nope"; it has: webhooks \(\/events\/webhooks\), commerce \(\/events\/commerce\), cl \(\/events\/cl\), busy .*price \(\/external\/price\)/],
    ['an unknown fixture, listing the bundled ones', ['commerce', 'observer.nope'], /no bundled fixture "observer\.nope" for adobe-io-events event; bundled: observer\.catalog_product_save_after, observer\.customer_save_after, observer\.sales_order_invoice_save_after, observer\.sales_order_save_after, observer\.sales_order_shipment_save_after/],
    ["another platform's fixture", ['webhooks', 'orders.place'], /no bundled fixture "orders\.place" for standard-webhooks event \("orders\.place" is a commerce-layer webhook fixture\)/],
    ['a fixture file that does not exist', ['webhooks', './missing.json'], /fixture file .*missing\.json does not exist/],
    ['--data that is not a JSON object', ['webhooks', '--data', '[1]'], /option '--data <json>' argument '\[1\]' is invalid\. expected a JSON object/],
    ['--type for an external resource', ['price', '--type', 'tax'], /--type does not apply to external resource "price": its kind \(price\) decides the payload/],
    ['no source at all', [], /name a source or external resource of the project \(storehook send --list shows them\)/],
    ["a source whose keys come from Adobe's server", ['adobe'], /fetches Adobe I\/O Events public keys from https:\/\/static\.adobeioevents\.com.* can serve only at http:\/\/127\.0\.0\.1:<port>/],
    ['a key server address already in use', ['busy'], /127\.0\.0\.1:\d+ \(publicKeyBaseUrl of source "busy"\) is in use/],
  ]
  it('exits 1 for a project that does not load, with the message storehook start would give', async () => {
    const broken = makeProject({ 'storehook.config.ts': `export default { sources: { x: { kind: 'nope' } } }\n` })
    const result = await send(['--project', broken, 'x'])
    assert.equal(result.code, SEND_EXIT_CODES.usage, result.stdout + result.stderr)
    assert.match(result.stderr, /storehook\.config\.ts: sources\.x\.kind: unknown kind "nope"/)
  })

  for (const [what, args, message] of usage) {
    it(`exits 1 for ${what}`, async () => {
      const result = await send(args)
      assert.equal(result.code, SEND_EXIT_CODES.usage, result.stdout + result.stderr)
      assert.match(result.stderr, message)
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'a message, not a stack trace')
    })
  }
})
