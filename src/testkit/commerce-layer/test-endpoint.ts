/**
 * @module
 * A small scriptable endpoint on 127.0.0.1 for testing what the simulated Commerce Layer sends:
 * it records each request (headers and raw body) and answers with whatever the current handler
 * returns: a status and JSON body, after an optional delay (longer than the caller's timeout to
 * make it hang).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReceivedRequest {
  path: string
  headers: IncomingHttpHeaders
  body: string
}

export type EndpointAnswer = { status: number; body?: unknown; delayMs?: number }

export interface TestEndpoint {
  url: string
  received: ReceivedRequest[]
  /** Decides every answer from now on; default `200 {"success":true,"data":{}}`. */
  answer: (request: ReceivedRequest) => EndpointAnswer
  close(): Promise<void>
}

/**
 * @example
 * const endpoint = await startTestEndpoint()
 * endpoint.answer = () => ({ status: 500 })
 * cl.configure('tax', { url: endpoint.url })
 */
export async function startTestEndpoint(): Promise<TestEndpoint> {
  const timers = new Set<NodeJS.Timeout>()
  const endpoint: TestEndpoint = {
    url: '',
    received: [],
    answer: () => ({ status: 200, body: { success: true, data: {} } }),
    close() {
      for (const timer of timers) clearTimeout(timer)
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const request = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      endpoint.received.push(request)
      const { status, body, delayMs } = endpoint.answer(request)
      const reply = () => {
        if (res.destroyed) return
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(body === undefined ? '' : JSON.stringify(body))
      }
      if (!delayMs) return reply()
      const timer = setTimeout(() => {
        timers.delete(timer)
        reply()
      }, delayMs)
      timers.add(timer)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return endpoint
}
