/**
 * @module
 * `GET /admin/api/connections`: each connection's flow control as this process sees it: its rate
 * budget (configured and effective, and how long a 429 paused it), its concurrency cap, calls
 * waiting for a slot and in flight, 429s seen, and its breaker (docs/flow-control.md). Mounted
 * under the admin API, behind its guard.
 */
import { Hono } from 'hono'
import { connectionFlowStatus } from '../connections/flow/index.ts'
import type { Runtime } from '../runtime/runtime.ts'

/**
 * @example
 * api.route('/', adminConnections(runtime))
 * // GET /admin/api/connections → { connections: [{ connection: 'erp', kind: 'http', slots: 'postgres',
 * //   rateLimit: { requests: 10, perMs: 1000, effective: 5, pausedForMs: 0 }, maxConcurrency: 4,
 * //   waiting: 12, inFlight: 4, throttled: 1, breaker: { state: 'closed', … } }] }
 */
export function adminConnections(runtime: Runtime): Hono {
  const api = new Hono()
  api.get('/connections', (c) => c.json({ connections: connectionFlowStatus(runtime.project.connections) }))
  return api
}
