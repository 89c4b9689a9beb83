/**
 * @module
 * `POST /events/<source>`: read the raw body, let the runtime verify and store it, and only then
 * answer 200. `GET /events/<source>?…`: the source's handshake (Adobe I/O Events' challenge).
 * Each POST is an OpenTelemetry SERVER span (the ingest), continuing the sender's trace when the
 * request carries a `traceparent`; runs started by the ingest itself are its children.
 */
import { SpanKind, type Span } from '@opentelemetry/api'
import type { Context, Hono } from 'hono'
import { HttpError } from '../core/errors.ts'
import type { ReceivedEvent, Runtime } from '../runtime/runtime.ts'
import { endSpan, requestContext, startSpan, withSpan } from '../runtime/tracing.ts'
import { readRawBody } from './body.ts'

export function mountEventRoutes(app: Hono, runtime: Runtime): void {
  app.get('/events/:source', (c) => {
    const source = runtime.project.sources.get(c.req.param('source'))
    if (!source) throw new HttpError(404, `no source named "${c.req.param('source')}" is configured`)
    const answer = source.handshake?.(new URL(c.req.url), c.req.raw.headers)
    if (!answer) throw new HttpError(400, `source "${source.name}" (${source.kind}) expects no GET request with these parameters`)
    return c.body(answer.body, 200, { 'content-type': answer.contentType })
  })

  app.post('/events/:source', async (c) => {
    const sourceName = c.req.param('source')
    const parent = requestContext(c.req.raw.headers)
    // Named by the source when it is configured; an unknown name must not make a span name per request.
    const span = startSpan(runtime.project.sources.has(sourceName) ? `POST /events/${sourceName}` : 'POST /events/:source', {
      kind: SpanKind.SERVER,
      parent,
      attributes: () => ({ 'http.request.method': 'POST', 'http.route': '/events/:source', 'url.path': c.req.path, 'storehook.source': sourceName }),
    })
    try {
      const events = await withSpan(span, () => ingest(c, sourceName), parent)
      describeIngest(span, events)
      endSpan(span)
      return c.json({ received: events.length, events })
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500
      span.setAttribute('http.response.status_code', status)
      // A server span fails on a 5xx only: a 4xx is the sender's mistake, answered as it should be.
      endSpan(span, status >= 500 ? error : undefined)
      throw error
    }
  })

  async function ingest(c: Context, sourceName: string): Promise<ReceivedEvent[]> {
    const body = await readRawBody(c, runtime.project.settings.server.bodyLimitBytes).catch((error: unknown) => {
      if (error instanceof HttpError && error.status === 413 && runtime.project.sources.has(sourceName)) {
        runtime.metrics.eventsRejected.inc({ source: sourceName, reason: 'too_large' })
      }
      throw error
    })
    return runtime.receive(sourceName, { method: c.req.method, url: new URL(c.req.url), headers: c.req.raw.headers, body })
  }
}

/** The events of one ingest on its span: as attributes when there is one (the usual case), as span events otherwise. */
function describeIngest(span: Span, events: ReceivedEvent[]): void {
  if (!span.isRecording()) return
  span.setAttributes({ 'http.response.status_code': 200, 'storehook.events': events.length })
  const attributes = (e: ReceivedEvent) => ({ 'storehook.event.id': e.id, 'storehook.event.type': e.type, 'storehook.event.duplicate': e.duplicate })
  if (events.length === 1) span.setAttributes(attributes(events[0]!))
  else for (const event of events) span.addEvent('storehook.event', attributes(event))
}
