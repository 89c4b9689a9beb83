/**
 * Every admin route refuses without the token: the routes are read from the app itself
 * (`app.routes`), so a route added later is covered without being listed here. Over real HTTP:
 * no Authorization, a wrong token (differing in its last character only), another scheme, the
 * token in the query string — all 401 with a JSON reason, while the right token gets through.
 * Path tricks (encoded letters, doubled slashes, dot segments, capitals) never reach a handler
 * unauthenticated. With no token configured, nothing but loopback gets in (403). An address that
 * sends too many wrong tokens is refused every token check (429) until its window passes.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createApp } from '../../src/server/app.ts'
import { makeProject, sendEvent, start, webhooksConfig } from '../helpers.ts'
import { rawRequest, reasonOf } from '../fuzz/raw-http.ts'
import { concretePath, routesOf } from './routes.ts'

const TOKEN = 'admin-token-3e9b1d7c5a'
const project = makeProject({ 'storehook.config.ts': webhooksConfig() })
// Every route gets every wrong token here: the limit on guesses (tested at the end) would cut it short.
const { url, runtime } = await start({ project, adminToken: TOKEN, adminTokenGuesses: { maxFailures: Number.POSITIVE_INFINITY } })
const sent = await sendEvent(url)
// The JSON API: the dashboard's pages have their own session guard, covered by test/dashboard-access.test.ts.
const adminRoutes = routesOf(runtime).filter((route) => route.path.startsWith('/admin/api'))
const pathOf = (pattern: string) => concretePath(pattern, { source: 'webhooks', id: pattern.includes('/runs/') ? '1' : sent.id }).path

const WRONG: [string, Record<string, string>, string?][] = [
  ['no Authorization header', {}],
  ['a wrong token differing in its last character', { authorization: `Bearer ${TOKEN.slice(0, -1)}${TOKEN.endsWith('a') ? 'b' : 'a'}` }],
  ['the token with a character more', { authorization: `Bearer ${TOKEN}x` }],
  ['the token cut short', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
  ['an empty bearer', { authorization: 'Bearer ' }],
  ['the token under Basic', { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` }],
  ['the bare token', { authorization: TOKEN }],
  ['the token in the query string', {}, `token=${TOKEN}`],
  ['the token in a cookie', { cookie: `token=${TOKEN}; storehook_admin=${TOKEN}` }],
  ['the token in X-Admin-Token', { 'x-admin-token': TOKEN }],
]

describe('admin routes refuse without the token', () => {
  it('finds the admin routes in the app', () => {
    // The known ones at least, so an enumeration that finds nothing cannot pass.
    for (const known of ['GET /admin/api/events', 'GET /admin/api/runs', 'POST /admin/api/runs/replay', 'GET /admin/api/connections']) {
      assert.ok(adminRoutes.some((route) => `${route.method} ${route.path}` === known), `${known} missing from ${JSON.stringify(adminRoutes)}`)
    }
  })

  it('answers 401 with a JSON reason to every way of not having the token, on every admin route', async () => {
    for (const route of adminRoutes) {
      for (const [what, headers, query] of WRONG) {
        const path = pathOf(route.path) + (query ? `?${query}` : '')
        const answer = await rawRequest(url, { method: route.method, path, headers, ...(route.method === 'GET' ? {} : { body: '{}' }) })
        assert.equal(answer.status, 401, `${route.method} ${path} with ${what}: ${answer.status} ${answer.body.slice(0, 200)}`)
        assert.match(reasonOf(answer) ?? '', /bearer token/, `${route.method} ${path}`)
      }
    }
  })

  it('lets the right token through on every admin route', async () => {
    for (const route of adminRoutes) {
      const path = pathOf(route.path)
      const answer = await rawRequest(url, { method: route.method, path, headers: { authorization: `Bearer ${TOKEN}` }, ...(route.method === 'GET' ? {} : { body: '{}' }) })
      assert.ok(![401, 403].includes(answer.status), `${route.method} ${path}: ${answer.status} ${answer.body.slice(0, 200)}`)
      // The scheme is case-insensitive (RFC 9110).
      const lower = await rawRequest(url, { method: route.method, path, headers: { authorization: `bearer ${TOKEN}` }, ...(route.method === 'GET' ? {} : { body: '{}' }) })
      assert.ok(![401, 403].includes(lower.status), `${route.method} ${path} with "bearer": ${lower.status}`)
    }
  })

  it('never serves an admin answer to a disguised path without the token', async () => {
    const disguises = [
      '/%61dmin/api/events',
      '/admin/%61pi/events',
      '/admin/api/%65vents',
      '//admin/api/events',
      '/admin//api/events',
      '/admin/api//events',
      '/admin/./api/events',
      '/admin/api/../api/events',
      '/x/../admin/api/events',
      '/admin/api/events/',
      '/admin/api/events?',
      '/admin/api/events#x',
      '/ADMIN/api/events',
      '/Admin/api/events',
      '/admin%2fapi/events',
      '/admin%2Fapi%2Fevents',
      '/admin;x/api/events',
      '/admin/api/events;x',
      '/admin/api/events%00',
      '/%2e/admin/api/events',
      '/events/../admin/api/events',
      'http://127.0.0.1/admin/api/events',
    ]
    for (const path of disguises) {
      const answer = await rawRequest(url, { method: 'GET', path })
      assert.ok([400, 401, 403, 404].includes(answer.status), `GET ${path}: ${answer.status} ${answer.body.slice(0, 200)}`)
      assert.ok(!answer.body.includes(sent.id), `GET ${path} showed an event`)
    }
  })

  it('with no token configured, refuses every admin route to anything but loopback (403)', async () => {
    // app.request carries no socket address: exactly what a non-loopback caller looks like to the guard.
    const open = createApp(runtime)
    for (const route of adminRoutes) {
      const response = await open.request(pathOf(route.path), { method: route.method })
      assert.equal(response.status, 403, `${route.method} ${route.path}: ${response.status}`)
      assert.match(((await response.json()) as { error: string }).error, /loopback/)
    }
  })
})

describe('wrong admin tokens are limited per address', () => {
  it('refuses every token check with 429 past the limit, the login too, until the window passes', async () => {
    const windowMs = 1500
    const limited = await start({ project, adminToken: TOKEN, adminTokenGuesses: { maxFailures: 3, windowMs } })
    const api = (token: string | null) =>
      fetch(`${limited.url}/admin/api/events`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } })
    // No token at all is no guess.
    for (let i = 0; i < 5; i++) assert.equal((await api(null)).status, 401)
    assert.equal((await api(TOKEN)).status, 200)
    for (let i = 0; i < 3; i++) assert.equal((await api(`wrong-${i}`)).status, 401)
    const blockedAt = Date.now()
    const refused = await api('wrong-3')
    assert.equal(refused.status, 429)
    assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After in seconds')
    assert.match(((await refused.json()) as { error: string }).error, /too many wrong admin tokens/)
    // The right token is refused too, or the limit would tell a guesser when it found it.
    assert.equal((await api(TOKEN)).status, 429)
    const login = await fetch(`${limited.url}/admin/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ token: TOKEN }) })
    assert.equal(login.status, 429)
    assert.equal(login.headers.get('set-cookie'), null)
    await new Promise((resolve) => setTimeout(resolve, windowMs - (Date.now() - blockedAt) + 100))
    assert.equal((await api(TOKEN)).status, 200)
  })
})
