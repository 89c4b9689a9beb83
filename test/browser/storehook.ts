/**
 * Starts storehook with its dashboard for the dashboard's tests and the screenshot script: the
 * same parts `storehook start` assembles (project, SQLite store in a temp file, runtime, the HTTP
 * app on 127.0.0.1; `createApp` mounts the dashboard). Also signs in over HTTP, as a browser would, for the tests that do not
 * drive one.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import type { Hono } from 'hono'
import type { Logger } from 'pino'
import { FlowRegistry } from '../../src/connections/flow/index.ts'
import type { DashboardOptions } from '../../src/dashboard/index.ts'
import { createLogger } from '../../src/runtime/logger.ts'
import { loadProject } from '../../src/runtime/project.ts'
import { Runtime } from '../../src/runtime/runtime.ts'
import { createApp } from '../../src/server/app.ts'
import { openStore } from '../../src/store/open.ts'

/** How long `close()` lets open requests finish before cutting them off. */
export const CLOSE_GRACE_MS = 5000

export interface DashboardServer {
  url: string
  /** The SQLite file of the store. */
  dbFile: string
  runtime: Runtime
  app: Hono
  close(): Promise<void>
}

/**
 * @example
 * const storehook = await startWithDashboard({ project, adminToken: 'secret-token' })
 * const session = await login(storehook.url, 'secret-token')
 */
export async function startWithDashboard(options: DashboardOptions & { project: string; logger?: Logger }): Promise<DashboardServer> {
  const logger = options.logger ?? createLogger({ level: 'warn' })
  const flow = new FlowRegistry()
  const project = await loadProject(options.project, { flow })
  const dbDir = mkdtempSync(join(tmpdir(), 'storehook-dashboard-db-'))
  const dbFile = join(dbDir, 'storehook.db')
  const store = await openStore(`sqlite:${dbFile}`, { projectDir: project.dir, synchronous: 'normal' })
  flow.useBackend(store.slots)
  const runtime = new Runtime({ project, store, logger, flow })
  const app = createApp(runtime, options.adminToken ? { adminToken: options.adminToken } : {})
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server))
  })
  runtime.start()
  // Node's closeIdleConnections() leaves some keep-alive sockets of fetch clients open; these are
  // closed by hand once the server stops listening (a socket between requests has no _httpMessage).
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  const closeIdle = () => {
    for (const socket of sockets) if (!(socket as Socket & { _httpMessage?: unknown })._httpMessage) socket.destroy()
  }
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    dbFile,
    runtime,
    app,
    close() {
      closing ??= shutDown()
      return closing
    },
  }

  async function shutDown(): Promise<void> {
    // As start.ts does: stop listening, let open requests end by themselves (a live tail does),
    // and cut off only what is still open after a grace period.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    closeIdle()
    const idle = setInterval(closeIdle, 50)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))])
    clearTimeout(timer)
    clearInterval(idle)
    server.closeAllConnections()
    await closed
    await runtime.worker.stop(1000)
    await runtime.retention.stop()
    await runtime.external.close()
    await runtime.store.close()
    rmSync(dbDir, { recursive: true, force: true })
  }
}

export interface Session {
  /** The `Cookie` header value to send. */
  cookie: string
  /** The raw `Set-Cookie` the login answered. */
  setCookie: string
  csrf: string
}

/** Logs in with the admin token as the login form does; returns the cookie and the CSRF token. */
export async function login(url: string, token: string | undefined): Promise<Session> {
  const response = await fetch(`${url}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(token === undefined ? {} : { token }),
  })
  assert.equal(response.status, 303, `login answered ${response.status}: ${await response.text()}`)
  const setCookie = response.headers.get('set-cookie') ?? ''
  const cookie = setCookie.split(';')[0]!
  const page = await (await fetch(`${url}/admin`, { headers: { cookie } })).text()
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1]
  assert.ok(csrf, 'the overview carries a CSRF token')
  return { cookie, setCookie, csrf }
}
