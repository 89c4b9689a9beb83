/**
 * @module
 * External resources (`GET /admin/external`): each resource with its deadline, its fallbacks and
 * its mirror of the platform's breaker (Commerce Layer opens its circuit after 30 failures in a
 * row and never closes it by itself), the last hour's figures, and the recent calls, each one's
 * duration against the deadline. `POST /admin/external/:name/reset-breaker` forgets the failures
 * after the circuit was reset on the platform (`_reset_circuit`).
 */
import { html } from 'hono/html'
import { HttpError } from '../../core/errors.ts'
import type { Runtime } from '../../runtime/runtime.ts'
import type { ExternalCall } from '../../store/store.ts'
import { respond, type PageRequest } from '../access.ts'
import { csrfField, page } from '../layout.ts'
import { badge, bar, BASE, duration, facts, pager, table, when, type Html } from '../ui.ts'

const PAGE = 50
const HOUR_MS = 3_600_000

/** What `runtime.external.status()` says of one resource (see runtime/external/load.ts `describe`). */
export interface ResourceStatus {
  name: string
  file: string
  kind: string
  path: string
  deadlineMs: number
  fallback: { lastGood: false | { entries: number; customKey: boolean }; answer: false | 'static' | 'function'; error: { status: number; code?: string; message?: string } }
  breaker: { state: string; consecutiveFailures: number; warnAt: number; openAbove: number; counts: string; lastFailureAt: string | null; openedAt: string | null } | null
  [other: string]: unknown
}

export interface ResourceFigures {
  resource: ResourceStatus
  calls: number
  p95: number | null
  max: number | null
  fallbacks: number
  timeouts: number
}

export function resourceStatuses(runtime: Runtime): ResourceStatus[] {
  return runtime.external.status() as ResourceStatus[]
}

/** Per resource, from recorded calls: count, 95th percentile and longest duration, fallbacks used. */
export function figures(resources: ResourceStatus[], calls: ExternalCall[]): ResourceFigures[] {
  return resources.map((resource) => {
    const own = calls.filter((call) => call.resource === resource.name)
    const durations = own.map((call) => call.durationMs).sort((a, b) => a - b)
    return {
      resource,
      calls: own.length,
      p95: durations.length ? durations[Math.min(durations.length - 1, Math.ceil(durations.length * 0.95) - 1)]! : null,
      max: durations.at(-1) ?? null,
      fallbacks: own.filter((call) => call.fallback !== 'none').length,
      timeouts: own.filter((call) => call.outcome === 'timeout').length,
    }
  })
}

/** The last hour's recorded calls (at most 1000), or null when the store records none. */
export async function lastHourCalls(runtime: Runtime): Promise<ExternalCall[] | null> {
  if (!runtime.store.listExternalCalls) return null
  return runtime.store.listExternalCalls({ since: Date.now() - HOUR_MS, limit: 1000 })
}

export async function externalPage({ c, dash, csrf }: PageRequest): Promise<Response> {
  const { runtime } = dash
  const resources = resourceStatuses(runtime)
  const only = c.req.query('resource') || undefined
  const before = c.req.query('before') || undefined
  if (before !== undefined && !/^\d+$/.test(before)) throw new HttpError(400, 'before: expected a call id')
  const hour = await lastHourCalls(runtime)
  const list = runtime.store.listExternalCalls
    ? await runtime.store.listExternalCalls({ ...(only ? { resource: only } : {}), ...(before ? { beforeId: Number(before) } : {}), limit: PAGE + 1 })
    : null
  const deadlines = new Map(resources.map((r) => [r.name, r.deadlineMs]))
  const body = html`
    <h1>External resources</h1>
    ${resources.length === 0 ? html`<div class="panel"><p class="muted">This project has no external resources (files in <code>external/</code>).</p></div>` : ''}
    ${hour === null ? html`<p class="notice warn">The ${runtime.store.kind} store does not record external resource calls, so no figures or calls are shown.</p>` : ''}
    <div class="grid">${figures(resources, hour ?? []).map((f) => resourcePanel(f, csrf))}</div>
    ${list === null
      ? ''
      : html`<div class="panel">
          <h2>Recent calls${only ? html` to <code>${only}</code> <a class="muted" href="${BASE}/external">(all resources)</a>` : ''}</h2>
          ${callTable(list.slice(0, PAGE), deadlines)}
          ${pager(`${BASE}/external`, { resource: only, before }, list.length > PAGE ? list[PAGE - 1]!.id : null)}
        </div>`}`
  return respond(c, dash, 200, page({ title: 'External resources', nav: 'external', csrf, body }))
}

function resourcePanel(f: ResourceFigures, csrf: string): Html {
  const r = f.resource
  const fallbacks = [
    r.fallback.lastGood ? `last good answer (${r.fallback.lastGood.entries} kept)` : null,
    r.fallback.answer ? `${r.fallback.answer} answer` : null,
    `error ${r.fallback.error.status}${r.fallback.error.code ? ` ${r.fallback.error.code}` : ''}`,
  ].filter(Boolean)
  return html`<section class="panel" id="resource-${r.name}">
    <h2><a href="${BASE}/external?resource=${encodeURIComponent(r.name)}">${r.name}</a> <small class="muted">${r.kind}</small></h2>
    ${facts([
      ['Path', html`<code>POST ${r.path}</code>`],
      ['File', html`<span class="id">${r.file}</span>`],
      ['Deadline', duration(r.deadlineMs)],
      ['Fallbacks, in order', fallbacks.join(' → ')],
      ['Calls, last hour', f.calls],
      ['95th percentile', f.p95 === null ? null : html`${duration(f.p95)} ${bar(f.p95, r.deadlineMs, `95th percentile ${duration(f.p95)} of a ${duration(r.deadlineMs)} deadline`)}`],
      ['Slowest', f.max === null ? null : html`${duration(f.max)} ${bar(f.max, r.deadlineMs, `slowest ${duration(f.max)} of a ${duration(r.deadlineMs)} deadline`)}`],
      ['Fallbacks used, last hour', `${f.fallbacks} (${f.timeouts} timeouts)`],
    ])}
    ${r.breaker ? breaker(r, csrf) : html`<p class="muted">No breaker: this platform does not stop calling after failures.</p>`}
  </section>`
}

function breaker(r: ResourceStatus, csrf: string): Html {
  const b = r.breaker!
  return html`<h3>Platform circuit breaker ${badge(b.state)}</h3>
    <p>${b.consecutiveFailures} failure${b.consecutiveFailures === 1 ? '' : 's'} in a row; the platform warns at ${b.warnAt} and opens its circuit above ${b.openAbove}
      (counting ${b.counts === 'errors' ? 'every answer ≥ 400' : 'answers ≥ 500'} and late answers).</p>
    ${bar(b.consecutiveFailures, b.openAbove + 1, `${b.consecutiveFailures} of ${b.openAbove + 1} failures before the circuit opens`)}
    ${b.openedAt ? html`<p class="notice bad">Presumed open since ${when(Date.parse(b.openedAt))}: the platform stopped calling. Reset the circuit on the platform (<code>_reset_circuit</code>), then here.</p>` : ''}
    ${b.consecutiveFailures > 0
      ? html`<form method="post" action="${BASE}/external/${encodeURIComponent(r.name)}/reset-breaker" hx-post="${BASE}/external/${encodeURIComponent(r.name)}/reset-breaker"
          hx-target="#resource-${r.name}" hx-select="#resource-${r.name}" hx-swap="outerHTML"
          hx-confirm="Forget ${b.consecutiveFailures} failures of ${r.name}? Do this after resetting the circuit on the platform.">
          ${csrfField(csrf)}<div class="buttons"><button type="submit" class="secondary">Reset the failure count</button></div></form>`
      : ''}`
}

function callTable(calls: ExternalCall[], deadlines: Map<string, number>): Html {
  return table(
    [
      { label: 'Started', cell: (call) => when(call.startedAt) },
      { label: 'Resource', cell: (call) => call.resource },
      {
        label: 'Duration / deadline',
        cell: (call) => {
          const deadline = deadlines.get(call.resource) ?? 0
          return html`<span>${duration(call.durationMs)}${deadline ? html` / ${duration(deadline)}${bar(call.durationMs, deadline, `${duration(call.durationMs)} of ${duration(deadline)}`)}` : ''}</span>`
        },
      },
      { label: 'Status', cell: (call) => call.status, class: 'num' },
      { label: 'Outcome', cell: (call) => badge(call.outcome) },
      {
        label: 'Fallback',
        cell: (call) => (call.fallback === 'none' ? html`<span class="muted">none</span>` : html`<span class="badge ${call.fallback === 'error' ? 'bad' : 'warn'}">${call.fallback}</span>`),
      },
      { label: 'Error', cell: (call) => call.error ?? '', class: 'wrap' },
    ],
    calls,
    { empty: 'No call recorded.' },
  )
}

/** `POST /admin/external/:name/reset-breaker`, then the external page again. */
export async function resetBreaker(req: PageRequest): Promise<Response> {
  const name = req.c.req.param('name')!
  if (!req.dash.runtime.external.resetBreaker(name)) throw new HttpError(404, `no external resource named "${name}"`)
  req.dash.runtime.logger.info({ resource: name }, 'dashboard: reset the failure count of an external resource')
  if (req.c.req.header('hx-request') === 'true') return externalPage(req)
  return req.c.redirect(`${BASE}/external`, 303)
}
