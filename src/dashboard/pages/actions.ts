/**
 * @module
 * Actions (`GET /admin/actions`): what this process loaded, from which file, subscribed to which
 * event types and sources, with its retry, concurrency and timeout; the sources events come in
 * through; and, for an App Builder project, the manifest's actions and event registrations (input
 * names only: their values are secrets).
 */
import { html } from 'hono/html'
import type { AppBuilderApp } from '../../runtime/app-builder/app.ts'
import type { Runtime } from '../../runtime/runtime.ts'
import type { LoadedAction } from '../../runtime/subscriptions.ts'
import { respond, type PageRequest } from '../access.ts'
import { page } from '../layout.ts'
import { BASE, duration, query, table, type Html } from '../ui.ts'

export async function actionsPage({ c, dash, csrf }: PageRequest): Promise<Response> {
  const { project } = dash.runtime
  const body = html`
    <h1>Actions</h1>
    <section class="panel">
      <h2>Loaded actions</h2>
      <p class="muted">Project <code class="id">${project.dir}</code>, configuration <code class="id">${project.configFile.slice(project.dir.length + 1)}</code>.</p>
      ${actionTable(project.actions)}
    </section>
    <section class="panel"><h2>Sources</h2>${sources(dash.runtime)}</section>
    ${project.appBuilder ? appBuilder(project.appBuilder) : ''}`
  return respond(c, dash, 200, page({ title: 'Actions', nav: 'actions', csrf, body }))
}

function actionTable(actions: LoadedAction[]): Html {
  return table(
    [
      { label: 'Action', cell: (a) => html`<a href="${BASE}/runs${query({ action: a.name })}"><strong>${a.name}</strong></a>` },
      { label: 'File', cell: (a) => html`<span class="id">${a.file}</span>`, class: 'wrap' },
      { label: 'Event types', cell: (a) => html`${a.types.map((t, i) => html`${i ? ', ' : ''}<code>${t}</code>`)}`, class: 'wrap' },
      { label: 'Sources', cell: (a) => (a.cron ? html`cron <code>${a.cron.pattern}</code>` : a.sources ? a.sources.join(', ') : html`<span class="muted">any</span>`) },
      { label: 'Retries', cell: (a) => `${a.retry.maxAttempts} attempts, ${duration(a.retry.baseDelayMs)}…${duration(a.retry.maxDelayMs)}` },
      { label: 'Concurrency', cell: (a) => a.concurrency ?? 'shared', class: 'num' },
      { label: 'Timeout', cell: (a) => duration(a.timeoutMs), class: 'num' },
    ],
    actions,
    { empty: 'No action is loaded: add one under actions/.' },
  )
}

function sources(runtime: Runtime): Html {
  const list = [...runtime.project.sources.values()]
  return table(
    [
      { label: 'Source', cell: (s) => html`<a href="${BASE}/events${query({ source: s.name })}"><strong>${s.name}</strong></a>` },
      { label: 'Kind', cell: (s) => s.kind },
      { label: 'Endpoint', cell: (s) => html`<code>POST /events/${s.name}</code>` },
      {
        label: 'Actions',
        cell: (s) => {
          const names = runtime.project.actions.filter((a) => !a.cron && (a.sources === null || a.sources.includes(s.name))).map((a) => a.name)
          return names.length ? names.join(', ') : html`<span class="muted">none</span>`
        },
        class: 'wrap',
      },
    ],
    list,
    { empty: 'No source is configured.' },
  )
}

function appBuilder(app: AppBuilderApp): Html {
  const { manifest } = app
  return html`<section class="panel">
    <h2>App Builder actions</h2>
    <p class="muted">Namespace <code>${app.namespace}</code>, from ${manifest.files.map((f, i) => html`${i ? ', ' : ''}<code>${f}</code>`)}.</p>
    ${table(
      [
        { label: 'Action', cell: (a) => html`<strong>${a.fullName}</strong>` },
        { label: 'Declared in', cell: (a) => html`<span class="id">${a.declaredIn}</span>`, class: 'wrap' },
        { label: 'Web', cell: (a) => (a.web ? html`<code>/api/v1/web/${a.fullName}</code>${a.rawHttp ? ' (raw)' : ''}` : html`<span class="muted">no</span>`), class: 'wrap' },
        {
          label: 'Event registrations',
          cell: (a) => {
            const regs = manifest.registrations.filter((r) => r.action === a.fullName)
            return regs.length ? html`${regs.map((r) => html`<div><strong>${r.name}</strong>: ${r.eventCodes.map((code, i) => html`${i ? ', ' : ''}<code>${code}</code>`)}</div>`)}` : html`<span class="muted">none</span>`
          },
          class: 'wrap',
        },
        { label: 'Inputs', cell: (a) => Object.keys(a.inputs).join(', ') || '—', class: 'wrap' },
        { label: 'Timeout', cell: (a) => duration(a.timeoutMs), class: 'num' },
      ],
      manifest.actions,
      { empty: 'The manifest declares no action.' },
    )}
    ${manifest.skippedRegistrations?.length
      ? html`<p class="notice warn">Registrations not bound (they deliver elsewhere): ${manifest.skippedRegistrations.map((r, i) => html`${i ? '; ' : ''}<strong>${r.name}</strong> (${r.reason})`)}</p>`
      : ''}
  </section>`
}
