/**
 * @module
 * A stand-in for the third-party system an action forwards to (an ERP): a real HTTP server on
 * 127.0.0.1 that records every request and answers as scripted, so tests can assert what was
 * delivered, how often, and under which `Idempotency-Key`.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ErpDelivery {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: string
  idempotencyKey: string | undefined
  /** The status the simulator answered. */
  status: number
  at: number
}

export interface ErpSimulator {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string
  /** Every request received, in order, including those answered with an error. */
  deliveries: ErpDelivery[]
  /** Deliveries answered 2xx. */
  accepted(): ErpDelivery[]
  /** Accepted deliveries whose Idempotency-Key was already accepted before: what an ERP without dedupe would double. */
  duplicates(): ErpDelivery[]
  /** The next answers, in order (a status, or a status with headers); after them, 200. */
  respondWith(...answers: (number | { status: number; headers?: Record<string, string> })[]): void
  /** While down, every request gets 503. */
  setDown(down: boolean): void
  /** Down (503) from now for `ms`, then up again by itself. */
  downFor(ms: number): void
  /** The next `count` requests get `status` (default 503); then 200. */
  failFirst(count: number, status?: number): void
  /** Resolves once `count` deliveries have been accepted. */
  waitForAccepted(count: number, timeoutMs?: number): Promise<ErpDelivery[]>
  close(): Promise<void>
}

/**
 * @example
 * const erp = await startErpSimulator()
 * process.env.FORWARD_URL = `${erp.url}/orders`
 * // … send events …
 * await erp.waitForAccepted(1)
 * await erp.close()
 */
export async function startErpSimulator(
  options: {
    port?: number
    /** Called with every request once it is answered (the CLI prints them). */
    onDelivery?: (delivery: ErpDelivery) => void
  } = {},
): Promise<ErpSimulator> {
  const deliveries: ErpDelivery[] = []
  const script: { status: number; headers?: Record<string, string> }[] = []
  let down = false
  const waiters = new Set<() => void>()

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const answer = down ? { status: 503 } : (script.shift() ?? { status: 200 })
      const key = req.headers['idempotency-key']
      const delivery: ErpDelivery = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        idempotencyKey: Array.isArray(key) ? key[0] : key,
        status: answer.status,
        at: Date.now(),
      }
      deliveries.push(delivery)
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
      res.end(JSON.stringify(answer.status < 300 ? { ok: true } : { error: `simulated ${answer.status}` }))
      for (const wake of waiters) wake()
      options.onDelivery?.(delivery)
    })
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const accepted = () => deliveries.filter((d) => d.status >= 200 && d.status < 300)

  return {
    url,
    deliveries,
    accepted,
    duplicates() {
      const seen = new Set<string | undefined>()
      return accepted().filter((d) => (seen.has(d.idempotencyKey) ? true : (seen.add(d.idempotencyKey), false)))
    },
    respondWith(...answers) {
      script.push(...answers.map((a) => (typeof a === 'number' ? { status: a } : a)))
    },
    downFor(ms) {
      down = true
      const timer = setTimeout(() => (down = false), ms)
      timer.unref()
    },
    failFirst(count, status = 503) {
      script.push(...Array.from({ length: count }, () => ({ status })))
    },
    setDown(value) {
      down = value
    },
    waitForAccepted(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (accepted().length < count) return
          cleanup()
          resolve(accepted())
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`ERP simulator: expected ${count} accepted deliveries, got ${accepted().length} within ${timeoutMs} ms`))
        }, timeoutMs)
        const cleanup = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      })
    },
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
