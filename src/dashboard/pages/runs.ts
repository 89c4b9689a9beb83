/**
 * @module
 * The runs page (`GET /admin/runs`): filter by state, action, source, type, time and free text in
 * the event id; newest first with keyset pages; and the way into a bulk replay of the dead runs
 * matching the filter (see replay.ts).
 */
import { html } from 'hono/html'
import type { Run } from '../../core/types.ts'
import { respond, type PageRequest } from '../access.ts'
import { PAGE_SIZE, runFilter, runFilterForm } from '../filters.ts'
import { page } from '../layout.ts'
import { badge, BASE, eventLink, pager, query, runLink, table, when, type Column } from '../ui.ts'

const RUN_COLUMNS: Column<Run>[] = [
  { label: 'Run', cell: (r) => runLink(r.id) },
  { label: 'Created', cell: (r) => when(r.createdAt) },
  { label: 'Action', cell: (r) => r.action },
  { label: 'State', cell: (r) => badge(r.state) },
  { label: 'Source', cell: (r) => r.source },
  { label: 'Type', cell: (r) => html`<span class="wrap">${r.eventType}</span>` },
  { label: 'Event id', cell: (r) => eventLink(r.source, r.eventId), class: 'wrap' },
  { label: 'Attempts', cell: (r) => `${r.attempts} / ${r.maxAttempts}`, class: 'num' },
  { label: 'Last error', cell: (r) => (r.lastError ? html`<span class="wrap">${truncate(r.lastError, 140)}</span>` : ''), class: 'wrap' },
]

export async function runsPage({ c, dash, csrf }: PageRequest): Promise<Response> {
  const { params, filter } = runFilter(c.req.query())
  const found = await dash.runtime.store.listRuns(filter)
  const runs = found.slice(0, PAGE_SIZE)
  const next = found.length > PAGE_SIZE ? runs.at(-1)!.id : null
  const { before: _, state, ...bulk } = params
  const canReplay = state === undefined || state === 'dead'
  const confirmUrl = `${BASE}/runs/replay${query(bulk)}`
  const body = html`
    <h1>Runs</h1>
    <div class="panel">${runFilterForm(dash.runtime, params, `${BASE}/runs`)}</div>
    <div class="panel">
      ${canReplay
        ? html`<div id="bulk" class="buttons">
            <a class="button secondary" href="${confirmUrl}" hx-get="${confirmUrl}" hx-target="#bulk" hx-swap="innerHTML">Replay the dead runs matching this filter…</a>
          </div>`
        : ''}
      ${table(RUN_COLUMNS, runs, { empty: 'No run matches these filters.' })}
      ${pager(`${BASE}/runs`, params, next)}
    </div>`
  return respond(c, dash, 200, page({ title: 'Runs', nav: 'runs', csrf, body }))
}

export function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text
}
