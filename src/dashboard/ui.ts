/**
 * @module
 * Small pieces every dashboard page is made of: times, durations, state badges, JSON blocks,
 * bars, tables that become cards on a phone, and keyset pagination links. All output goes through
 * hono/html, which escapes every interpolated value; nothing here builds markup by concatenation.
 */
import { html } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'

/** A rendered fragment (hono/html gives a promise when a part is one). */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>

/** Where the dashboard is mounted; links are absolute so a fragment works wherever it is swapped in. */
export const BASE = '/admin'

/** `2024-05-01 12:34:56` (UTC), with the ISO time in `datetime` and the tooltip. */
export function when(ms: number | null | undefined): Html {
  if (ms === null || ms === undefined) return html`<span class="muted">—</span>`
  const iso = new Date(ms).toISOString()
  return html`<time datetime="${iso}" title="${iso}">${iso.slice(0, 19).replace('T', ' ')}</time>`
}

/** `850 ms`, `1.25 s`, `3.5 min`, `2.0 h`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—'
  if (ms < 1) return `${ms.toFixed(2)} ms`
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}

/** `3 min ago`, for how fresh a figure is. */
export function ago(ms: number, now = Date.now()): string {
  return `${duration(Math.max(0, now - ms))} ago`
}

const STATE_CLASSES: Record<string, string> = {
  succeeded: 'ok',
  skipped: 'ok',
  answered: 'ok',
  closed: 'ok',
  success: 'ok',
  pending: 'info',
  running: 'info',
  retrying: 'warn',
  paused: 'warn',
  warning: 'warn',
  'half-open': 'warn',
  failed: 'warn',
  interrupted: 'warn',
  refused: 'warn',
  'application error': 'warn',
  dead: 'bad',
  open: 'bad',
  timeout: 'bad',
  error: 'bad',
  invalid: 'bad',
  'action developer error': 'bad',
}

/** A coloured label for a run state, attempt outcome, breaker state or call outcome. */
export function badge(state: string | null | undefined): Html {
  if (!state) return html`<span class="muted">—</span>`
  return html`<span class="badge ${STATE_CLASSES[state] ?? 'info'}">${state}</span>`
}

/** A JSON value, pretty-printed in a block that wraps rather than widening the page. */
export function json(value: unknown): Html {
  return html`<pre class="json">${value === undefined ? '(nothing)' : JSON.stringify(value, null, 2)}</pre>`
}

/**
 * A horizontal bar: `value` against `max`, coloured by how close it gets (warn from 70 %, bad
 * from 100 %). An SVG with attributes only, so the page needs no inline style (see the CSP).
 */
export function bar(value: number, max: number, label: string): Html {
  const ratio = max > 0 ? value / max : 0
  const width = Math.max(0, Math.min(100, ratio * 100)).toFixed(1)
  const level = ratio >= 1 ? 'bad' : ratio >= 0.7 ? 'warn' : 'ok'
  return html`<svg class="bar" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label="${label}">
    <title>${label}</title><rect class="track" width="100" height="6"></rect><rect class="${level}" width="${width}" height="6"></rect></svg>`
}

/** A query string from the non-empty parameters, with a leading `?` (or '' when there are none). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value))
  const text = search.toString()
  return text ? `?${text}` : ''
}

export interface Column<Row> {
  label: string
  cell: (row: Row) => Html | string | number
  /** `num` right-aligns, `wide` lets the column take the spare width, `wrap` breaks long ids. */
  class?: string
}

/**
 * A table that scrolls sideways inside itself at medium widths and turns into one card per row on
 * a phone (each cell labelled from its column, see `.cards` in the CSS).
 */
export function table<Row>(columns: Column<Row>[], rows: Row[], options: { empty: string; id?: string; rowClass?: (row: Row) => string } = { empty: 'Nothing yet.' }): Html {
  return html`<div class="table-wrap"><table class="cards">
    <thead><tr>${columns.map((col) => html`<th class="${col.class ?? ''}">${col.label}</th>`)}</tr></thead>
    <tbody ${options.id ? html`id="${options.id}"` : ''}>
      ${rows.length === 0 ? html`<tr class="empty"><td colspan="${columns.length}">${options.empty}</td></tr>` : ''}
      ${rows.map((row) => tableRow(columns, row, options.rowClass?.(row)))}
    </tbody></table></div>`
}

export function tableRow<Row>(columns: Column<Row>[], row: Row, rowClass = ''): Html {
  // One child per cell, so the phone layout (label left, value right) keeps a cell's parts together.
  return html`<tr class="${rowClass}">${columns.map((col) => html`<td class="${col.class ?? ''}" data-label="${col.label}"><span class="v">${col.cell(row)}</span></td>`)}</tr>`
}

/**
 * Keyset pagination: "Newest" back to the first page, "Older" to the page after the last row shown
 * (`before` = its seq or id). Newest first, so a page never shifts while events keep arriving.
 */
export function pager(path: string, params: Record<string, string | undefined>, next: number | null): Html {
  const { before, ...rest } = params
  return html`<nav class="pager" aria-label="pages">
    ${before ? html`<a href="${path}${query(rest)}">« Newest</a>` : html`<span class="muted">Newest first</span>`}
    ${next !== null ? html`<a rel="next" href="${path}${query({ ...rest, before: next })}">Older »</a>` : html`<span class="muted">No older entries</span>`}
  </nav>`
}

/** A definition list of label → value, for a record's header. */
export function facts(entries: [string, Html | string | number | null | undefined][]): Html {
  return html`<dl class="facts">${entries.map(([label, value]) => html`<div><dt>${label}</dt><dd>${value ?? html`<span class="muted">—</span>`}</dd></div>`)}</dl>`
}

export const runLink = (id: number) => html`<a href="${BASE}/runs/${id}">#${id}</a>`
export const eventLink = (source: string, id: string, text: string = id) =>
  html`<a class="id" href="${BASE}/events/${encodeURIComponent(source)}/${encodeURIComponent(id)}">${text}</a>`
