/**
 * What a run did, end to end: a real storehook (testkit harness, SQLite file) runs actions that log
 * through `ctx.logger` and the console and call the ERP simulator through an `http` connection;
 * the run's page and the admin API then show the lines per attempt, searchable, and the outbound
 * calls, with every secret redacted. Concurrent runs keep their own lines; a chatty action is
 * capped.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { RunLogLine } from '../src/store/store.ts'
import { startHarness, type StorehookHarness } from '../src/testkit/harness.ts'
import { login, type Session } from './browser/storehook.ts'
import { eventually, makeProject, webhooksConfig } from './helpers.ts'

const TOKEN = 'admin-token-for-run-logs-test'
const SECRETS = { password: 'hunter2-not-shown', consoleToken: 'tok-console-not-shown', queryToken: 'query-token-not-shown', bearer: 'bearer-not-shown' }

const project = makeProject({
  'storehook.config.ts': webhooksConfig(`connections: { erp: { kind: 'http', baseUrl: env('ERP_URL') } },
  worker: { pollIntervalMs: 50, logLinesPerAttempt: 8, logLineLength: 200 },`).replace("import { defineConfig }", 'import { defineConfig, env }'),
  'actions/forward.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'order.created', retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 } }, async (event, ctx) => {
  ctx.logger.info({ password: '${SECRETS.password}', sku: event.payload.data.sku, customer_email: 'ann@example.com' }, 'sending order ' + event.payload.data.id)
  console.log('console object', { token: '${SECRETS.consoleToken}', n: 1 })
  console.error('ERP may be slow; auth: Bearer ${SECRETS.bearer}')
  process.stdout.write('raw partial ')
  process.stdout.write('line\\n')
  await ctx.connections.erp.post('orders?access_token=${SECRETS.queryToken}&page=2', { json: event.payload.data })
  if (ctx.attempt === 1) throw new Error('the first attempt fails after calling the ERP')
})`,
  'actions/interleave.ts': `import { onEvent } from 'storehook'
import { setTimeout as sleep } from 'node:timers/promises'
export default onEvent('order.interleave', async (event, ctx) => {
  for (let i = 0; i < 3; i++) {
    ctx.logger.info('logger ' + i + ' of ' + event.id)
    await sleep(5)
    console.log('console ' + i + ' of ' + event.id)
    await sleep(5)
  }
})`,
  'actions/chatty.ts': `import { onEvent } from 'storehook'
export default onEvent('order.chatty', async (event, ctx) => {
  ctx.logger.warn({ blob: 'y'.repeat(500) }, 'x'.repeat(300))
  for (let i = 0; i < 20; i++) console.log('line ' + i)
})`,
})

let sh: StorehookHarness
let session: Session

before(async () => {
  sh = await startHarness({ project, simulators: ['erp'], adminToken: TOKEN, env: { STOREHOOK_REDACT_FIELDS: 'customer_email' } })
  session = await login(sh.url, TOKEN)
})
after(() => sh?.close())

const api = async (path: string) => {
  const response = await fetch(`${sh.url}/admin/api${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })
  return { status: response.status, text: await response.text() }
}
const page = async (path: string) => (await fetch(`${sh.url}${path}`, { headers: { cookie: session.cookie } })).text()

/** Waits for the run's lines of every attempt to be stored (they are written in batches, off the run's path). */
async function linesOf(runId: number, count: number): Promise<RunLogLine[]> {
  const lines = () => sh.storehook.runtime.store.listRunLogs!({ runId, limit: 1000 })
  await eventually(async () => (await lines()).length >= count, 10_000, `${count} log lines of run ${runId}`)
  return lines()
}

function assertNoSecret(text: string, where: string) {
  for (const secret of Object.values(SECRETS)) assert.ok(!text.includes(secret), `${secret} appears in ${where}`)
}

describe('what a run did: logs and outbound calls', () => {
  it('keeps every line of each attempt, redacted, and shows them in the API and on the run page, searchable', async () => {
    const { eventId } = await sh.send('webhooks', { type: 'order.created', data: { id: 'A-42', sku: 'SKU-1' } })
    const { run } = await sh.waitForRun({ eventId })
    assert.equal(run.state, 'succeeded')
    assert.equal(run.attempts, 2)
    await linesOf(run.id, 8)

    const logs = await api(`/runs/${run.id}/logs`)
    assert.equal(logs.status, 200)
    assertNoSecret(logs.text, 'the logs API')
    const { lines } = JSON.parse(logs.text) as { lines: { attempt: number; level: string; message: string; fields: Record<string, unknown> | null }[] }
    const first = lines.filter((l) => l.attempt === 1)
    assert.deepEqual(first.map((l) => [l.level, l.message]), [
      ['info', 'sending order A-42'],
      ['stdout', "console object { token: '[redacted]', n: 1 }"],
      ['stderr', 'ERP may be slow; auth: Bearer [redacted]'],
      ['stdout', 'raw partial line'],
    ])
    assert.deepEqual(first[0]!.fields, { password: '[redacted]', sku: 'SKU-1', customer_email: 'ann@example.com' })
    assert.equal(lines.filter((l) => l.attempt === 2).length, 4)
    // The process's own log has the line as before, with its bindings.
    const logged = sh.logs.find((l) => l.msg === 'sending order A-42')
    assert.deepEqual([logged?.runId, logged?.attempt, logged?.password], [run.id, 1, '[redacted]'])

    const search = async (query: string) => JSON.parse((await api(`/runs/${run.id}/logs?${query}`)).text).lines.map((l: { attempt: number; message: string }) => `${l.attempt}: ${l.message}`)
    assert.deepEqual(await search('q=SENDING%20ORDER'), ['1: sending order A-42', '2: sending order A-42'])
    assert.deepEqual(await search('q=sku-1'), ['1: sending order A-42', '2: sending order A-42'], 'the fields are searched too')
    assert.deepEqual(await search('level=stderr&attempt=2'), ['2: ERP may be slow; auth: Bearer [redacted]'])
    assert.deepEqual(await search('q=hunter2'), [], 'a redacted value is not found either')
    assert.equal((await api(`/runs/${run.id}/logs?level=loud`)).status, 400)
    assert.equal((await api(`/runs/${run.id}/logs?attempt=first`)).status, 400)
    assert.equal((await api('/runs/999999/logs')).status, 404)

    const outboundCalls = async () => (JSON.parse((await api(`/runs/${run.id}/outbound-calls`)).text) as { calls: Record<string, unknown>[] }).calls
    await eventually(async () => (await outboundCalls()).length === 2, 10_000, 'both outbound calls')
    const calls = await outboundCalls()
    assert.deepEqual(calls.map((c) => [c.attempt, c.connection, c.method, c.url, c.status, c.error]), [
      [1, 'erp', 'POST', `${sh.erp.url}/orders?access_token=[redacted]&page=2`, 200, null],
      [2, 'erp', 'POST', `${sh.erp.url}/orders?access_token=[redacted]&page=2`, 200, null],
    ])
    for (const call of calls) {
      assert.ok(typeof call.durationMs === 'number' && call.durationMs >= 0)
      assert.ok(Math.abs(Date.parse(String(call.startedAt)) - Date.now()) < 60_000)
      assert.equal(call.traceId, null, 'no trace id without a registered OpenTelemetry SDK')
    }
    assert.equal(sh.erpRequests().length, 2)

    const html = await page(`/admin/runs/${run.id}`)
    assertNoSecret(html, 'the run page')
    assert.match(html, /<h2>Logs<\/h2>/)
    assert.match(html, /<summary>Attempt 1: 4 lines<\/summary>/)
    assert.match(html, /sending order A-42 \{&quot;password&quot;:&quot;\[redacted\]&quot;,&quot;sku&quot;:&quot;SKU-1&quot;,&quot;customer_email&quot;:&quot;\[redacted\]&quot;\}/)
    assert.ok(!html.includes('ann@example.com'), 'personal data named in STOREHOOK_REDACT_FIELDS is redacted on the page')
    assert.match(html, /<h2>Outbound calls<\/h2>[\s\S]*orders\?access_token=\[redacted\]&amp;page=2/)
    const found = await page(`/admin/runs/${run.id}?q=raw+partial&level=stdout`)
    assert.match(found, /<summary>Attempt 1: 1 line matching<\/summary>/)
    assert.match(found, /raw partial line/)
    assert.ok(!found.includes('sending order A-42'))
    assert.match(await page(`/admin/runs/${run.id}?q=nothing-like-this`), /No line matches this search/)
  })

  it('keeps the lines of concurrent runs apart', async () => {
    const sent = await Promise.all(['one', 'two', 'three'].map((id) => sh.send('webhooks', { type: 'order.interleave', id: `interleave-${id}` })))
    for (const { eventId } of sent) {
      const { run } = await sh.waitForRun({ eventId })
      const lines = await linesOf(run.id, 6)
      assert.deepEqual(lines.map((l) => l.message), [0, 1, 2].flatMap((i) => [`logger ${i} of ${eventId}`, `console ${i} of ${eventId}`]))
    }
  })

  it('caps lines per attempt and their length, saying how many were dropped', async () => {
    const { eventId } = await sh.send('webhooks', { type: 'order.chatty' })
    const { run } = await sh.waitForRun({ eventId })
    const lines = await linesOf(run.id, 9)
    assert.equal(lines.length, 9)
    assert.equal(lines[0]!.message, `${'x'.repeat(200)}… (100 more characters)`)
    assert.deepEqual(Object.keys(lines[0]!.fields!), ['truncated'])
    assert.deepEqual(lines.slice(1, 8).map((l) => l.message), [0, 1, 2, 3, 4, 5, 6].map((i) => `line ${i}`))
    assert.deepEqual([lines[8]!.level, lines[8]!.message], ['warn', '… 13 more lines dropped (at most 8 lines are kept per attempt)'])
  })
})
