/**
 * @module
 * Who may see and change what. Every dashboard route is registered through {@link guarded}: without
 * a valid session it answers 303 to the login (htmx requests get `HX-Redirect`, since an XHR would
 * follow a redirect and swap the login form into the page); with `write`, it also refuses with 403
 * a request without the session's CSRF token or sent from another site. Without
 * `STOREHOOK_ADMIN_TOKEN` the dashboard, like the admin API, answers only on loopback.
 *
 * Every HTML answer goes through {@link respond}: values of secret-looking environment variables
 * are scrubbed from it (a second line of defence behind payload redaction: a configured secret
 * echoed in a payload or an error still never reaches a page), and it carries headers that keep
 * it out of caches, frames and other origins' scripts.
 */
import type { Context } from 'hono'
import { html } from 'hono/html'
import { HttpError } from '../core/errors.ts'
import { REDACTED } from '../core/redact.ts'
import type { Runtime } from '../runtime/runtime.ts'
import { isLoopback, remoteAddress } from '../server/admin-auth.ts'
import type { TokenGuesses } from '../server/token-guesses.ts'
import { page } from './layout.ts'
import { readSessionCookie, sessionCookie, type Session, type SessionKeys } from './session.ts'
import { BASE, query, type Html } from './ui.ts'

/** What every page of one mounted dashboard shares. */
export interface Dashboard {
  runtime: Runtime
  sessions: SessionKeys
  /** False: no STOREHOOK_ADMIN_TOKEN, loopback only. */
  tokenConfigured: boolean
  /** Wrong admin tokens per address: a login past the limit is refused (429). */
  tokenGuesses: TokenGuesses
  /** Payload fields of personal data to redact besides the secret ones (see redactPayload). */
  redactFields: string[]
  /** Replaces configured secret values in text bound for a browser. */
  scrub(text: string): string
}

/** One request of a signed-in operator. */
export interface PageRequest {
  c: Context
  dash: Dashboard
  session: Session
  csrf: string
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ')

const MAX_FORM_BYTES = 64 * 1024

/**
 * Wraps a page or action handler with the session check (and, for `write`, the CSRF check); its
 * errors become an error page.
 *
 * @example
 * app.get('/admin/runs', guarded(dash, (req) => runsPage(req)))
 * app.post('/admin/runs/:id/replay', guarded(dash, replayOne, { write: true }))
 */
export function guarded(dash: Dashboard, handler: (req: PageRequest) => Promise<Response>, options: { write?: boolean } = {}) {
  return async (c: Context): Promise<Response> => {
    const refused = outsideLoopback(c, dash)
    if (refused) return refused
    const now = Date.now()
    const session = dash.sessions.verify(readSessionCookie(c.req.header('cookie')), now)
    if (!session) return toLogin(c)
    const csrf = dash.sessions.csrfToken(session)
    if (options.write) {
      const problem = await writeProblem(c, dash, session)
      if (problem) return respond(c, dash, 403, errorPage('Refused', problem, csrf))
    }
    const renewed = dash.sessions.renew(session, now)
    if (renewed) c.header('set-cookie', sessionCookie(renewed, { secure: isHttps(c) }), { append: true })
    try {
      return await handler({ c, dash, session, csrf })
    } catch (error) {
      if (error instanceof HttpError) return respond(c, dash, error.status, errorPage(error.status === 404 ? 'Not found' : 'Cannot show this', error.message, csrf))
      dash.runtime.logger.error({ err: error, path: c.req.path }, 'dashboard: unhandled error rendering a page')
      return respond(c, dash, 500, errorPage('Something went wrong', 'The page could not be rendered; the error is in storehook\'s log.', csrf))
    }
  }
}

/** 403 when no token is configured and the request did not come from this machine. */
export function outsideLoopback(c: Context, dash: Dashboard): Promise<Response> | null {
  if (dash.tokenConfigured || isLoopback(remoteAddress(c))) return null
  return respond(
    c,
    dash,
    403,
    errorPage('Not available from here', 'STOREHOOK_ADMIN_TOKEN is not set, so the dashboard answers only on loopback (127.0.0.1, ::1). Set the token to reach it from elsewhere.', null),
  )
}

function toLogin(c: Context): Response {
  const here = c.req.method === 'GET' ? new URL(c.req.url).pathname + new URL(c.req.url).search : undefined
  const target = `${BASE}/login${query({ next: here && here !== BASE ? here : undefined })}`
  if (c.req.header('hx-request') === 'true') {
    return c.body(null, 401, { 'hx-redirect': `${BASE}/login`, 'cache-control': 'no-store' })
  }
  return c.redirect(target, 303)
}

/** Why a state-changing request is refused, or null when it carries the session's CSRF token. */
async function writeProblem(c: Context, dash: Dashboard, session: Session): Promise<string | null> {
  if (crossSite(c)) return 'This request came from another site. Use the dashboard itself to change anything.'
  if (Number(c.req.header('content-length') ?? 0) > MAX_FORM_BYTES) return 'The form is larger than a dashboard form can be.'
  let token = c.req.header('x-csrf-token')
  if (!token && /^application\/x-www-form-urlencoded|^multipart\/form-data/.test(c.req.header('content-type') ?? '')) {
    const field = (await c.req.parseBody())['_csrf']
    token = typeof field === 'string' ? field : undefined
  }
  if (!dash.sessions.csrfMatches(session, token)) return 'The form had no valid CSRF token (it may be from an older session). Reload the page and try again.'
  return null
}

/** Sends an HTML page or fragment with secrets scrubbed and the dashboard's security headers. */
export async function respond(c: Context, dash: Dashboard, status: number, body: Html, headers: Record<string, string> = {}): Promise<Response> {
  return c.body(dash.scrub(String(await body)), status as 200, { ...securityHeaders(), 'content-type': 'text/html; charset=utf-8', ...headers })
}

export function securityHeaders(): Record<string, string> {
  return {
    'content-security-policy': CSP,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
  }
}

export function errorPage(title: string, message: string, csrf: string | null): Html {
  return page({ title, nav: null, csrf, body: html`<div class="panel"><h1>${title}</h1><p>${message}</p><p><a href="${BASE}">Back to the overview</a></p></div>` })
}

/**
 * A scrubber for the values of environment variables whose names say they hold a secret (the
 * project's `.env` is loaded into the environment, and `env('NAME')` is how a config names a
 * secret). Values shorter than 8 characters are left: too likely to occur by chance.
 *
 * @example
 * const scrub = secretScrubber({ ERP_PASSWORD: 'pa55word-xyz' })
 * scrub('login failed for pa55word-xyz') // 'login failed for [redacted]'
 */
export function secretScrubber(env: Record<string, string | undefined>, extra: string[] = []): (text: string) => string {
  const secretName = /secret|token|passw|(^|_)pwd$|api_?key|private_?key|signing_?key|credential|cookie/i
  // Where a secret is, not what it is (`IMS_TOKEN_URL`, `KEY_FILE`), and the shell's directories.
  const notSecret = /_(url|uri|path|file|dir|host|endpoint)$|^(old)?pwd$/i
  const values = new Set(extra.filter((value) => value.length >= 8))
  for (const [name, value] of Object.entries(env)) if (value && value.length >= 8 && secretName.test(name) && !notSecret.test(name)) values.add(value)
  // Longest first, so a secret that contains another is replaced whole.
  const ordered = [...values].sort((a, b) => b.length - a.length)
  return (text) => {
    for (const value of ordered) if (text.includes(value)) text = text.replaceAll(value, REDACTED)
    // The same secrets as they appear once escaped into HTML.
    for (const value of ordered) {
      const escaped = escapeHtml(value)
      if (escaped !== value && text.includes(escaped)) text = text.replaceAll(escaped, REDACTED)
    }
    return text
  }
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

/**
 * True when the browser says the request was sent by a page of another site (`Origin` of another
 * host, or `Sec-Fetch-Site: cross-site`): refused for every state-changing request, the login included.
 */
export function crossSite(c: Context): boolean {
  if (c.req.header('sec-fetch-site') === 'cross-site') return true
  const origin = c.req.header('origin')
  if (!origin) return false
  try {
    return new URL(origin).host !== (c.req.header('host') ?? new URL(c.req.url).host)
  } catch {
    return true // `Origin: null` (a sandboxed frame, a file) or garbage
  }
}

export function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || forwardedProto(c) === 'https'
}

function forwardedProto(c: Context): string {
  return (c.req.header('x-forwarded-proto') ?? new URL(c.req.url).protocol.replace(':', '')).split(',')[0]!.trim()
}

