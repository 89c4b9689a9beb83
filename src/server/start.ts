/**
 * @module
 * Starts storehook for a project: load it, open the store, serve HTTP, start the worker. The CLI's
 * `start` and the testkit both go through here, so tests exercise what users run.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import type { Logger } from 'pino'
import { FlowRegistry } from '../connections/flow/index.ts'
import { createLogger } from '../runtime/logger.ts'
import { loadProject } from '../runtime/project.ts'
import { Runtime } from '../runtime/runtime.ts'
import { openStore } from '../store/open.ts'
import { createApp } from './app.ts'

export interface StartOptions {
  /** Project directory (default: the current directory). */
  project?: string
  /** `sqlite:PATH` or `postgres://…`; default `sqlite:<project>/.storehook/storehook.db`. */
  db?: string
  /** Port to listen on; 0 picks a free one (default 3000). */
  port?: number
  /** Interface to listen on (default 127.0.0.1; use 0.0.0.0 to accept outside connections). */
  host?: string
  adminToken?: string
  logger?: Logger
  workerId?: string
}

export interface RunningStorehook {
  url: string
  runtime: Runtime
  /** Stops accepting requests, finishes or releases in-flight runs, closes the store. */
  close(): Promise<void>
}

/**
 * @example
 * const storehook = await startStorehook({ project: 'examples/quickstart', port: 0 })
 * console.log(storehook.url)
 * await storehook.close()
 */
export async function startStorehook(options: StartOptions = {}): Promise<RunningStorehook> {
  const logger = options.logger ?? createLogger()
  // Connections are created with the project, before the store that may share their slots opens.
  const flow = new FlowRegistry()
  const project = await loadProject(options.project ?? '.', {
    onCall: (call) => logger.debug({ call }, 'outbound call'),
    flow,
  })
  const store = await openStore(options.db, { projectDir: project.dir, synchronous: project.settings.store.synchronous })
  flow.useBackend(store.slots)
  flow.onChange((connection, state) => logger[state === 'closed' ? 'info' : 'warn']({ connection, breaker: state }, `connection breaker ${state}`))
  const runtime = new Runtime({ project, store, logger, flow, ...(options.workerId ? { workerId: options.workerId } : {}) })
  runtime.metrics.watchFlow(flow)
  const app = createApp(runtime, options.adminToken ? { adminToken: options.adminToken } : {})
  const host = options.host ?? '127.0.0.1'
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 3000, hostname: host }, () => resolve(s))
    s.once('error', reject)
  }).catch(async (error: unknown) => {
    // Nothing else will close the store of a runtime that never started.
    await store.close()
    throw error
  })
  runtime.start()
  const { port } = server.address() as AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  let closing: Promise<void> | undefined
  return {
    url,
    runtime,
    close() {
      closing ??= shutDown(server as Server, runtime)
      return closing
    },
  }
}

/**
 * Stops in an order that loses nothing and waits on no client: stop listening, tell every
 * keep-alive client to go (Node's `server.close()` alone keeps serving busy keep-alive
 * connections for as long as their clients keep sending), stop the worker meanwhile, and close
 * the store only once no request that may still be writing to it is open.
 */
async function shutDown(server: Server, runtime: Runtime): Promise<void> {
  const graceMs = runtime.project.settings.worker.shutdownGraceMs
  // Requests still arriving on open connections are served, then their connection is closed.
  server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    response.shouldKeepAlive = false
  })
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  const idleSweep = setInterval(() => server.closeIdleConnections(), 50)
  // No new cron ticks; a tick being stored finishes first, so its run is started or left pending.
  await runtime.cron.stop()
  runtime.pausedRuns?.stop()
  await runtime.worker.stop(graceMs)
  let timer: NodeJS.Timeout | undefined
  const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))
  await Promise.race([serverClosed, graceOver])
  clearTimeout(timer)
  clearInterval(idleSweep)
  server.closeAllConnections()
  await serverClosed
  // Call records are queued off the response path: written before the store they go to closes.
  await runtime.external.close()
  await runtime.store.close()
}
