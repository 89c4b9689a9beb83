/**
 * @module
 * The HTTP app: sources, external resources, App Builder actions, admin API, metrics, health. Errors become JSON
 * `{ "error": "…" }` with the status an {@link HttpError} carries; anything else is a 500 whose
 * detail goes to the log only, never to the caller.
 */
import { Hono } from 'hono'
import { HttpError } from '../core/errors.ts'
import { mountDashboard } from '../dashboard/index.ts'
import type { Runtime } from '../runtime/runtime.ts'
import { adminApi } from './admin-api.ts'
import { adminAuth } from './admin-auth.ts'
import { TokenGuesses, type TokenGuessLimits } from './token-guesses.ts'
import { mountAppBuilderRoutes } from './app-builder.ts'
import { mountEventRoutes } from './events.ts'
import { mountExternalRoutes } from './external.ts'

/** How long `/healthz` waits for the database before answering 503 (below a load balancer's usual 5 s). */
export const HEALTH_TIMEOUT_MS = 2000

export interface AppOptions {
  /** `STOREHOOK_ADMIN_TOKEN`; without it the admin surface answers only on loopback. */
  adminToken?: string
  /** How many wrong admin tokens an address may send, and over what window (default 20 per 10 minutes). */
  adminTokenGuesses?: Partial<TokenGuessLimits>
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

  // 200 `{status:'ok', store}` when the database answers within HEALTH_TIMEOUT_MS, else 503 with a
  // reason. Unauthenticated, so the reason is generic; the error itself goes to the log.
  app.get('/healthz', async (c) => {
    const { store } = runtime
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), HEALTH_TIMEOUT_MS)))
    try {
      // A server that stops answering (a network partition) must not hang the probe that should notice it.
      if ((await Promise.race([store.ping(), timedOut])) === 'timeout') {
        runtime.logger.error({ store: store.kind, timeoutMs: HEALTH_TIMEOUT_MS }, 'health check: the database did not answer in time')
        return c.json({ status: 'unavailable', store: store.kind, reason: `the database did not answer within ${HEALTH_TIMEOUT_MS} ms` }, 503)
      }
      return c.json({ status: 'ok', store: store.kind })
    } catch (error) {
      runtime.logger.error({ err: error, store: store.kind }, 'health check: the database cannot be reached')
      return c.json({ status: 'unavailable', store: store.kind, reason: 'the database cannot be reached' }, 503)
    } finally {
      clearTimeout(timer)
    }
  })

  app.get('/metrics', async (c) => {
    c.header('content-type', runtime.metrics.registry.contentType)
    return c.body(await runtime.metrics.registry.metrics())
  })

  mountEventRoutes(app, runtime)
  // The dashboard guards its pages with its own session login; it answers before the bearer guard.
  // One count of wrong admin tokens for the login form and the bearer guard alike.
  const tokenGuesses = new TokenGuesses(options.adminTokenGuesses)
  mountDashboard(app, runtime, { tokenGuesses, ...(options.adminToken ? { adminToken: options.adminToken } : {}) })
  app.use('/admin/*', adminAuth(options.adminToken, tokenGuesses))
  mountExternalRoutes(app, runtime)
  if (runtime.project.appBuilder) {
    mountAppBuilderRoutes(app, runtime.project.appBuilder, { bodyLimitBytes: runtime.project.settings.server.bodyLimitBytes })
  }
  app.route('/admin/api', adminApi(runtime))
  return app
}
