/**
 * @module
 * Bulk replay from the runs page, in three steps:
 * - `GET /admin/runs/replay?<filter>`: the confirmation, saying how many dead runs match (the
 *   filter's relative time range is fixed here, so what is replayed is what was counted);
 * - `POST /admin/runs/replay`: starts the job (replay-jobs.ts);
 * - `GET /admin/replays/:id`: its progress bar, which htmx polls every 500 ms until it ends.
 * Each answers a fragment to htmx and a whole page otherwise, so it also works without JavaScript.
 */
import { html } from 'hono/html'
import { HttpError } from '../../core/errors.ts'
import { respond, type PageRequest } from '../access.ts'
import { replayFilter, runFilter } from '../filters.ts'
import { csrfField, page } from '../layout.ts'
import { COUNT_LIMIT, deadRunTimes, type ReplayFilter, type ReplayJob, type ReplayJobs } from '../replay-jobs.ts'
import { BASE, duration, query, type Html } from '../ui.ts'

export async function confirmReplay(req: PageRequest): Promise<Response> {
  const { c, dash, csrf } = req
  const query = c.req.query()
  if (query.state && query.state !== 'dead') throw new HttpError(400, 'state: only dead runs are replayed in bulk')
  const filter = replayFilter(runFilter({ ...query, state: '' }).filter)
  const count = (await deadRunTimes(dash.runtime, filter)).length
  const described = describe(filter)
  const body =
    count === 0
      ? html`<p class="notice">No dead run matches ${described}.</p><p><a href="${back(filter)}">Back to the runs</a></p>`
      : html`<form class="notice warn" method="post" action="${BASE}/runs/replay" hx-post="${BASE}/runs/replay" hx-target="#bulk" hx-swap="innerHTML">
          ${csrfField(csrf)}
          ${Object.entries(filter).map(([key, value]) => html`<input type="hidden" name="${key}" value="${String(value)}">`)}
          <p><strong>Replay ${count >= COUNT_LIMIT ? `at least ${count}` : count} dead run${count === 1 ? '' : 's'}</strong> matching ${described}?
            Each gets a new run; the dead ones are kept. Runs that were replayed already are skipped.</p>
          <div class="buttons"><button type="submit" class="danger" id="confirm-bulk-replay">Replay ${count >= COUNT_LIMIT ? 'them all' : count} dead run${count === 1 ? '' : 's'}</button>
            <a href="${back(filter)}">Cancel</a></div>
        </form>`
  return fragmentOrPage(req, 'Replay dead runs', body)
}

export async function startReplay(req: PageRequest, jobs: ReplayJobs): Promise<Response> {
  const { c } = req
  const form = await c.req.parseBody()
  const fields: Record<string, string> = {}
  for (const key of ['action', 'source', 'type', 'eventIdContains', 'since', 'until']) {
    const value = form[key]
    if (typeof value === 'string' && value !== '') fields[key] = value
  }
  const filter: ReplayFilter = {}
  if (fields.action) filter.action = fields.action
  if (fields.source) filter.source = fields.source
  if (fields.type) filter.type = fields.type
  if (fields.eventIdContains) filter.eventIdContains = fields.eventIdContains
  for (const key of ['since', 'until'] as const) {
    if (fields[key] === undefined) continue
    if (!/^\d+$/.test(fields[key])) throw new HttpError(400, `${key}: expected epoch milliseconds`)
    filter[key] = Number(fields[key])
  }
  const job = jobs.start(filter)
  if (c.req.header('hx-request') === 'true') return respond(c, req.dash, 202, progress(job))
  return c.redirect(`${BASE}/replays/${job.id}`, 303)
}

export async function replayProgress(req: PageRequest, jobs: ReplayJobs): Promise<Response> {
  const job = jobs.get(req.c.req.param('id')!)
  if (!job) throw new HttpError(404, 'no such bulk replay here: it ended over an hour ago, or ran in another storehook process')
  return fragmentOrPage(req, 'Bulk replay', progress(job))
}

function progress(job: ReplayJob): Html {
  const running = job.state === 'listing' || job.state === 'replaying'
  const status =
    job.state === 'listing'
      ? 'Listing the matching dead runs…'
      : job.state === 'replaying'
        ? `Replaying: ${job.done} of ${job.total} dead runs done, ${job.replayed} replayed.`
        : job.state === 'done'
          ? `Done in ${duration((job.endedAt ?? Date.now()) - job.startedAt)}: ${job.replayed} of ${job.total} dead runs replayed${job.total > job.replayed ? ` (${job.total - job.replayed} had been replayed already)` : ''}.`
          : `Stopped after ${job.replayed} replays: ${job.error}. The runs replayed so far stay replayed; start again to replay the rest.`
  return html`<div class="stack" id="replay-progress" data-state="${job.state}"
      ${running ? html`hx-get="${BASE}/replays/${job.id}" hx-trigger="every 500ms" hx-swap="outerHTML"` : ''}>
    <progress max="${Math.max(job.total, 1)}" value="${job.state === 'done' ? Math.max(job.total, 1) : job.done}" aria-label="bulk replay progress"></progress>
    <p class="${job.state === 'failed' ? 'notice bad' : job.state === 'done' ? 'notice ok' : ''}" role="status">${status}</p>
    ${running ? '' : html`<p><a href="${BASE}/runs${query({ ...textFields(job.filter), state: undefined })}">See the runs</a></p>`}
  </div>`
}

function fragmentOrPage({ c, dash, csrf }: PageRequest, title: string, body: Html): Promise<Response> {
  if (c.req.header('hx-request') === 'true') return respond(c, dash, 200, body)
  return respond(c, dash, 200, page({ title, nav: 'runs', csrf, body: html`<h1>${title}</h1><div class="panel" id="bulk">${body}</div>` }))
}

function describe(filter: ReplayFilter): Html {
  const parts = Object.entries({
    action: filter.action,
    source: filter.source,
    type: filter.type,
    'event id containing': filter.eventIdContains,
    'created since': filter.since === undefined ? undefined : new Date(filter.since).toISOString(),
    'created before': filter.until === undefined ? undefined : new Date(filter.until).toISOString(),
  }).filter(([, value]) => value !== undefined)
  return parts.length === 0 ? html`<em>no filter (every dead run)</em>` : html`${parts.map(([key, value], i) => html`${i ? ', ' : ''}${key} <code>${value}</code>`)}`
}

function textFields(filter: ReplayFilter): Record<string, string | undefined> {
  return {
    action: filter.action,
    source: filter.source,
    type: filter.type,
    q: filter.eventIdContains,
    since: filter.since === undefined ? undefined : String(filter.since),
    until: filter.until === undefined ? undefined : String(filter.until),
  }
}

const back = (filter: ReplayFilter) => `${BASE}/runs${query({ ...textFields(filter), state: 'dead' })}`
