/**
 * @module
 * One run's page (`GET /admin/runs/:id`): what it is and where it stands (refreshed by htmx while
 * it is not finished), its replay button, every attempt with its error and stack, its log lines
 * per attempt with a search (`?q=&level=`), the durable steps it finished, its App Builder
 * activations (result and console output), the outbound calls it made, its event's payload
 * (redacted), and the other runs of that event. `POST /admin/runs/:id/replay` replays it.
 */
import { html } from 'hono/html'
import { HttpError } from '../../core/errors.ts'
import { redactPayload } from '../../core/redact.ts'
import { TERMINAL_RUN_STATES, type Attempt, type Run } from '../../core/types.ts'
import { isPayloadRemovedError } from '../../store/retention.ts'
import type { ActivationRecord, Step } from '../../store/store.ts'
import { respond, type Dashboard, type PageRequest } from '../access.ts'
import { csrfField, page } from '../layout.ts'
import { badge, BASE, duration, eventLink, facts, json, runLink, table, when, type Html } from '../ui.ts'
import { eventBody, runsOfEvent } from './events.ts'
import { outboundCallsPanel, runLogsPanel } from './run-activity.ts'

async function loadRun(dash: Dashboard, idParam: string | undefined): Promise<Run> {
  const run = /^\d+$/.test(idParam ?? '') ? await dash.runtime.store.getRun(Number(idParam)) : null
  if (!run) throw new HttpError(404, `no run #${idParam}`)
  return run
}

export async function runPage({ c, dash, csrf }: PageRequest): Promise<Response> {
  const { store, project } = dash.runtime
  const run = await loadRun(dash, c.req.param('id'))
  const attempts = await store.listAttempts(run.id)
  const [steps, event, activations, siblings, logs, outbound] = await Promise.all([
    store.listSteps(run.id),
    store.getEvent(run.source, run.eventId),
    store.listActivations?.({ runId: run.id }) ?? [],
    store.runsForEvent(run.eventSeq),
    runLogsPanel(store, run, attempts, c.req.query(), dash.redactFields),
    outboundCallsPanel(store, run),
  ])
  const replays = siblings.filter((r) => r.replayOf === run.id)
  const body = html`
    <h1>Run #${run.id} <small class="muted">${run.action}</small></h1>
    ${status(run, replays)}
    <div class="panel">
      <h2>Replay</h2>
      <p class="muted">A replay is a new run of <code>${run.action}</code> for the same event; this run is kept as it is.</p>
      <form method="post" action="${BASE}/runs/${run.id}/replay" hx-post="${BASE}/runs/${run.id}/replay" hx-target="#replay-result"
        hx-confirm="Replay run #${run.id} (${run.action}, event ${run.eventId})? A new run is created; this one is kept.">
        ${csrfField(csrf)}<div class="buttons"><button type="submit" id="replay-run">Replay this run</button><span id="replay-result" role="status"></span></div>
      </form>
    </div>
    <div class="panel"><h2>Attempts</h2>${attemptList(attempts)}</div>
    ${logs}
    <div class="panel"><h2>Steps</h2>${stepList(dash, steps)}</div>
    ${project.appBuilder || activations.length ? html`<div class="panel"><h2>Activations</h2>${activationList(dash, activations)}</div>` : ''}
    ${outbound}
    ${event ? eventBody(dash, event) : html`<div class="panel"><p class="notice warn">The event of this run is no longer in the store.</p></div>`}
    <div class="panel"><h2>All runs of this event</h2>${runsOfEvent(siblings)}</div>`
  return respond(c, dash, 200, page({ title: `Run #${run.id}`, nav: 'runs', csrf, body }))
}

/** `GET /admin/runs/:id/status`: the status panel alone, which polls itself until the run is finished. */
export async function runStatus({ c, dash }: PageRequest): Promise<Response> {
  const run = await loadRun(dash, c.req.param('id'))
  const replays = (await dash.runtime.store.runsForEvent(run.eventSeq)).filter((r) => r.replayOf === run.id)
  return respond(c, dash, 200, status(run, replays))
}

export async function replayRun({ c, dash }: PageRequest): Promise<Response> {
  const original = await loadRun(dash, c.req.param('id'))
  let run: Run
  try {
    run = await dash.runtime.store.replayRun(original.id)
  } catch (error) {
    if (!isPayloadRemovedError(error)) throw error
    // htmx swaps only 2xx answers: the refusal goes where the replay's link would have.
    if (c.req.header('hx-request') === 'true') return respond(c, dash, 200, html`<span class="notice warn">${error.message}</span>`)
    throw new HttpError(409, error.message)
  }
  dash.runtime.worker.wake()
  dash.runtime.logger.info({ run: original.id, replay: run.id }, 'dashboard: replayed a run')
  if (c.req.header('hx-request') === 'true') {
    return respond(c, dash, 201, html`<span class="notice ok">Replayed as run ${runLink(run.id)}: <a id="replay-link" href="${BASE}/runs/${run.id}">follow it</a>.</span>`)
  }
  return c.redirect(`${BASE}/runs/${run.id}`, 303)
}

function status(run: Run, replays: Run[]): Html {
  const finished = TERMINAL_RUN_STATES.includes(run.state)
  return html`<div class="panel" id="run-status" data-state="${run.state}"
      ${finished ? '' : html`hx-get="${BASE}/runs/${run.id}/status" hx-trigger="every 1s" hx-swap="outerHTML"`}>
    ${facts([
      ['State', badge(run.state)],
      ['Action', run.action],
      ['Event', eventLink(run.source, run.eventId)],
      ['Source / type', `${run.source} / ${run.eventType}`],
      ['Attempts', `${run.attempts} of at most ${run.maxAttempts}`],
      ['Ordering key', run.orderingKey],
      ['Created', when(run.createdAt)],
      ['Updated', when(run.updatedAt)],
      ...(run.state === 'retrying' || run.state === 'pending' ? [['Next attempt', when(run.runAt)] as [string, Html]] : []),
      ...(run.pausedOn ? [['Paused on connection', run.pausedOn] as [string, string]] : []),
      ...(run.replayOf !== null ? [['Replay of', runLink(run.replayOf)] as [string, Html]] : []),
      ...(replays.length ? [['Replayed as', html`${replays.map((r, i) => html`${i ? ', ' : ''}${runLink(r.id)} ${badge(r.state)}`)}`] as [string, Html]] : []),
    ])}
    ${run.lastError ? html`<h3>Last error</h3><pre>${run.lastError}</pre>` : ''}
  </div>`
}

function attemptList(attempts: Attempt[]): Html {
  if (attempts.length === 0) return html`<p class="muted">No attempt yet.</p>`
  return html`${attempts.map(
    (a, i) => html`<div class="attempt">
      <h3>Attempt ${a.number} ${badge(a.outcome ?? 'running')}</h3>
      ${facts([
        ['Started', when(a.startedAt)],
        ['Ended', when(a.endedAt)],
        ['Took', a.endedAt === null ? null : duration(a.endedAt - a.startedAt)],
        ['Worker', html`<span class="id">${a.workerId}</span>`],
      ])}
      ${a.errorMessage ? html`<pre>${a.errorMessage}</pre>` : ''}
      ${a.errorStack ? html`<details ${i === attempts.length - 1 ? 'open' : ''}><summary>Stack</summary><pre>${a.errorStack}</pre></details>` : ''}
    </div>`,
  )}`
}

function stepList(dash: Dashboard, steps: Step[]): Html {
  if (steps.length === 0) return html`<p class="muted">No durable step (<code>ctx.step</code>) finished in this run.</p>`
  return table(
    [
      { label: 'Step', cell: (s) => html`<code>${s.name}</code>` },
      { label: 'Attempt', cell: (s) => s.attempt, class: 'num' },
      { label: 'Finished', cell: (s) => when(s.finishedAt) },
      { label: 'Result', cell: (s) => json(redactPayload(s.result, { fields: dash.redactFields })), class: 'wrap block' },
    ],
    steps,
  )
}

function activationList(dash: Dashboard, activations: ActivationRecord[]): Html {
  if (activations.length === 0) return html`<p class="muted">No activation recorded for this run.</p>`
  return html`${[...activations].reverse().map(
    (a) => html`<div class="attempt">
      <h3>Attempt ${a.attempt ?? '—'}: <code>${a.action}</code> ${badge(a.status)}</h3>
      ${facts([
        ['Activation', html`<span class="id">${a.activationId}</span>`],
        ['Started', when(a.start)],
        ['Took', duration(a.end - a.start)],
        ['Left work running', a.leftWork ? 'yes' : 'no'],
      ])}
      <details ${a.status === 'success' ? '' : 'open'}><summary>Logs (${a.logs.length} lines)</summary><pre>${a.logs.join('\n') || '(no output)'}</pre></details>
      <details><summary>Result</summary>${json(redactPayload(a.result, { fields: dash.redactFields }))}</details>
    </div>`,
  )}`
}
