/**
 * @module
 * Starts storehook for a project: load it, open the store, serve HTTP, start the worker. The CLI's
 * `start` and the testkit both go through here, so tests exercise what users run.
 */
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { serve, type ServerType } from '@hono/node-server'
import type { Logger } from 'pino'
import { FlowRegistry } from '../connections/flow/index.ts'
import { createLogger } from '../runtime/logger.ts'
import { loadProject } from '../runtime/project.ts'
import { Runtime } from '../runtime/runtime.ts'
import { openStore } from '../store/open.ts'
import { createApp } from './app.ts'
import type { TokenGuesses, TokenGuessLimits } from './token-guesses.ts'

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
  /** How many wrong admin tokens an address may send, and over what window; see {@link TokenGuesses}. */
  adminTokenGuesses?: Partial<TokenGuessLimits>
  logger?: Logger
  workerId?: string
  /** Limits on how slowly and how much a client may send; see {@link DEFAULT_HTTP_LIMITS}. */
  http?: Partial<HttpLimits>
}

/** What a client may cost before it has sent a request (slowloris, oversized headers). */
export interface HttpLimits {
  /** Time to send the request line and headers; then 408 and the connection is closed. */
  headersTimeoutMs: number
  /** Time to send the whole request, body included (handler time does not count); then 408. */
  requestTimeoutMs: number
  /** Largest request line plus headers; larger gets 431. */
  maxHeaderBytes: number
  /** How often the two timeouts are checked: a slow client is cut off at most this much late. */
  timeoutCheckIntervalMs: number
}

/**
 * Node's own defaults (60 s for headers, 300 s for a request, checked every 30 s) let one slow
 * client hold a connection for minutes; every platform sends a whole request in well under a second.
 */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxHeaderBytes: 16 * 1024,
  timeoutCheckIntervalMs: 1000,
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
  // Nothing else will close what a runtime that never started holds: its threads and its store.
  const abandon = async (error: unknown): Promise<never> => {
    await Promise.all([runtime.external.close(), runtime.project.appBuilder?.close(), store.close()])
    throw error
  }
  // External handlers' threads load the project too: serve once a call need not wait for them.
  await runtime.external.ready().catch(abandon)
  runtime.metrics.watchFlow(flow)
  const app = createApp(runtime, {
    ...(options.adminToken ? { adminToken: options.adminToken } : {}),
    ...(options.adminTokenGuesses ? { adminTokenGuesses: options.adminTokenGuesses } : {}),
  })
  const host = options.host ?? '127.0.0.1'
  const limits = { ...DEFAULT_HTTP_LIMITS, ...options.http }
  const serverOptions = {
    // Node refuses a headers timeout longer than the request timeout.
    headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
    requestTimeout: limits.requestTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes,
    connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
  }
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 3000, hostname: host, serverOptions }, () => resolve(s))
    s.once('error', reject)
    s.on('clientError', (error: Error & { code?: string }, socket: Duplex) => answerClientError(error, socket, limits))
  }).catch(abandon)
  runtime.start()
  const { port } = server.address() as AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  // Actions calling back into storehook (the openwhisk client) use loopback when it listens on all interfaces.
  project.appBuilder?.setApiHost(host === '0.0.0.0' || host === '::' ? `http://127.0.0.1:${port}` : url)
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
  await runtime.retention.stop()
  await runtime.worker.stop(graceMs)
  let timer: NodeJS.Timeout | undefined
  const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))
  await Promise.race([serverClosed, graceOver])
  clearTimeout(timer)
  clearInterval(idleSweep)
  server.closeAllConnections()
  await serverClosed
  // Invocations still running (a web request cut off by the grace period) end as developer errors.
  await runtime.project.appBuilder?.close()
  // Call records are queued off the response path: written before the store they go to closes.
  await runtime.external.close()
  await runtime.store.close()
}

/**
 * Answers, as JSON like every other refusal, what Node refuses before a request reaches the app:
 * headers over the limit (431), a request not received in time (408), bytes that are not HTTP (400).
 * The reason names the limit and never echoes what was sent.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex, limits: HttpLimits): void {
  // As Node's default handler: write nothing once a response has begun on this connection.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage
  if (socket.writable && error.code !== 'ECONNRESET' && !inFlight?.headersSent) {
    const [status, reason] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, `the request line and headers exceed ${limits.maxHeaderBytes} bytes`]
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, `the request was not received in time (headers within ${limits.headersTimeoutMs} ms, all of it within ${limits.requestTimeoutMs} ms)`]
          : [400, `the request is not valid HTTP/1.1 (${error.code ?? 'parse error'})`]
    const body = JSON.stringify({ error: reason })
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}
