/**
 * Fuzzes the admin API's inputs through a real storehook (HTTP on 127.0.0.1, a real SQLite file):
 * every admin route, enumerated from the app, with random query parameters (filters, times,
 * limits, ids of the wrong type, huge numbers, encodings) and random path parameters, with the
 * right token. Properties: every answer comes, none is 5xx, every one is JSON, and every refusal
 * carries a reason. Size: `FUZZ_RUNS=<factor>` multiplies every property's runs (test/fuzz/fuzz.ts).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { makeProject, sendEvent, start, webhooksConfig } from '../helpers.ts'
import { concretePath, routesOf } from '../security/routes.ts'
import { HUGE_NUMBERS } from './arbitraries.ts'
import { runs } from './fuzz.ts'
import { rawRequest, reasonOf } from './raw-http.ts'

const TOKEN = 'admin-token-for-fuzzing'
const project = makeProject({
  'storehook.config.ts': webhooksConfig(),
  'actions/noop.ts': `import { onEvent } from 'storehook'\nexport default onEvent('*', async () => {})`,
})
const { url, runtime } = await start({ project, adminToken: TOKEN })
for (let i = 0; i < 3; i++) await sendEvent(url)
// The JSON API; the dashboard's HTML pages have their own tests (test/dashboard-access.test.ts).
const adminRoutes = routesOf(runtime).filter((route) => route.path.startsWith('/admin/api/'))

const KEYS = ['source', 'type', 'since', 'until', 'q', 'before', 'limit', 'state', 'action', 'resource', 'digest', 'outcome', 'fallback']
const value = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(...HUGE_NUMBERS.filter((n) => n.length < 100), '-1', '0', '1.5', 'NaN', 'Infinity', '2026-13-45T99:99:99Z', '1e3', 'dead', 'running', '%', '%ZZ', '[]', '{}', 'null'),
  fc.integer().map(String),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
)
const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), value), { maxLength: 5 })
const param = fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constantFrom('1', '0', '99999999999999999999', '-1', 'webhooks', '%ZZ', '..'))

describe('fuzz: admin API inputs', () => {
  it('answers every admin route with JSON and never 5xx, whatever the query and path parameters', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...adminRoutes), query, param, param, async (route, pairs, a, b) => {
        const search = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')
        const { path } = concretePath(route.path, { source: encodeURIComponent(a), id: encodeURIComponent(b) })
        const answer = await rawRequest(url, { method: route.method, path: `${path}?${search}`, headers: { authorization: `Bearer ${TOKEN}` }, ...(route.method === 'GET' ? {} : { body: '' }) })
        const what = `${route.method} ${path}?${search}: ${answer.status} ${answer.body.slice(0, 200)}`
        assert.ok(answer.status >= 200 && answer.status < 500, what)
        assert.match(answer.headers['content-type'] ?? '', /^application\/json/, what)
        if (answer.status >= 400) assert.ok(reasonOf(answer), what)
      }),
      runs(100),
    )
  })
})
