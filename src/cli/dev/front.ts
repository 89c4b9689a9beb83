/**
 * @module
 * The address `storehook dev` listens on, stable across reloads. Each version of the project runs
 * in its own process on a free loopback port; this front door passes every TCP connection, byte
 * for byte, to the version serving now. A reload points new connections at the new version while
 * the old one finishes the requests and runs it has: nobody sees a refused connection, and the
 * bytes a signature covers are never touched (no HTTP parsing here).
 *
 * Connections that arrive before the first version is up wait for it. While no version can serve
 * (the project does not load), each connection gets a 503 saying so, as JSON like every refusal.
 *
 * One consequence, checked by the command: behind the front every client connects from loopback,
 * so the admin API's loopback-only rule cannot tell them apart.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

export interface Front {
  /** e.g. `http://127.0.0.1:3000` */
  url: string
  /** Sends new connections to this loopback port. */
  routeTo(port: number): void
  /** Answers new connections with a 503 carrying `reason`. */
  refuse(reason: string): void
  /** Stops listening and ends every connection still open. */
  close(): Promise<void>
}

type Route = { kind: 'waiting' } | { kind: 'port'; port: number } | { kind: 'refuse'; reason: string }

/**
 * Listens on `host:port`; connections wait until {@link Front.routeTo} or {@link Front.refuse}.
 *
 * @example
 * const front = await startFront('127.0.0.1', 3000)
 * front.routeTo(41234) // where `storehook start --port 0` listens
 */
export async function startFront(host: string, port: number): Promise<Front> {
  let route: Route = { kind: 'waiting' }
  const waiting: Socket[] = []
  const open = new Set<Socket>()

  const dispatch = (client: Socket) => {
    if (route.kind === 'waiting') return void waiting.push(client)
    if (route.kind === 'refuse') {
      const body = JSON.stringify({ error: route.reason })
      client.on('error', () => {})
      client.end(
        `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      )
      return
    }
    const upstream = createConnection({ port: route.port, host: '127.0.0.1' })
    open.add(upstream)
    upstream.once('close', () => open.delete(upstream))
    // Either side failing takes the other down: a half-broken pair would hang its client.
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
    client.pipe(upstream).pipe(client)
    client.resume()
  }

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    open.add(client)
    client.once('close', () => open.delete(client))
    dispatch(client)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port: bound } = server.address() as AddressInfo
  const flushWaiting = () => {
    for (const client of waiting.splice(0)) if (!client.destroyed) dispatch(client)
  }
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    routeTo(next) {
      route = { kind: 'port', port: next }
      flushWaiting()
    },
    refuse(reason) {
      route = { kind: 'refuse', reason }
      flushWaiting()
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of [...open, ...waiting]) socket.destroy()
      await closed
    },
  }
}
