/**
 * @module
 * `GET /admin/login`, `POST /admin/login`, `POST /admin/logout`. The login takes
 * `STOREHOOK_ADMIN_TOKEN` (compared in constant time) and sets the session cookie. Without a
 * token configured there is nothing to type: the page says the dashboard answers on loopback only
 * and a button opens a session (still needed: it is what the CSRF token is tied to, so a page of
 * another site cannot drive a dashboard on localhost).
 */
import type { Hono } from 'hono'
import { html } from 'hono/html'
import { remoteAddress } from '../server/admin-auth.ts'
import { crossSite, guarded, isHttps, outsideLoopback, respond, type Dashboard } from './access.ts'
import { page } from './layout.ts'
import { sessionCookie, tokenMatches } from './session.ts'
import { BASE, type Html } from './ui.ts'

const MAX_LOGIN_BYTES = 8 * 1024

/**
 * @example
 * mountLogin(app, dash, process.env.STOREHOOK_ADMIN_TOKEN)
 */
export function mountLogin(app: Hono, dash: Dashboard, adminToken: string | undefined): void {
  app.get(`${BASE}/login`, (c) => outsideLoopback(c, dash) ?? respond(c, dash, 200, loginPage(dash, safeNext(c.req.query('next')), null)))

  app.post(`${BASE}/login`, async (c) => {
    const refused = outsideLoopback(c, dash)
    if (refused) return refused
    if (crossSite(c)) {
      return respond(c, dash, 403, loginPage(dash, undefined, 'This login came from another site.'))
    }
    // Anyone may post here: read no more than a login form can be (browsers always send its length).
    const length = Number(c.req.header('content-length') ?? NaN)
    if (!(length <= MAX_LOGIN_BYTES)) return respond(c, dash, 413, loginPage(dash, undefined, 'That is not a login form.'))
    const form = await c.req.parseBody()
    const next = safeNext(typeof form.next === 'string' ? form.next : undefined)
    const address = remoteAddress(c)
    const wait = adminToken === undefined ? 0 : dash.tokenGuesses.refusedFor(address, Date.now())
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000)
      return respond(c, dash, 429, loginPage(dash, next, `Too many wrong tokens from this address: try again in ${seconds} s.`), { 'retry-after': String(seconds) })
    }
    const given = typeof form.token === 'string' ? form.token : ''
    if (adminToken !== undefined && !tokenMatches(given, adminToken)) {
      if (given !== '') dash.tokenGuesses.failed(address, Date.now())
      dash.runtime.logger.warn({ path: c.req.path }, 'dashboard: a login with a wrong admin token was refused')
      return respond(c, dash, 401, loginPage(dash, next, 'That is not the admin token (STOREHOOK_ADMIN_TOKEN).'))
    }
    const { cookie } = dash.sessions.issue(Date.now())
    c.header('set-cookie', sessionCookie(cookie, { secure: isHttps(c) }))
    return c.redirect(next ?? BASE, 303)
  })

  app.post(
    `${BASE}/logout`,
    guarded(
      dash,
      async ({ c, session }) => {
        dash.sessions.end(session)
        c.header('set-cookie', sessionCookie(null, { secure: isHttps(c) }))
        return c.redirect(`${BASE}/login`, 303)
      },
      { write: true },
    ),
  )
}

function loginPage(dash: Dashboard, next: string | undefined, problem: string | null): Html {
  const body = html`<div class="panel login">
    <h1>storehook dashboard</h1>
    ${problem ? html`<p class="notice bad" role="alert">${problem}</p>` : ''}
    <form method="post" action="${BASE}/login">
      ${next ? html`<input type="hidden" name="next" value="${next}">` : ''}
      ${
        dash.tokenConfigured
          ? html`<label for="token">Admin token</label>
              <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
              <p class="muted">The value of <code>STOREHOOK_ADMIN_TOKEN</code> this storehook was started with.</p>
              <button type="submit">Log in</button>`
          : html`<p class="notice warn"><code>STOREHOOK_ADMIN_TOKEN</code> is not set, so the dashboard (like the admin API) answers only
              on loopback: this machine, 127.0.0.1 or ::1. Set the token before exposing storehook on a network.</p>
              <button type="submit">Open the dashboard</button>`
      }
    </form>
  </div>`
  return page({ title: 'Log in', nav: null, csrf: null, body })
}

/** Where to go after the login: a dashboard path only, never another site (no open redirect). */
function safeNext(next: string | undefined): string | undefined {
  if (!next || !next.startsWith(`${BASE}`) || /[\\\r\n]/.test(next) || next.startsWith('//')) return undefined
  const url = new URL(next, 'http://storehook.invalid')
  return url.origin === 'http://storehook.invalid' && (url.pathname === BASE || url.pathname.startsWith(`${BASE}/`)) ? url.pathname + url.search : undefined
}
