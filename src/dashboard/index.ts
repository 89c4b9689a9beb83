/**
 * @module
 * The dashboard at `/admin`: server-rendered pages (hono/html) with htmx for partial updates,
 * everything served by storehook itself (no CDN; works offline). See docs/dashboard.md.
 *
 * Security model, in short: a login with `STOREHOOK_ADMIN_TOKEN` sets an HMAC-signed session cookie
 * (HttpOnly, SameSite=Strict, Path=/admin, Secure over https; 12 h idle); every page needs it;
 * every state-changing request also needs the session's CSRF token and must come from the
 * dashboard's own origin; pages carry a strict Content-Security-Policy; secrets are redacted from
 * payloads and scrubbed from everything shown. Without a token, loopback only, like the admin API.
 */
import type { Hono } from 'hono'
import type { Runtime } from '../runtime/runtime.ts'
import { guarded, secretScrubber, type Dashboard, type PageRequest } from './access.ts'
import { mountAssets } from './assets.ts'
import { mountLogin } from './login.ts'
import { actionsPage } from './pages/actions.ts'
import { eventPage, eventsPage } from './pages/events.ts'
import { externalPage, resetBreaker } from './pages/external.ts'
import { overviewPage } from './pages/overview.ts'
import { confirmReplay, replayProgress, startReplay } from './pages/replay.ts'
import { replayRun, runPage, runStatus } from './pages/run.ts'
import { runsPage } from './pages/runs.ts'
import { tail } from './pages/tail.ts'
import { TokenGuesses } from '../server/token-guesses.ts'
import { ReplayJobs } from './replay-jobs.ts'
import { SessionKeys } from './session.ts'
import { BASE } from './ui.ts'

export interface DashboardOptions {
  /** `STOREHOOK_ADMIN_TOKEN`; without it the dashboard answers only on loopback. */
  adminToken?: string
  /**
   * Payload fields holding personal data to show as `[redacted]` (e.g. `customer_email`,
   * `telephone`), besides the secret ones (passwords, tokens, card data) that always are.
   * Default: the comma-separated names in `STOREHOOK_REDACT_FIELDS`.
   */
  redactFields?: string[]
  /** Wrong admin tokens per address, shared with the admin API's guard; default: the dashboard's own. */
  tokenGuesses?: TokenGuesses
}

/**
 * Mounts the dashboard's routes on `app`. Mount it before the admin API's guard
 * (`app.use('/admin/*', adminAuth(…))`): the dashboard has its own (a session cookie, not a bearer
 * token), and its routes answer before that guard would run. `/admin/api/…` is left alone.
 *
 * @example
 * const app = new Hono()
 * mountDashboard(app, runtime, { adminToken: process.env.STOREHOOK_ADMIN_TOKEN })
 * app.use('/admin/*', adminAuth(process.env.STOREHOOK_ADMIN_TOKEN))
 */
export function mountDashboard(app: Hono, runtime: Runtime, options: DashboardOptions = {}): void {
  const dash: Dashboard = {
    runtime,
    sessions: new SessionKeys(options.adminToken),
    tokenConfigured: Boolean(options.adminToken),
    tokenGuesses: options.tokenGuesses ?? new TokenGuesses(),
    redactFields: options.redactFields ?? (process.env.STOREHOOK_REDACT_FIELDS ?? '').split(',').map((name) => name.trim()).filter(Boolean),
    scrub: secretScrubber(process.env, options.adminToken ? [options.adminToken] : []),
  }
  const jobs = new ReplayJobs(runtime)
  const read = (handler: (req: PageRequest) => Promise<Response>) => guarded(dash, handler)
  const write = (handler: (req: PageRequest) => Promise<Response>) => guarded(dash, handler, { write: true })

  mountAssets(app)
  mountLogin(app, dash, options.adminToken)
  app.get(BASE, read(overviewPage))
  app.get(`${BASE}/`, read(overviewPage))
  app.get(`${BASE}/events`, read(eventsPage))
  app.get(`${BASE}/events/:source/:id{.+}`, read(eventPage))
  app.get(`${BASE}/tail`, read(tail))
  app.get(`${BASE}/runs`, read(runsPage))
  app.get(`${BASE}/runs/replay`, read(confirmReplay))
  app.post(`${BASE}/runs/replay`, write((req) => startReplay(req, jobs)))
  app.get(`${BASE}/replays/:id`, read((req) => replayProgress(req, jobs)))
  app.get(`${BASE}/runs/:id{[0-9]+}`, read(runPage))
  app.get(`${BASE}/runs/:id{[0-9]+}/status`, read(runStatus))
  app.post(`${BASE}/runs/:id{[0-9]+}/replay`, write(replayRun))
  app.get(`${BASE}/external`, read(externalPage))
  app.post(`${BASE}/external/:name/reset-breaker`, write(resetBreaker))
  app.get(`${BASE}/actions`, read(actionsPage))
}
