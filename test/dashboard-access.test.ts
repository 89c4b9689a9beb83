/**
 * Who gets into the dashboard, over real HTTP on 127.0.0.1 with a real SQLite file: the login and
 * its cookie, every route's guard (enumerated from the app, so a new route is covered without
 * editing this file), CSRF and cross-site refusals, body limits, the CSP, secrets absent from every
 * page reachable from the overview, and the loopback-only mode without a token.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SessionKeys } from '../src/dashboard/session.ts'
import { createLogger } from '../src/runtime/logger.ts'
import { sendDemoEvent } from './browser/demo-project.ts'
import { seededDashboard } from './browser/seeded.ts'
import { CLOSE_GRACE_MS, login, startWithDashboard } from './browser/storehook.ts'
import { rawRequest } from './fuzz/raw-http.ts'

const { storehook, url, store, project, token, tag, secrets, deadRuns, session, request } = await seededDashboard()

/** The dashboard's own routes, from the app: everything under /admin but the JSON API, the login and the static assets. */
function dashboardRoutes(): { method: string; path: string }[] {
  const seen = new Set<string>()
  return storehook.app.routes
    .filter((r) => (r.method === 'GET' || r.method === 'POST') && r.path.startsWith('/admin') && !r.path.startsWith('/admin/api'))
    .filter((r) => r.path !== '/admin/login' && !r.path.startsWith('/admin/assets/'))
    .map((r) => ({ method: r.method, path: samplePath(r.path) }))
    .filter((r) => !seen.has(`${r.method} ${r.path}`) && seen.add(`${r.method} ${r.path}`))
}

function samplePath(pattern: string): string {
  const samples: Record<string, string> = { id: String(deadRuns[0] ?? 1), source: 'shop', name: 'price' }
  return pattern.replace(/:(\w+)(\{[^}]*\})?/g, (_, name: string, constraint?: string) =>
    pattern.startsWith('/admin/events') && name === 'id' ? `pay_${tag}_1` : constraint === '{[0-9]+}' || !(name in samples) ? samples.id! : samples[name]!,
  )
}

describe('login and session', () => {
  it('refuses a wrong token with 401 and no cookie', async () => {
    for (const wrong of ['wrong', token.slice(0, -1), `${token}x`, '']) {
      const response = await fetch(`${url}/admin/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ token: wrong }) })
      assert.equal(response.status, 401, wrong)
      assert.equal(response.headers.get('set-cookie'), null)
      assert.match(await response.text(), /not the admin token/)
    }
  })

  it('sets an HttpOnly, SameSite=Strict cookie scoped to /admin that does not carry the token', () => {
    const attributes = session.setCookie.split(';').map((part) => part.trim())
    assert.match(attributes[0]!, /^storehook_session=[\w.-]+$/)
    assert.ok(!session.setCookie.includes(token))
    for (const attribute of ['HttpOnly', 'SameSite=Strict', 'Path=/admin', 'Max-Age=43200']) assert.ok(attributes.includes(attribute), attribute)
    assert.ok(!attributes.includes('Secure'), 'not Secure over plain http, or the browser would never send it back')
  })

  it('marks the cookie Secure when the dashboard is reached over https (behind a proxy)', async () => {
    const response = await fetch(`${url}/admin/login`, { method: 'POST', redirect: 'manual', headers: { 'x-forwarded-proto': 'https' }, body: new URLSearchParams({ token }) })
    assert.equal(response.status, 303)
    assert.match(response.headers.get('set-cookie')!, /; Secure$/)
  })

  it('reads no more than a login form can be', async () => {
    const response = await fetch(`${url}/admin/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ token: 'x'.repeat(20_000) }) })
    assert.equal(response.status, 413)
    assert.equal(response.headers.get('set-cookie'), null)
  })

  it('goes back to the page asked for, never to another site', async () => {
    for (const [next, expected] of [['/admin/runs?state=dead', '/admin/runs?state=dead'], ['https://evil.example/admin', '/admin'], ['//evil.example/admin', '/admin'], ['/adminx', '/admin']]) {
      const response = await fetch(`${url}/admin/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ token, next: next! }) })
      assert.equal(response.headers.get('location'), expected, next)
    }
  })

  it('logout ends the session', async () => {
    const other = await login(url, token)
    assert.equal((await request('/admin', { session: other })).status, 200)
    const out = await request('/admin/logout', { method: 'POST', session: other, body: new URLSearchParams({ _csrf: other.csrf }) })
    assert.equal(out.status, 303)
    assert.match(out.headers.get('set-cookie')!, /storehook_session=;.*Max-Age=0/)
    assert.equal((await request('/admin', { session: other })).status, 303)
  })
})

describe('every dashboard route is guarded', () => {
  it('covers the routes it should (enumerated from the app)', () => {
    const routes = dashboardRoutes().map((r) => `${r.method} ${r.path.replace(/\d+|pay_\w+/g, 'N')}`)
    for (const expected of ['GET /admin', 'GET /admin/events', 'GET /admin/runs', 'GET /admin/runs/N', 'POST /admin/runs/N/replay', 'POST /admin/runs/replay', 'GET /admin/tail', 'POST /admin/logout']) {
      assert.ok(routes.includes(expected), `${expected} in ${routes.join(', ')}`)
    }
  })

  it('without a session, each answers 303 to the login (GETs with the page to come back to)', async () => {
    const forged = new SessionKeys('another-token').issue(Date.now()).cookie
    for (const { method, path } of dashboardRoutes()) {
      for (const cookie of [undefined, `storehook_session=${forged}`, 'storehook_session=garbage']) {
        const response = await fetch(`${url}${path}`, { method, redirect: 'manual', headers: cookie ? { cookie } : {} })
        assert.equal(response.status, 303, `${method} ${path} with ${cookie ?? 'no cookie'}`)
        const location = response.headers.get('location')!
        assert.ok(location.startsWith('/admin/login'), `${method} ${path} → ${location}`)
        if (method === 'GET' && path !== '/admin' && path !== '/admin/') assert.equal(new URL(location, url).searchParams.get('next'), path)
        await response.arrayBuffer()
      }
    }
  })

  it('an htmx request without a session is told to load the login page instead', async () => {
    const response = await request(`/admin/runs/${deadRuns[0]}/status`, { session: null, headers: { 'hx-request': 'true' } })
    assert.equal(response.status, 401)
    assert.equal(response.headers.get('hx-redirect'), '/admin/login')
  })

  it('each POST refuses with 403 a request without the CSRF token, with a wrong one, or from another site', async () => {
    const posts = dashboardRoutes().filter((r) => r.method === 'POST')
    assert.ok(posts.length >= 4)
    const other = await login(url, token)
    const runsBefore = (await store.listRuns({ limit: 1000 })).length
    for (const { path } of posts) {
      const attempts: [string, Record<string, string>, URLSearchParams][] = [
        ['no token', {}, new URLSearchParams()],
        ['another session\'s token', {}, new URLSearchParams({ _csrf: other.csrf })],
        ['a wrong header token', { 'x-csrf-token': 'x'.repeat(43) }, new URLSearchParams()],
        ['another origin', { origin: 'http://evil.example' }, new URLSearchParams({ _csrf: session.csrf })],
        ['a cross-site fetch', { 'sec-fetch-site': 'cross-site', 'x-csrf-token': session.csrf }, new URLSearchParams()],
      ]
      for (const [what, headers, body] of attempts) {
        const response = await request(path, { method: 'POST', headers, body })
        assert.equal(response.status, 403, `POST ${path} with ${what}`)
      }
    }
    assert.equal((await store.listRuns({ limit: 1000 })).length, runsBefore, 'nothing was replayed')
    assert.equal((await request('/admin')).status, 200, 'the session is still valid: logout was refused too')
  })

  it('each POST answers a declared 100 MB body at once, without reading it', async () => {
    const huge = { 'content-length': String(100 * 1024 * 1024), 'content-type': 'application/x-www-form-urlencoded' }
    const loginAnswer = await rawRequest(url, { path: '/admin/login', headers: huge, body: 'token=x', timeoutMs: 5000 })
    assert.equal(loginAnswer.status, 413)
    for (const { path } of dashboardRoutes().filter((r) => r.method === 'POST')) {
      const anonymous = await rawRequest(url, { path, headers: huge, body: '_csrf=x', timeoutMs: 5000 })
      assert.equal(anonymous.status, 303, `POST ${path} without a session`)
      const signedIn = await rawRequest(url, { path, headers: { ...huge, cookie: session.cookie, 'x-csrf-token': session.csrf }, body: '_csrf=x', timeoutMs: 5000 })
      assert.equal(signedIn.status, 403, `POST ${path} with a session`)
    }
  })

  it('pages carry a strict Content-Security-Policy and are not cached', async () => {
    const response = await request('/admin')
    assert.match(response.headers.get('content-security-policy')!, /default-src 'none'; script-src 'self'; style-src 'self'/)
    assert.equal(response.headers.get('x-frame-options'), 'DENY')
    assert.equal(response.headers.get('cache-control'), 'no-store')
    assert.doesNotMatch(response.text, /<script>|style="|https?:\/\/(?!127\.0\.0\.1)/, 'no inline script or style, nothing from elsewhere')
  })

  it('serves htmx itself, with no session needed', async () => {
    const page = (await request('/admin')).text
    const src = /<script src="(\/admin\/assets\/htmx-[\d.]+\.min\.js)"/.exec(page)?.[1]
    assert.ok(src)
    const script = await request(src, { session: null })
    assert.equal(script.status, 200)
    assert.match(script.text, /htmx/)
    assert.match(script.headers.get('content-type')!, /javascript/)
  })
})

describe('secrets', () => {
  it('never appear in any page reachable from the overview', async () => {
    const visited = new Set<string>()
    const queue = ['/admin', `/admin/runs/replay?state=dead`, `/admin/runs/${deadRuns[0]}/status`]
    while (queue.length > 0 && visited.size < 300) {
      const path = queue.shift()!
      if (visited.has(path)) continue
      visited.add(path)
      const response = await request(path)
      assert.equal(response.status, 200, `GET ${path}`)
      for (const [name, value] of Object.entries(secrets)) assert.ok(!response.text.includes(value), `the ${name} secret is on ${path}`)
      for (const match of response.text.matchAll(/(?:href|hx-get)="(\/admin[^"]*)"/g)) {
        const link = match[1]!.replaceAll('&amp;', '&')
        if (!/^\/admin\/(assets|api|tail)/.test(link) && !visited.has(link)) queue.push(link)
      }
    }
    const kinds = [...visited].map((p) => p.replace(/\?.*/, '').replace(/\/\d+/g, '/N').replace(/\/events\/[^/]+\/.+/, '/events/S/ID'))
    for (const page of ['/admin', '/admin/events', '/admin/runs', '/admin/runs/N', '/admin/events/S/ID', '/admin/external', '/admin/actions']) {
      assert.ok(kinds.includes(page), `the crawl reached ${page}`)
    }
    assert.ok(visited.size > 20, `crawled ${visited.size} pages`)
  })

  it('payload fields and headers are shown redacted on the run and event pages', async () => {
    const [run] = await store.listRuns({ eventIdContains: `ord_${tag}_1` })
    const page = (await request(`/admin/runs/${run!.id}`)).text
    assert.match(page, /&quot;password&quot;: &quot;\[redacted\]&quot;/)
    assert.match(page, /&quot;card_number&quot;: &quot;\[redacted\]&quot;/)
    const raw = (await request(`/admin/events/webhooks/raw_${tag}`)).text
    assert.match(raw, /&quot;authorization&quot;: &quot;\[redacted\]&quot;/)
    const note = (await request(`/admin/events/webhooks/ord_${tag}_2`)).text
    assert.match(note, /erp password is \[redacted\]/)
  })
})

describe('without STOREHOOK_ADMIN_TOKEN', () => {
  it('answers on loopback only, says so, and still needs a session and CSRF tokens', async () => {
    process.env.STOREHOOK_REDACT_FIELDS = ' customer_email , phone'
    const open = await startWithDashboard({ project: project.dir, logger: createLogger({ level: 'fatal' }) })
    delete process.env.STOREHOOK_REDACT_FIELDS
    try {
      const loginPage = await (await fetch(`${open.url}/admin/login`)).text()
      assert.match(loginPage, /STOREHOOK_ADMIN_TOKEN<\/code> is not set/)
      assert.equal((await fetch(`${open.url}/admin`, { redirect: 'manual' })).status, 303)
      const local = await login(open.url, undefined)
      assert.match(await (await fetch(`${open.url}/admin`, { headers: { cookie: local.cookie } })).text(), /answer only on loopback/)
      // Personal data named in STOREHOOK_REDACT_FIELDS is redacted, whatever its spelling.
      assert.equal(await sendDemoEvent(open.url, 'webhooks', { id: `pii_${tag}`, type: 'customer.created', data: { customerEmail: 'ada@example.com', phone: '+39 555', city: 'Turin' } }), 200)
      const pii = await (await fetch(`${open.url}/admin/events/webhooks/pii_${tag}`, { headers: { cookie: local.cookie } })).text()
      assert.match(pii, /&quot;customerEmail&quot;: &quot;\[redacted\]&quot;,\s*&quot;phone&quot;: &quot;\[redacted\]&quot;,\s*&quot;city&quot;: &quot;Turin&quot;/)
      assert.match(pii, /and customer_email, phone are shown as \[redacted\]/)
      const refused = await fetch(`${open.url}/admin/runs/1/replay`, { method: 'POST', redirect: 'manual', headers: { cookie: local.cookie } })
      assert.equal(refused.status, 403)
      // Not served over a socket (no peer address): treated as not loopback, as the admin API does.
      assert.equal((await open.app.request('/admin/login')).status, 403)
      assert.equal((await open.app.request('/admin/login', { method: 'POST' })).status, 403)

      // An open live tail ends by itself once the server stops listening: it does not hold up a shutdown.
      const tail = await fetch(`${open.url}/admin/tail`, { headers: { cookie: local.cookie } })
      const reader = tail.body!.getReader()
      assert.match(new TextDecoder().decode((await reader.read()).value), /event: ready/)
      const closing = performance.now()
      await open.close()
      assert.ok(performance.now() - closing < CLOSE_GRACE_MS - 1000, `closing took ${Math.round(performance.now() - closing)} ms: the tail held it up`)
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read());
    } finally {
      await open.close()
    }
  })
})
