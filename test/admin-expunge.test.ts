/**
 * Expunge over the admin API (`POST /admin/api/expunge`, `GET /admin/api/expunges`), on a running
 * storehook with a token, real HTTP on 127.0.0.1 and a real SQLite file: the guard, refusals of
 * bad bodies, a dry run, the expunge itself seen through the event and replay routes, and the
 * audit record, with the email never in an answer or a log line.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import { subjectDigest } from '../src/store/expunge-subject.ts'
import { eventually, makeProject, sendEvent, start, webhooksConfig } from './helpers.ts'

const TOKEN = `tok_${randomUUID()}`
const EMAIL = 'ann.lee@example.com'

const project = makeProject({
  'storehook.config.ts': webhooksConfig('worker: { pollIntervalMs: 50 },'),
  'actions/refuse.ts': `import { onEvent, PermanentError } from 'storehook'
export default onEvent('order.*', async () => { throw new PermanentError('refused for the test') })
`,
})
const storehook = await start({ project, adminToken: TOKEN })

async function call(method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  const response = await fetch(`${storehook.url}/admin/api${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  const text = await response.text()
  return { status: response.status, text, body: JSON.parse(text) }
}

describe('POST /admin/api/expunge', () => {
  it('answers 401 without the token, for the expunge and for its records', async () => {
    assert.equal((await call('POST', '/expunge', { customerEmail: EMAIL }, null)).status, 401)
    assert.equal((await call('POST', '/expunge', { customerEmail: EMAIL }, `${TOKEN}x`)).status, 401)
    assert.equal((await call('GET', '/expunges', undefined, null)).status, 401)
  })

  it('answers 400 to a body with neither or both subjects, or anything else it cannot take', async () => {
    for (const body of [{}, { customerEmail: EMAIL, orderId: '42' }, { dryRun: true }]) {
      const answer = await call('POST', '/expunge', body)
      assert.equal(answer.status, 400, answer.text)
      assert.match(answer.body.error, /exactly one of customerEmail and orderId/)
    }
    for (const [body, reason] of [
      ['{"customerEmail":', /not valid JSON/],
      [{ email: EMAIL }, /expected \{"customerEmail"/],
      [{ customerEmail: 'not an email' }, /customer email: expected one address/],
      [{ orderId: -1 }, /orderId/],
      [{ customerEmail: EMAIL, dryRun: 'yes' }, /dryRun/],
    ] as const) {
      const answer = await call('POST', '/expunge', body)
      assert.equal(answer.status, 400, answer.text)
      assert.match(answer.body.error, reason)
    }
    assert.equal((await call('GET', '/expunges?digest=ann')).status, 400)
  })

  it('expunges after a dry run, leaves the audit record, and refuses to replay the run', async () => {
    const sent = await sendEvent(storehook.url, { type: 'order.created', data: { order_id: 'ord_1', customer: { email: 'Ann.Lee@Example.com' } } })
    const other = await sendEvent(storehook.url, { type: 'order.created', data: { customer: { email: 'bob@example.com' } } })
    const runOf = async (id: string) => (await call('GET', `/events/webhooks/${id}`)).body.runs[0]
    await eventually(async () => (await runOf(sent.id))?.state === 'dead' && (await runOf(other.id))?.state === 'dead', 10_000, 'both runs dead')

    const dryRun = await call('POST', '/expunge', { customerEmail: EMAIL, dryRun: true })
    assert.equal(dryRun.status, 200, dryRun.text)
    assert.deepEqual([dryRun.body.expunge.id, dryRun.body.expunge.removed.events], [null, [{ source: 'webhooks', id: sent.id }]])
    assert.deepEqual((await call('GET', `/events/webhooks/${sent.id}`)).body.event.payload.data.customer, { email: 'Ann.Lee@Example.com' })

    const done = await call('POST', '/expunge', { customerEmail: EMAIL })
    assert.equal(done.status, 201, done.text)
    const record = done.body.expunge
    assert.deepEqual([record.requestedBy, record.subjectKind, record.subjectDigest], ['admin-api', 'customer-email', subjectDigest({ kind: 'customer-email', value: EMAIL })])
    assert.match(record.at, /^\d{4}-\d\d-\d\dT/)
    assert.doesNotMatch(dryRun.text + done.text, /ann\.lee/i, 'the answers carry the digest, not the email')

    const { event } = (await call('GET', `/events/webhooks/${sent.id}`)).body
    assert.deepEqual([event.payload, event.headers], [{}, {}])
    assert.match(event.payloadRemovedAt, /^\d{4}-/)
    assert.deepEqual((await call('GET', `/events/webhooks/${other.id}`)).body.event.payload.data.customer, { email: 'bob@example.com' })

    const replay = await call('POST', `/runs/${(await runOf(sent.id)).id}/replay`)
    assert.equal(replay.status, 409)
    assert.match(replay.body.error, /cannot be replayed: its event's payload was removed/)
    const bulk = await call('POST', '/runs/replay')
    assert.deepEqual(bulk.body.runs.map((r: { replayOf: number }) => r.replayOf), [(await runOf(other.id)).id], 'a bulk replay leaves it out')

    const listed = (await call('GET', `/expunges?digest=${record.subjectDigest}`)).body.expunges
    const { dryRun: _, ...written } = record
    assert.deepEqual(listed, [written])
    assert.deepEqual((await call('GET', `/expunges?digest=${'0'.repeat(64)}`)).body.expunges, [])
    const logged = storehook.logs.filter((line) => line.includes('admin API: expunged personal data'))
    assert.equal(logged.length, 1)
    assert.match(logged[0]!, new RegExp(record.subjectDigest))
    assert.ok(!storehook.logs.some((line) => /expunge/.test(line) && /ann\.lee/i.test(line)), 'no log line of the expunge names the email')
  })
})
