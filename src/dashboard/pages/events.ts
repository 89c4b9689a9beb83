/**
 * @module
 * The events page (`GET /admin/events`: filters, newest first, keyset pages, the live tail) and
 * one event's page (`GET /admin/events/:source/:id`: its headers and payload, redacted, and its
 * runs). Rows are rendered here for both the table and the tail, so they always look alike.
 */
import { html } from 'hono/html'
import { HttpError } from '../../core/errors.ts'
import { redactHeaders, redactPayload } from '../../core/redact.ts'
import type { Run, StoredEvent } from '../../core/types.ts'
import type { EventWithDeliveries } from '../../store/store.ts'
import { respond, type Dashboard, type PageRequest } from '../access.ts'
import { ASSET_URLS } from '../assets.ts'
import { eventFilter, eventFilterForm, PAGE_SIZE } from '../filters.ts'
import { page } from '../layout.ts'
import { badge, BASE, eventLink, facts, json, pager, query, runLink, table, tableRow, when, type Column, type Html } from '../ui.ts'

export const EVENT_COLUMNS: Column<EventWithDeliveries>[] = [
  { label: 'Received', cell: (e) => when(e.receivedAt) },
  { label: 'Source', cell: (e) => e.source },
  { label: 'Type', cell: (e) => html`<span class="wrap">${e.type}</span>` },
  { label: 'Event id', cell: (e) => eventLink(e.source, e.id), class: 'wrap' },
  { label: 'Repeats', cell: (e) => e.duplicateDeliveries, class: 'num' },
  { label: 'Seq', cell: (e) => e.seq, class: 'num' },
]

/** One event as a table row (the tail sends these). */
export function eventRow(event: EventWithDeliveries, fresh = false): Html {
  return tableRow(EVENT_COLUMNS, event, fresh ? 'fresh' : '')
}

export async function eventsPage({ c, dash, csrf }: PageRequest): Promise<Response> {
  const { params, filter } = eventFilter(c.req.query())
  const found = await dash.runtime.store.listEvents(filter)
  const events = found.slice(0, PAGE_SIZE)
  const next = found.length > PAGE_SIZE ? events.at(-1)!.seq : null
  // The tail follows the same filter (but not the page), starting after the newest event shown.
  const { before: _, ...tailParams } = params
  const tailUrl = `${BASE}/tail${query({ ...tailParams, after: params.before ? undefined : events[0]?.seq ?? 0 })}`
  const body = html`
    <h1>Events</h1>
    <div class="panel">${eventFilterForm(dash.runtime, params, `${BASE}/events`)}</div>
    <div class="panel">
      <div class="buttons">
        ${params.before
          ? html`<span class="muted">The live tail shows new events on the newest page.</span>`
          : html`<button type="button" class="secondary" id="tail-toggle" data-url="${tailUrl}" aria-pressed="false">Start live tail</button>
              <span id="tail-status" class="live"></span>`}
      </div>
      ${table(EVENT_COLUMNS, events, { empty: 'No event matches these filters.', id: 'events-body' })}
      ${pager(`${BASE}/events`, params, next)}
    </div>`
  return respond(c, dash, 200, page({ title: 'Events', nav: 'events', csrf, body, scripts: [ASSET_URLS.tail] }))
}

export async function eventPage({ c, dash, csrf }: PageRequest): Promise<Response> {
  const { store } = dash.runtime
  const event = await store.getEvent(c.req.param('source')!, c.req.param('id')!)
  if (!event) throw new HttpError(404, `no event ${c.req.param('id')} from source ${c.req.param('source')}`)
  const runs = await store.runsForEvent(event.seq)
  const body = html`
    <h1>Event <span class="id">${event.id}</span></h1>
    <div class="panel">
      ${facts([
        ['Source', event.source],
        ['Type', event.type],
        ['Received', when(event.receivedAt)],
        ['Seq', event.seq],
        ['Repeated deliveries', event.duplicateDeliveries],
      ])}
    </div>
    <div class="panel"><h2>Runs</h2>${runsOfEvent(runs)}</div>
    ${eventBody(dash, event)}`
  return respond(c, dash, 200, page({ title: `Event ${event.id}`, nav: 'events', csrf, body }))
}

/** An event's payload and headers as an operator may see them: secrets and personal data redacted. */
export function eventBody(dash: Dashboard, event: StoredEvent & Pick<EventWithDeliveries, 'payloadRemovedAt'>): Html {
  return html`<div class="panel">
    <h2>Payload</h2>
    ${event.payloadRemovedAt === undefined ? '' : html`<p class="notice warn">Removed ${when(event.payloadRemovedAt)} by retention or an expunge: the payload and headers are no longer kept, and runs of this event cannot be replayed.</p>`}
    <p class="muted">Secret fields (passwords, tokens, card data)${dash.redactFields.length ? html` and ${dash.redactFields.join(', ')}` : ''} are shown as [redacted]; the store keeps what the platform sent.</p>
    ${json(redactPayload(event.payload, { fields: dash.redactFields }))}
    <details><summary>Headers</summary>${json(redactHeaders(event.headers))}</details>
  </div>`
}

export function runsOfEvent(runs: Run[]): Html {
  return table(
    [
      { label: 'Run', cell: (r) => runLink(r.id) },
      { label: 'Action', cell: (r) => r.action },
      { label: 'State', cell: (r) => badge(r.state) },
      { label: 'Attempts', cell: (r) => `${r.attempts} / ${r.maxAttempts}`, class: 'num' },
      { label: 'Replay of', cell: (r) => (r.replayOf === null ? '' : runLink(r.replayOf)) },
      { label: 'Created', cell: (r) => when(r.createdAt) },
    ],
    runs,
    { empty: 'No action is subscribed to this event.' },
  )
}
