/**
 * @module
 * `POST /events/<source>`: read the raw body, let the runtime verify and store it, and only then
 * answer 200. `GET /events/<source>?…`: the source's handshake (Adobe I/O Events' challenge).
 */
import type { Hono } from 'hono'
import { HttpError } from '../core/errors.ts'
import type { Runtime } from '../runtime/runtime.ts'
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
    const body = await readRawBody(c, runtime.project.settings.server.bodyLimitBytes).catch((error: unknown) => {
      if (error instanceof HttpError && error.status === 413 && runtime.project.sources.has(sourceName)) {
        runtime.metrics.eventsRejected.inc({ source: sourceName, reason: 'too_large' })
      }
      throw error
    })
    const events = await runtime.receive(sourceName, {
      method: c.req.method,
      url: new URL(c.req.url),
      headers: c.req.raw.headers,
      body,
    })
    return c.json({ received: events.length, events })
  })
}
