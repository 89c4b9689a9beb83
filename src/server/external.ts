/**
 * @module
 * `POST /external/<name>`: a platform's synchronous call to an external resource. The raw body is
 * read under the body limit, the signature is checked before any user code (401, nothing run),
 * then the runtime answers within the resource's deadline. Every answer is the platform's
 * envelope — refusals included (401, 400, 404, 413 as `{"success": false, "error": {…}}`) — so
 * the caller never sees a body it cannot read.
 *
 * Also the admin side: `GET /admin/api/external` (each resource, its options, where its handler
 * runs and its breaker mirror; the handler threads and their used heap),
 * `GET /admin/api/external/calls` (recorded calls) and
 * `POST /admin/api/external/reset-breaker?resource=<name>` (after `_reset_circuit` on the platform).
 */
import { performance } from 'node:perf_hooks'
import type { Context, Hono } from 'hono'
import { HttpError } from '../core/errors.ts'
import type { Runtime } from '../runtime/runtime.ts'
import type { ExternalCallFilter, ExternalCallOutcome, ExternalFallback } from '../store/store.ts'
import { readRawBody } from './body.ts'

const REFUSAL_CODES: Record<number, string> = {
  400: 'MALFORMED_REQUEST',
  401: 'INVALID_SIGNATURE',
  404: 'UNKNOWN_RESOURCE',
  413: 'PAYLOAD_TOO_LARGE',
}
const OUTCOMES: ExternalCallOutcome[] = ['answered', 'refused', 'timeout', 'error', 'invalid']
const FALLBACKS: ExternalFallback[] = ['none', 'last-good', 'static', 'error']

/**
 * Mounts `POST /external/<name>` and the external admin routes. Mount after the admin guard.
 *
 * @example
 * app.use('/admin/*', adminAuth(token))
 * mountExternalRoutes(app, runtime)
 */
export function mountExternalRoutes(app: Hono, runtime: Runtime): void {
  const external = runtime.external

  app.post('/external/:name{.+}', async (c) => {
    const arrivedAt = performance.now()
    const name = c.req.param('name')
    try {
      if (!external.has(name)) {
        external.reject(name, 'unknown_resource')
        throw new HttpError(404, `no external resource named "${name}" (its file would be external/${name}.ts)`)
      }
      const body = await readRawBody(c, runtime.project.settings.server.bodyLimitBytes).catch((error: unknown) => {
        if (error instanceof HttpError && error.status === 413) external.reject(name, 'too_large')
        throw error
      })
      const answer = await external.answer(name, { method: 'POST', url: new URL(c.req.url), headers: c.req.raw.headers, body }, arrivedAt)
      return c.body(answer.body, answer.status as 200, { 'content-type': 'application/json; charset=utf-8' })
    } catch (error) {
      if (!(error instanceof HttpError)) throw error
      return refusal(c, runtime, name, error)
    }
  })

  app.get('/admin/api/external', async (c) => c.json({ resources: external.status(), recording: external.recording, handlerThreads: await external.threads() }))

  app.get('/admin/api/external/calls', async (c) => {
    if (!runtime.store.listExternalCalls) {
      throw new HttpError(501, `the ${runtime.store.kind} store does not record external resource calls yet`)
    }
    const calls = await runtime.store.listExternalCalls(callFilter(c.req.query()))
    return c.json({ calls: calls.map((call) => ({ ...call, startedAt: new Date(call.startedAt).toISOString() })) })
  })

  app.post('/admin/api/external/reset-breaker', (c) => {
    const name = c.req.query('resource')
    if (!name) throw new HttpError(400, 'resource: expected the name of an external resource')
    if (!external.resetBreaker(name)) throw new HttpError(404, `no external resource named "${name}"`)
    return c.json({ resource: name, breaker: external.status().find((r) => r.name === name)?.breaker })
  })
}

/** A refusal as the platform's envelope, formatted by the resource's kind when it is known. */
function refusal(c: Context, runtime: Runtime, name: string, error: HttpError) {
  if (error.status === 413) c.header('connection', 'close')
  const refusal = { status: error.status, code: REFUSAL_CODES[error.status] ?? 'REFUSED', message: error.message }
  const kind = runtime.external.list().find((r) => r.name === name)?.kind
  const reply = kind ? kind.refusal(refusal, undefined) : { status: refusal.status, body: { success: false, error: { code: refusal.code, message: refusal.message } } }
  return c.json(reply.body as object, reply.status as 400)
}

function callFilter(q: Record<string, string>): ExternalCallFilter {
  const filter: ExternalCallFilter = {}
  if (q.resource) filter.resource = q.resource
  if (q.digest) filter.inputDigest = q.digest
  if (q.outcome) {
    if (!OUTCOMES.includes(q.outcome as ExternalCallOutcome)) throw new HttpError(400, `outcome: expected one of ${OUTCOMES.join(', ')}`)
    filter.outcome = q.outcome as ExternalCallOutcome
  }
  if (q.fallback) {
    if (!FALLBACKS.includes(q.fallback as ExternalFallback)) throw new HttpError(400, `fallback: expected one of ${FALLBACKS.join(', ')}`)
    filter.fallback = q.fallback as ExternalFallback
  }
  for (const [key, field] of [['since', 'since'], ['until', 'until']] as const) {
    const value = q[key]
    if (!value) continue
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
    if (!Number.isFinite(ms)) throw new HttpError(400, `${key}: expected an ISO 8601 time or epoch milliseconds`)
    filter[field] = ms
  }
  for (const [key, field] of [['before', 'beforeId'], ['limit', 'limit']] as const) {
    const value = q[key]
    if (!value) continue
    if (!/^\d+$/.test(value)) throw new HttpError(400, `${key}: expected a non-negative integer`)
    filter[field] = Number(value)
  }
  return filter
}
