/**
 * @module
 * The overview (`GET /admin`): runs by state with the dead ones first, events per minute by source
 * over the last hour, the external resources closest to their deadline, and the connections'
 * breakers with the runs paused behind them.
 */
import { html } from 'hono/html'
import { connectionFlowStatus, type ConnectionFlowStatus } from '../../connections/flow/index.ts'
import { RUN_STATES } from '../../core/types.ts'
import type { Runtime } from '../../runtime/runtime.ts'
import { MAX_PAGE_SIZE, type Store } from '../../store/store.ts'
import { respond, type PageRequest } from '../access.ts'
import { page } from '../layout.ts'
import { badge, bar, BASE, duration, table, when, type Html } from '../ui.ts'
import { figures, lastHourCalls, resourceStatuses } from './external.ts'

const MINUTE = 60_000
/** Runs counted per state at most: beyond it the overview shows "100,000+" instead of reading them all. */
const COUNT_AT_MOST = 100_000
const COLOURS = 5

export async function overviewPage({ c, dash, csrf }: PageRequest): Promise<Response> {
  const { runtime } = dash
  const now = Date.now()
  const [counts, perMinute, calls, paused] = await Promise.all([
    runtime.store.countRunsByState(COUNT_AT_MOST),
    eventsPerMinute(runtime.store, now),
    lastHourCalls(runtime),
    pausedRunsByConnection(runtime),
  ])
  const body = html`
    <h1>Overview</h1>
    ${dash.tokenConfigured ? '' : html`<p class="notice warn"><code>STOREHOOK_ADMIN_TOKEN</code> is not set: the dashboard and admin API answer only on loopback.</p>`}
    <div class="grid">
      <section class="panel">
        <h2>Runs by state</h2>
        <div class="stats">
          ${RUN_STATES.map(
            (state) => html`<a class="stat ${state === 'dead' && counts.dead > 0 ? 'bad' : state === 'retrying' || state === 'paused' ? (counts[state] > 0 ? 'warn' : '') : ''}"
              href="${BASE}/runs?state=${state}" id="count-${state}"><span class="n">${counted(counts[state])}</span><span class="l">${state}</span></a>`,
          )}
        </div>
        ${counts.dead > 0 ? html`<p class="notice bad"><a href="${BASE}/runs?state=dead">${counted(counts.dead)} dead run${counts.dead === 1 ? '' : 's'}</a> gave up; fix the cause, then replay them.</p>` : ''}
      </section>
      <section class="panel">
        <h2>Events per minute, last hour</h2>
        ${eventChart(perMinute)}
      </section>
    </div>
    <section class="panel"><h2>External resources against their deadline, last hour</h2>${slowest(runtime, calls)}</section>
    <section class="panel"><h2>Connections</h2>${connections(connectionFlowStatus(runtime.project.connections), paused)}</section>`
  return respond(c, dash, 200, page({ title: 'Overview', nav: 'overview', csrf, body }))
}

const counted = (n: number) => (n >= COUNT_AT_MOST ? `${COUNT_AT_MOST.toLocaleString('en')}+` : String(n))

interface PerMinute {
  /** Start of the first minute shown. */
  start: number
  /** Per source, 60 counts, oldest minute first. */
  bySource: Map<string, number[]>
}

async function eventsPerMinute(store: Store, now: number): Promise<PerMinute> {
  const start = Math.floor(now / MINUTE) * MINUTE - 59 * MINUTE
  const bySource = new Map<string, number[]>()
  for (const { source, minute, count } of await store.countEventsPerMinute(start)) {
    let counts = bySource.get(source)
    if (!counts) bySource.set(source, (counts = new Array<number>(60).fill(0)))
    const index = Math.floor((minute - start) / MINUTE)
    if (index >= 0 && index < 60) counts[index] = count
  }
  return { start, bySource }
}

function eventChart({ start, bySource }: PerMinute): Html {
  const sources = [...bySource.entries()].map(([source, counts]) => ({ source, counts, total: counts.reduce((a, b) => a + b, 0) })).sort((a, b) => b.total - a.total)
  if (sources.length === 0) return html`<p class="muted">No event in the last hour.</p>`
  // The busiest sources keep a colour of their own; the rest share the last one.
  const series = sources.slice(0, COLOURS - 1)
  if (sources.length >= COLOURS) {
    const rest = sources.slice(COLOURS - 1)
    series.push({ source: `${rest.length} other source${rest.length === 1 ? '' : 's'}`, counts: new Array(60).fill(0).map((_, i) => rest.reduce((n, s) => n + s.counts[i]!, 0)), total: rest.reduce((n, s) => n + s.total, 0) })
  }
  const totals = new Array(60).fill(0).map((_, i) => series.reduce((n, s) => n + s.counts[i]!, 0))
  const peak = Math.max(...totals, 1)
  const total = totals.reduce((a, b) => a + b, 0)
  const rects: Html[] = []
  for (let minute = 0; minute < 60; minute++) {
    let y = 100
    series.forEach((s, i) => {
      const count = s.counts[minute]!
      if (count === 0) return
      const h = (count / peak) * 100
      y -= h
      const at = new Date(start + minute * MINUTE).toISOString().slice(11, 16)
      rects.push(html`<rect class="c${i}" x="${minute * 10 + 1}" y="${y.toFixed(2)}" width="8" height="${h.toFixed(2)}"><title>${at} UTC, ${s.source}: ${count}</title></rect>`)
    })
  }
  return html`<div class="chart" id="events-chart" data-total="${total}">
    <svg viewBox="0 0 600 100" preserveAspectRatio="none" role="img" aria-label="events per minute by source over the last hour, ${total} in all">
      <line class="grid-line" x1="0" y1="0.5" x2="600" y2="0.5"></line><line class="grid-line" x1="0" y1="50" x2="600" y2="50"></line><line class="grid-line" x1="0" y1="99.5" x2="600" y2="99.5"></line>
      ${rects}
    </svg>
    <div class="legend"><span class="muted">peak ${peak}/min · ${total} in the hour · ${when(start)} → now (UTC)</span></div>
    <div class="legend">${series.map((s, i) => html`<span><span class="sw c${i}"></span>${s.source} (${s.total})</span>`)}</div>
  </div>`
}

function slowest(runtime: Runtime, calls: Awaited<ReturnType<typeof lastHourCalls>>): Html {
  const resources = resourceStatuses(runtime)
  if (resources.length === 0) return html`<p class="muted">This project has no external resources.</p>`
  if (calls === null) return html`<p class="muted">The ${runtime.store.kind} store does not record external resource calls.</p>`
  const rows = figures(resources, calls).sort((a, b) => (b.max ?? -1) / b.resource.deadlineMs - (a.max ?? -1) / a.resource.deadlineMs).slice(0, 5)
  return html`${table(
    [
      { label: 'Resource', cell: (f) => html`<a href="${BASE}/external?resource=${encodeURIComponent(f.resource.name)}">${f.resource.name}</a>` },
      { label: 'Calls', cell: (f) => f.calls, class: 'num' },
      { label: '95th pct', cell: (f) => duration(f.p95), class: 'num' },
      { label: 'Slowest / deadline', cell: (f) => html`<span>${duration(f.max)} / ${duration(f.resource.deadlineMs)}${f.max === null ? '' : bar(f.max, f.resource.deadlineMs, `slowest ${duration(f.max)} of ${duration(f.resource.deadlineMs)}`)}</span>` },
      { label: 'Fallbacks used', cell: (f) => f.fallbacks, class: 'num' },
      { label: 'Breaker', cell: (f) => (f.resource.breaker ? html`${badge(f.resource.breaker.state)} ${f.resource.breaker.consecutiveFailures} of ${f.resource.breaker.openAbove + 1} failures` : html`<span class="muted">none</span>`) },
    ],
    rows,
  )}<p><a href="${BASE}/external">All external resources and their calls</a></p>`
}

/** Runs paused behind each connection (at most the newest 1000 are counted). */
async function pausedRunsByConnection(runtime: Runtime): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const run of await runtime.store.listRuns({ state: 'paused', limit: MAX_PAGE_SIZE })) {
    if (run.pausedOn) counts.set(run.pausedOn, (counts.get(run.pausedOn) ?? 0) + 1)
  }
  return counts
}

function connections(statuses: ConnectionFlowStatus[], paused: Map<string, number>): Html {
  if (statuses.length === 0 && paused.size === 0) return html`<p class="muted">This project has no connections.</p>`
  const rows = [...statuses]
  // Runs may be paused on a connection this process no longer has (config changed): still show them.
  for (const name of paused.keys()) if (!rows.some((s) => s.connection === name)) rows.push({ connection: name, kind: '?', slots: '?', rateLimit: null, maxConcurrency: null, waiting: 0, inFlight: 0, throttled: 0, breaker: null })
  return table(
    [
      { label: 'Connection', cell: (s) => html`<strong>${s.connection}</strong> <span class="muted">${s.kind}</span>` },
      { label: 'Breaker', cell: (s) => (s.breaker ? html`${badge(s.breaker.state)}${s.breaker.probeInMs !== null ? html` <span class="muted">probe in ${duration(s.breaker.probeInMs)}</span>` : ''}` : html`<span class="muted">none</span>`) },
      { label: 'Paused runs', cell: (s) => (paused.get(s.connection) ? html`<a href="${BASE}/runs?state=paused">${paused.get(s.connection)}</a>` : '0'), class: 'num' },
      { label: 'In flight', cell: (s) => `${s.inFlight}${s.maxConcurrency ? ` / ${s.maxConcurrency}` : ''}`, class: 'num' },
      { label: 'Waiting', cell: (s) => s.waiting, class: 'num' },
      { label: 'Rate', cell: (s) => (s.rateLimit ? `${s.rateLimit.effective}/${s.rateLimit.requests} per ${duration(s.rateLimit.perMs)}${s.rateLimit.pausedForMs ? `, paused ${duration(s.rateLimit.pausedForMs)}` : ''}` : '—') },
      { label: '429s', cell: (s) => s.throttled, class: 'num' },
    ],
    rows,
  )
}
