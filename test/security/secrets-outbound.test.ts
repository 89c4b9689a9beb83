/**
 * Outbound credentials never leak: connections configured with known secret values (an `http`
 * target's API key, bearer token and Standard Webhooks signing secret; Commerce Layer's client
 * secret; Adobe Commerce's OAuth 1.0a secrets and access token) call a target on 127.0.0.1 that
 * refuses or fails every call, so runs fail, retry and die. None of the values appears in the logs
 * (debug level), in any admin API answer (runs, attempts and their errors, connections, every GET
 * route), or in `/metrics` — while the target shows they were really sent.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { describe, it } from 'node:test'
import { eventually, makeProject, sendEvent, start, TEST_SECRET } from '../helpers.ts'
import { listenOnLoopback } from '../loopback.ts'
import { concretePath, routesOf } from './routes.ts'

const SIGNING_KEY = Buffer.from('erp-signing-key-5c1e9a7d').toString('base64')
const SECRETS = {
  ERP_API_KEY: 'erp-api-key-2d8f6b1c9e4a',
  ERP_AUTHORIZATION: 'Bearer erp-bearer-token-6a0c3f9d1e7b',
  ERP_SIGNING_SECRET: `whsec_${SIGNING_KEY}`,
  CL_CLIENT_SECRET: 'cl-client-secret-8e2b5d0f3a6c',
  COMMERCE_CONSUMER_SECRET: 'commerce-consumer-secret-1b7e4c9a2d',
  COMMERCE_ACCESS_TOKEN: 'commerce-access-token-5f0a8d3c6e',
  COMMERCE_ACCESS_TOKEN_SECRET: 'commerce-token-secret-9c2e7b4a1f',
}
const NEVER = [...Object.values(SECRETS), SIGNING_KEY]

/** The target: every call refused or failed, every request's raw headers and body kept. */
const received: string[] = []
const target = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => (body += chunk))
  req.on('end', () => {
    received.push(`${req.method} ${req.url} ${JSON.stringify(req.rawHeaders)} ${body}`)
    if (req.url?.startsWith('/oauth/token')) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"title":"Unauthorized","detail":"invalid client"}]}')
    if (req.url?.startsWith('/shop')) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"The consumer isn\'t authorized to access %resources."}')
    res.writeHead(500, { 'content-type': 'text/plain' }).end('the ERP is down')
  })
})
const origin = await listenOnLoopback(target)

const action = (connection: string, call: string) => `import { onEvent } from 'storehook'
export default onEvent({ types: 'order.*', retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 } }, async (event, { connections }) => {
  await connections.${connection}.${call}
})`
const project = makeProject({
  '.env': Object.entries(SECRETS).map(([name, value]) => `${name}=${value}`).join('\n'),
  'storehook.config.ts': `import { defineConfig, env } from 'storehook'
export default defineConfig({
  sources: { webhooks: { kind: 'standard-webhooks', secrets: ['${TEST_SECRET}'] } },
  connections: {
    erp: { kind: 'http', baseUrl: '${origin}/erp', headers: { 'X-Api-Key': env('ERP_API_KEY'), Authorization: env('ERP_AUTHORIZATION') }, sign: { standardWebhooks: { secret: env('ERP_SIGNING_SECRET') } } },
    cl: { kind: 'commerce-layer', baseUrl: '${origin}', clientId: 'cl-client-id', clientSecret: env('CL_CLIENT_SECRET'), tokenUrl: '${origin}/oauth/token' },
    commerce: { kind: 'adobe-commerce', baseUrl: '${origin}/shop', oauth1: { consumerKey: 'consumer-key', consumerSecret: env('COMMERCE_CONSUMER_SECRET'), accessToken: env('COMMERCE_ACCESS_TOKEN'), accessTokenSecret: env('COMMERCE_ACCESS_TOKEN_SECRET') } },
  },
  worker: { pollIntervalMs: 20 },
})`,
  'actions/to-erp.ts': action('erp', "post('', { json: { order: event.id }, idempotencyKey: event.id })"),
  'actions/to-cl.ts': action('cl', "get('orders/o1')"),
  'actions/to-commerce.ts': action('commerce', "get('orders/1')"),
})
const storehook = await start({ project, adminToken: 'admin-token-for-outbound' })
const { url, runtime } = storehook
const admin = async (path: string) => {
  const response = await fetch(`${url}${path}`, { headers: { authorization: 'Bearer admin-token-for-outbound' } })
  return { status: response.status, text: await response.text() }
}

describe('secrets never leak from outbound calls', () => {
  it('sends the credentials, and the runs fail, retry and die', async () => {
    assert.equal((await sendEvent(url, { type: 'order.created' })).status, 200)
    await eventually(async () => (await runtime.store.listRuns({ state: 'dead', limit: 10 })).length === 3, 20_000, 'three dead runs')
    const sent = received.join('\n')
    for (const value of ['ERP_API_KEY', 'ERP_AUTHORIZATION', 'CL_CLIENT_SECRET', 'COMMERCE_ACCESS_TOKEN'] as const) {
      assert.ok(sent.includes(SECRETS[value]), `${value} was never sent: the check below would prove nothing`)
    }
  })

  it('shows none in any admin API answer, /metrics, or any log line', async () => {
    const runs = await runtime.store.listRuns({ limit: 10 })
    const answers: string[] = []
    for (const route of routesOf(runtime).filter((r) => r.method === 'GET' && r.path.startsWith('/admin'))) {
      // Every run's detail (its attempts and their errors), and every other route once.
      const ids = route.path.includes('/runs/:id') ? runs.map((run) => String(run.id)) : ['1']
      for (const id of ids) {
        const { path } = concretePath(route.path, { id, source: 'webhooks' })
        const answer = await admin(path)
        assert.ok(answer.status < 500, `${path}: ${answer.status}`)
        answers.push(`${path} ${answer.text}`)
      }
    }
    answers.push((await admin('/metrics')).text)
    const attempts = answers.filter((answer) => answer.includes('"attempts"')).join('\n')
    assert.match(attempts, /500|401|Unauthorized|authorized/, 'the attempts carry the targets\' errors: the check below looks at real error text')
    for (const secret of NEVER) {
      for (const answer of answers) assert.ok(!answer.includes(secret), `an admin answer holds a secret: ${answer.slice(0, 300)}`)
      for (const line of storehook.logs) assert.ok(!line.includes(secret), `a log line holds a secret: ${line.slice(0, 300)}`)
    }
  })
})
