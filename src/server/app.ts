/**
 * @module
 * The HTTP app: sources, admin API, metrics, health. Errors become JSON `{ "error": "…" }` with
 * the status an {@link HttpError} carries; anything else is a 500 whose detail goes to the log
 * only, never to the caller.
 */
import { Hono } from 'hono'
import { HttpError } from '../core/errors.ts'
import type { Runtime } from '../runtime/runtime.ts'
import { adminApi } from './admin-api.ts'
import { adminAuth } from './admin-auth.ts'
import { mountEventRoutes } from './events.ts'

export interface AppOptions {
  /** `STOREHOOK_ADMIN_TOKEN`; without it the admin surface answers only on loopback. */
  adminToken?: string
}

/**
 * @example
 * const app = createApp(runtime, { adminToken: process.env.STOREHOOK_ADMIN_TOKEN })
 * serve({ fetch: app.fetch, port: 3000 })
 */
export function createApp(runtime: Runtime, options: AppOptions = {}): Hono {
  const app = new Hono()

  app.onError((error, c) => {
    if (error instanceof HttpError) {
      // The rest of an oversized body is still on its way: close rather than read it all.
      if (error.status === 413) c.header('connection', 'close')
      return c.json({ error: error.message }, error.status as 400)
    }
    runtime.logger.error({ err: error, path: c.req.path }, 'unhandled error answering a request')
    return c.json({ error: 'internal error' }, 500)
  })
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404))

  app.get('/healthz', async (c) => {
    try {
      await runtime.store.countRunsByState()
      return c.json({ status: 'ok', store: runtime.store.kind })
    } catch (error) {
      runtime.logger.error({ err: error }, 'health check: the store does not answer')
      return c.json({ status: 'unavailable', store: runtime.store.kind }, 503)
    }
  })

  app.get('/metrics', async (c) => {
    c.header('content-type', runtime.metrics.registry.contentType)
    return c.body(await runtime.metrics.registry.metrics())
  })

  mountEventRoutes(app, runtime)
  app.use('/admin/*', adminAuth(options.adminToken))
  app.route('/admin/api', adminApi(runtime))
  return app
}
