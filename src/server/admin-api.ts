/**
 * @module
 * The admin JSON API under `/admin/api`: list and filter events and runs, show one with its
 * attempts, its log lines (searchable) and its outbound calls, replay one run or every dead run
 * matching a filter. Times are ISO 8601 in answers and
 * accepted as ISO 8601 or epoch milliseconds in filters.
 */
import { Hono } from 'hono'
import { HttpError } from '../core/errors.ts'
import { RUN_STATES, type RunState } from '../core/types.ts'
import { runLogFilter } from '../runtime/run-log.ts'
import type { Runtime } from '../runtime/runtime.ts'
import { isPayloadRemovedError } from '../store/retention.ts'
import type { EventFilter, RunFilter } from '../store/store.ts'
import { adminConnections } from './admin-connections.ts'
import { adminExpunge } from './admin-expunge.ts'

export function adminApi(runtime: Runtime): Hono {
  const { store } = runtime
  const api = new Hono()

  api.get('/events', async (c) => {
    const q = c.req.query()
    const filter: EventFilter = {
      ...text('source', q.source),
      ...text('type', q.type),
      ...time('since', q.since),
      ...time('until', q.until),
      ...text('idContains', q.q),
      ...integer('beforeSeq', q.before),
      ...integer('limit', q.limit),
    }
    return c.json({ events: (await store.listEvents(filter)).map(isoTimes) })
  })

  api.get('/events/:source/:id', async (c) => {
    const event = await store.getEvent(c.req.param('source'), c.req.param('id'))
    if (!event) throw new HttpError(404, 'no such event')
    return c.json({ event: isoTimes(event), runs: (await store.runsForEvent(event.seq)).map(isoTimes) })
  })

  api.get('/runs', async (c) => {
    const filter = runFilter(c.req.query())
    return c.json({ runs: (await store.listRuns(filter)).map(isoTimes) })
  })

  api.get('/runs/:id{[0-9]+}', async (c) => {
    const run = await store.getRun(Number(c.req.param('id')))
    if (!run) throw new HttpError(404, 'no such run')
    const [attempts, steps, event, activations] = await Promise.all([
      store.listAttempts(run.id),
      store.listSteps(run.id),
      store.getEvent(run.source, run.eventId),
      runtime.project.appBuilder ? (store.listActivations?.({ runId: run.id }) ?? []) : [],
    ])
    // Each attempt lists the durable steps it finished (later attempts replay them, not redo them)
    // and, for an App Builder action, its activation: result and console output.
    const withSteps = attempts.map((a) => ({
      ...isoTimes(a),
      steps: steps.filter((step) => step.attempt === a.number).map(({ runId: _, ...step }) => isoTimes(step)),
      ...(runtime.project.appBuilder ? { activations: activations.filter((x) => x.attempt === a.number).map(activationTimes) } : {}),
    }))
    return c.json({ run: isoTimes(run), attempts: withSteps, event: event && isoTimes(event) })
  })

  // What a run did: its log lines (searchable) and its outbound calls, oldest first, `next` pages on.
  api.get('/runs/:id{[0-9]+}/logs', async (c) => {
    const run = await store.getRun(Number(c.req.param('id')))
    if (!run) throw new HttpError(404, 'no such run')
    const filter = runLogFilter(run.id, c.req.query())
    const lines = (await store.listRunLogs?.(filter)) ?? []
    return c.json({ lines: lines.map(({ runId: _, at, ...line }) => ({ ...line, at: new Date(at).toISOString() })), next: nextSeq(lines, filter.limit) })
  })

  api.get('/runs/:id{[0-9]+}/outbound-calls', async (c) => {
    const run = await store.getRun(Number(c.req.param('id')))
    if (!run) throw new HttpError(404, 'no such run')
    const { afterSeq, limit } = runLogFilter(run.id, { after: c.req.query('after'), limit: c.req.query('limit') })
    const calls = (await store.listOutboundCalls?.({ runId: run.id, ...(afterSeq === undefined ? {} : { afterSeq }), limit })) ?? []
    return c.json({ calls: calls.map(({ runId: _, ...call }) => isoTimes(call)), next: nextSeq(calls, limit) })
  })

  api.post('/runs/:id{[0-9]+}/replay', async (c) => {
    const original = await store.getRun(Number(c.req.param('id')))
    if (!original) throw new HttpError(404, 'no such run')
    const run = await store.replayRun(original.id).catch((error: unknown) => {
      throw isPayloadRemovedError(error) ? new HttpError(409, error.message) : error
    })
    runtime.worker.wake()
    return c.json({ run: isoTimes(run) }, 201)
  })

  /** Replays every dead run matching the filter given as query parameters (state is implied). */
  api.post('/runs/replay', async (c) => {
    const query = c.req.query()
    if (query.state !== undefined && query.state !== 'dead') {
      throw new HttpError(400, 'state: only dead runs are replayed in bulk; leave state out or give state=dead')
    }
    const { state: _, beforeId: __, limit: ___, ...filter } = runFilter(query)
    const runs = await store.replayDeadRuns(filter)
    runtime.worker.wake()
    return c.json({ replayed: runs.length, runs: runs.map(isoTimes) })
  })

  api.get('/actions', (c) =>
    c.json({
      actions: runtime.project.actions.map((a) => ({
        name: a.name,
        file: a.file,
        types: a.types,
        sources: a.sources,
        retry: a.retry,
        concurrency: a.concurrency,
        timeoutMs: a.timeoutMs,
      })),
    }),
  )

  // App Builder actions: what the manifest declares. Input names only: their values are secrets.
  api.get('/app-builder/actions', (c) => {
    const app = runtime.project.appBuilder
    if (!app) throw new HttpError(404, 'this project has no App Builder app.config.yaml')
    return c.json({
      namespace: app.namespace,
      files: app.manifest.files,
      actions: app.manifest.actions.map((a) => ({
        name: a.fullName,
        declaredIn: a.declaredIn,
        web: a.web ? `/api/v1/web/${a.fullName}` : null,
        rawHttp: a.rawHttp,
        final: a.final,
        requireAdobeAuth: a.requireAdobeAuth,
        timeoutMs: a.timeoutMs,
        inputs: Object.keys(a.inputs),
        registrations: app.manifest.registrations.filter((r) => r.action === a.fullName).map((r) => ({ name: r.name, eventCodes: r.eventCodes })),
      })),
    })
  })

  api.get('/sources', (c) =>
    c.json({ sources: [...runtime.project.sources.values()].map((s) => ({ name: s.name, kind: s.kind, ...s.status?.() })) }),
  )

  api.route('/', adminConnections(runtime))
  api.route('/', adminExpunge(runtime))
  return api
}

function runFilter(q: Record<string, string>): RunFilter {
  if (q.state !== undefined && !RUN_STATES.includes(q.state as RunState)) {
    throw new HttpError(400, `state: expected one of ${RUN_STATES.join(', ')}`)
  }
  return {
    ...(q.state ? { state: q.state as RunState } : {}),
    ...text('action', q.action),
    ...text('source', q.source),
    ...text('type', q.type),
    ...time('since', q.since),
    ...time('until', q.until),
    ...text('eventIdContains', q.q),
    ...integer('beforeId', q.before),
    ...integer('limit', q.limit),
  }
}

const text = (key: string, value: string | undefined) => (value ? { [key]: value } : {})

function integer(key: string, value: string | undefined) {
  if (value === undefined || value === '') return {}
  if (!/^\d+$/.test(value)) throw new HttpError(400, `${key}: expected a non-negative integer`)
  return { [key]: Number(value) }
}

function time(key: string, value: string | undefined) {
  if (value === undefined || value === '') return {}
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
  if (!Number.isFinite(ms)) throw new HttpError(400, `${key}: expected an ISO 8601 time or epoch milliseconds`)
  return { [key]: ms }
}

/** The `after` of the next page: the last seq when the page is full, else null. */
function nextSeq(rows: { seq: number }[], limit: number | undefined): number | null {
  return rows.length > 0 && rows.length === limit ? rows.at(-1)!.seq : null
}

function activationTimes(a: { start: number; end: number }) {
  return { ...a, start: new Date(a.start).toISOString(), end: new Date(a.end).toISOString() }
}

/** Turns the epoch-ms fields (`…At`) of a record into ISO 8601 strings. */
function isoTimes<T extends object>(record: T): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(record).map(([key, value]) => [
      key,
      key.endsWith('At') && typeof value === 'number' ? new Date(value).toISOString() : value,
    ]),
  )
}
