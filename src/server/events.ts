/**
 * @module
 * `POST /events/<source>`: read the raw body, let the runtime verify and store it, and only then
 * answer 200.
 */
import type { Hono } from 'hono'
import type { Runtime } from '../runtime/runtime.ts'
import { readRawBody } from './body.ts'

export function mountEventRoutes(app: Hono, runtime: Runtime): void {
  app.post('/events/:source', async (c) => {
    const body = await readRawBody(c, runtime.project.settings.server.bodyLimitBytes)
    const events = await runtime.receive(c.req.param('source'), {
      method: c.req.method,
      url: new URL(c.req.url),
      headers: c.req.raw.headers,
      body,
    })
    return c.json({ received: events.length, events })
  })
}
