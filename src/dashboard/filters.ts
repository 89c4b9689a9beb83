/**
 * @module
 * The filters of the events and runs pages: query parameters in, store filters out, and the forms
 * that set them. The parameters are the admin API's (`source`, `type`, `state`, `action`, `q` for
 * free text in event ids, `since`/`until` as ISO 8601 or epoch ms, `before` for the next page),
 * plus `range` (15m, 1h, 24h, 7d) for a recent window, so a dashboard URL and an API call read alike.
 */
import { html } from 'hono/html'
import { HttpError } from '../core/errors.ts'
import { RUN_STATES, type RunState } from '../core/types.ts'
import type { Runtime } from '../runtime/runtime.ts'
import type { EventFilter, RunFilter } from '../store/store.ts'
import type { Html } from './ui.ts'

export const PAGE_SIZE = 50

const RANGES: Record<string, [string, number]> = {
  '15m': ['last 15 minutes', 15 * 60_000],
  '1h': ['last hour', 3_600_000],
  '24h': ['last 24 hours', 86_400_000],
  '7d': ['last 7 days', 7 * 86_400_000],
}

/** The filter parameters as given, cleaned (unknown and empty ones dropped), for links and forms. */
export type Params = Record<string, string | undefined>

const EVENT_KEYS = ['source', 'type', 'q', 'range', 'since', 'until', 'before']
const RUN_KEYS = ['state', 'action', 'source', 'type', 'q', 'range', 'since', 'until', 'before']

function pick(query: Record<string, string>, keys: string[]): Params {
  const params: Params = {}
  for (const key of keys) {
    const value = query[key]?.trim()
    if (value) params[key] = value
  }
  return params
}

/** Parses the events page's query. @throws HttpError 400 naming the parameter */
export function eventFilter(query: Record<string, string>, now = Date.now()): { params: Params; filter: EventFilter } {
  const params = pick(query, EVENT_KEYS)
  const filter: EventFilter = { ...common(params, now), limit: PAGE_SIZE + 1 }
  if (params.q) filter.idContains = params.q
  if (params.before) filter.beforeSeq = integer('before', params.before)
  return { params, filter }
}

/** Parses the runs page's query. @throws HttpError 400 naming the parameter */
export function runFilter(query: Record<string, string>, now = Date.now()): { params: Params; filter: RunFilter } {
  const params = pick(query, RUN_KEYS)
  const filter: RunFilter = { ...common(params, now), limit: PAGE_SIZE + 1 }
  if (params.state) {
    if (!RUN_STATES.includes(params.state as RunState)) throw new HttpError(400, `state: expected one of ${RUN_STATES.join(', ')}`)
    filter.state = params.state as RunState
  }
  if (params.action) filter.action = params.action
  if (params.q) filter.eventIdContains = params.q
  if (params.before) filter.beforeId = integer('before', params.before)
  return { params, filter }
}

function common(params: Params, now: number): { source?: string; type?: string; since?: number; until?: number } {
  const filter: { source?: string; type?: string; since?: number; until?: number } = {}
  if (params.source) filter.source = params.source
  if (params.type) filter.type = params.type
  if (params.range) {
    const range = RANGES[params.range]
    if (!range) throw new HttpError(400, `range: expected one of ${Object.keys(RANGES).join(', ')}`)
    filter.since = now - range[1]
  }
  if (params.since) filter.since = time('since', params.since)
  if (params.until) filter.until = time('until', params.until)
  return filter
}

function integer(key: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new HttpError(400, `${key}: expected a non-negative integer`)
  return Number(value)
}

function time(key: string, value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`)
  if (!Number.isFinite(ms)) throw new HttpError(400, `${key}: expected an ISO 8601 time (UTC unless it says otherwise) or epoch milliseconds`)
  return ms
}

/** Source names to offer: the configured ones plus the built-in `cron` and `schedule` when used. */
function sourceNames(runtime: Runtime): string[] {
  const names = [...runtime.project.sources.keys()]
  if (runtime.project.actions.some((a) => a.cron)) names.push('cron')
  return names
}

function select(name: string, label: string, options: string[], value: string | undefined, any = 'any'): Html {
  const list = value && !options.includes(value) ? [...options, value] : options
  return html`<label>${label}<select name="${name}"><option value="">${any}</option>${list.map((o) => html`<option ${o === value ? 'selected' : ''}>${o}</option>`)}</select></label>`
}

function text(name: string, label: string, value: string | undefined, placeholder: string): Html {
  return html`<label>${label}<input name="${name}" value="${value ?? ''}" placeholder="${placeholder}"></label>`
}

function rangeFields(params: Params): Html {
  return html`<label>Time<select name="range"><option value="">any time</option>${Object.entries(RANGES).map(
    ([key, [label]]) => html`<option value="${key}" ${params.range === key ? 'selected' : ''}>${label}</option>`,
  )}</select></label>
  ${text('since', 'Since (UTC)', params.since, '2025-01-31T09:00')}
  ${text('until', 'Until (UTC)', params.until, '2025-01-31T18:00')}`
}

function buttons(path: string): Html {
  return html`<div class="actions"><button type="submit">Filter</button><a class="muted" href="${path}">Clear</a></div>`
}

export function eventFilterForm(runtime: Runtime, params: Params, path: string): Html {
  return html`<form class="filters" method="get" action="${path}" role="search">
    ${select('source', 'Source', sourceNames(runtime), params.source)}
    ${text('type', 'Type', params.type, 'order.created')}
    ${text('q', 'Event id contains', params.q, 'part of an id')}
    ${rangeFields(params)}
    ${buttons(path)}
  </form>`
}

export function runFilterForm(runtime: Runtime, params: Params, path: string): Html {
  return html`<form class="filters" method="get" action="${path}" role="search">
    ${select('state', 'State', [...RUN_STATES], params.state)}
    ${select('action', 'Action', runtime.project.actions.map((a) => a.name), params.action)}
    ${select('source', 'Source', sourceNames(runtime), params.source)}
    ${text('type', 'Type', params.type, 'order.created')}
    ${text('q', 'Event id contains', params.q, 'part of an id')}
    ${rangeFields(params)}
    ${buttons(path)}
  </form>`
}

/** The run filter without paging or state, as bulk replay takes it. */
export function replayFilter(filter: RunFilter): Omit<RunFilter, 'state' | 'beforeId' | 'limit'> {
  const { state: _, beforeId: __, limit: ___, ...rest } = filter
  return rest
}
