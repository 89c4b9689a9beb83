/**
 * @module
 * What a run did, on its page: its log lines per attempt with a search (text and level, searched
 * by the store; a plain GET form that htmx turns into an in-place update of this panel alone) and
 * the outbound HTTP calls it made through its connections. Both are stored redacted
 * (runtime/run-log.ts, connections/http/redact-url.ts); the page is scrubbed once more on its way
 * out (access.ts).
 */
import { html } from 'hono/html'
import { redactPayload } from '../../core/redact.ts'
import type { Attempt, Run } from '../../core/types.ts'
import { RUN_LOG_LEVELS, runLogFilter } from '../../runtime/run-log.ts'
import type { OutboundCallRecord, RunLogLine, Store } from '../../store/store.ts'
import { BASE, duration, query, table, when, type Html } from '../ui.ts'

const LEVEL_CLASSES: Record<string, string> = { warn: 'warn', stderr: 'warn', error: 'bad', fatal: 'bad' }

/**
 * The logs panel (`id="run-logs"`) for the search in `params` (`q`, `level`, `after`); fields
 * named in `redactFields` (personal data, `STOREHOOK_REDACT_FIELDS`) are shown redacted too.
 *
 * @example
 * const panel = await runLogsPanel(store, run, attempts, c.req.query(), dash.redactFields)
 */
export async function runLogsPanel(store: Store, run: Run, attempts: Attempt[], params: Record<string, string>, redactFields: string[]): Promise<Html> {
  const filter = runLogFilter(run.id, { q: params.q, level: params.level, after: params.after })
  const lines = (await store.listRunLogs?.(filter)) ?? []
  const path = `${BASE}/runs/${run.id}`
  const searching = Boolean(params.q || params.level || params.after)
  const numbers = [...new Set([...attempts.map((a) => a.number), ...lines.map((l) => l.attempt)])].sort((a, b) => a - b)
  const groups = numbers.map((n) => ({ attempt: n, lines: lines.filter((l) => l.attempt === n) })).filter((g) => !searching || g.lines.length > 0)
  const more = lines.length === filter.limit ? lines.at(-1)!.seq : null
  // With a page cut short, attempts after its last line have their lines on the next page.
  const continuesAfter = more !== null ? lines.at(-1)!.attempt : Number.POSITIVE_INFINITY
  return html`<div class="panel" id="run-logs">
    <h2>Logs</h2>
    <form class="filters" method="get" action="${path}#run-logs" role="search"
      hx-get="${path}" hx-select="#run-logs" hx-target="#run-logs" hx-swap="outerHTML" hx-push-url="true">
      <label>Text contains<input type="search" name="q" value="${params.q ?? ''}" placeholder="order 42, ERP, timeout…"></label>
      <label>Level<select name="level"><option value="">any level</option>${RUN_LOG_LEVELS.map(
        (level) => html`<option value="${level}" ${params.level === level ? 'selected' : ''}>${level === 'stdout' || level === 'stderr' ? level : `${level} and above`}</option>`,
      )}</select></label>
      <div class="actions"><button type="submit">Search</button>${searching ? html`<a class="muted" href="${path}#run-logs">Clear</a>` : ''}</div>
    </form>
    ${groups.length === 0
      ? html`<p class="muted">${searching ? 'No line matches this search.' : 'No attempt yet.'}</p>`
      : groups.map((g, i) => html`<details ${i === groups.length - 1 || searching ? 'open' : ''}>
          <summary>Attempt ${g.attempt}: ${g.lines.length} ${g.lines.length === 1 ? 'line' : 'lines'}${searching ? ' matching' : ''}</summary>
          ${g.lines.length ? html`<pre class="log">${g.lines.map((line) => logLine(line, redactFields))}</pre>` : g.attempt > continuesAfter
              ? html`<p class="muted">Its lines come after those shown: see “More lines” below.</p>`
              : html`<p class="muted">Nothing written through <code>ctx.logger</code> or the console.</p>`}
        </details>`)}
    ${more !== null ? html`<p><a rel="next" href="${path}${query({ q: params.q, level: params.level, after: more })}#run-logs">More lines »</a></p>` : ''}
  </div>`
}

function logLine(line: RunLogLine, redactFields: string[]): Html {
  const iso = new Date(line.at).toISOString()
  const fields = line.fields && JSON.stringify(redactFields.length ? redactPayload(line.fields, { fields: redactFields }) : line.fields)
  return html`<span class="line"><time datetime="${iso}" title="${iso}">${iso.slice(11, 23)}</time> <span class="badge ${LEVEL_CLASSES[line.level] ?? 'info'}">${line.level}</span> ${line.message}${fields ? ` ${fields}` : ''}</span>
`
}

/** The outbound calls panel: every HTTP request the run sent through its connections. */
export async function outboundCallsPanel(store: Store, run: Run): Promise<Html> {
  const calls = (await store.listOutboundCalls?.({ runId: run.id, limit: 1000 })) ?? []
  const traced = calls.some((c) => c.traceId !== null)
  return html`<div class="panel" id="outbound-calls"><h2>Outbound calls</h2>${table<OutboundCallRecord>(
    [
      { label: 'Attempt', cell: (c) => c.attempt, class: 'num' },
      { label: 'Started', cell: (c) => when(c.startedAt) },
      { label: 'Connection', cell: (c) => html`<code>${c.connection}</code>` },
      { label: 'Method', cell: (c) => c.method },
      { label: 'URL', cell: (c) => html`<span class="id">${c.url}</span>`, class: 'wide wrap' },
      { label: 'Status', cell: (c) => (c.status === null ? html`<span class="badge bad">no answer</span>` : html`<span class="badge ${c.status < 300 ? 'ok' : c.status < 500 ? 'warn' : 'bad'}">${c.status}</span>`) },
      { label: 'Took', cell: (c) => duration(c.durationMs), class: 'num' },
      { label: 'Error', cell: (c) => c.error ?? '', class: 'wrap' },
      ...(traced ? [{ label: 'Trace', cell: (c: OutboundCallRecord) => html`<span class="id">${c.traceId ?? ''}</span>`, class: 'wrap' }] : []),
    ],
    calls,
    { empty: 'No HTTP request sent through a connection.' },
  )}</div>`
}
