/**
 * @module
 * The load generator for `bench/ingest.ts`, run as its own process so it does not share an event
 * loop with the server it measures. It POSTs Standard-Webhooks-signed JSON bodies (about 1 KB,
 * each with its own `webhook-id`), all signed before the clock starts, over keep-alive
 * connections. On stdout it prints JSON lines: `{"mark":"window-start"}` and `{"mark":"window-end"}`
 * around the measured window, then `{"result":{…}}`.
 *
 * Hand-written on `node:http` rather than autocannon or similar: the project adds no dependency
 * for a bench, and we need two things those tools make awkward: a distinct pre-signed
 * `webhook-id` per request (the server deduplicates on it, so a replayed body would measure the
 * cheaper duplicate path), and the ids that were acknowledged with 200, to check afterwards that
 * every one of them is in the store.
 *
 * Modes:
 * - closed loop (`--rate 0`, saturation): `--connections` loops, each sending its next request
 *   as soon as the previous answer arrives. Throughput = 2xx answers completed in the window.
 * - open loop (`--rate R`): requests are scheduled at fixed intervals of 1/R s whether or not
 *   earlier ones have been answered (up to `--connections` sockets; beyond that they queue in the
 *   agent, and the queueing counts). Latency is reported from the scheduled send time (no
 *   coordinated omission) and from the actual send.
 *
 * Usage: node bench/load.ts --url http://127.0.0.1:3000/events/bench --secret whsec_… \
 *          [--duration 8] [--warmup 1] [--connections 32] [--rate 0] [--id-prefix run1] [--acked-out FILE]
 */
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { signStandardWebhook } from '../src/sources/standard-webhooks/index.ts'
import { parseFlags, summarize } from './lib.ts'

const flags = parseFlags(process.argv.slice(2), {
  url: '',
  secret: '',
  duration: 8,
  warmup: 1,
  connections: 32,
  rate: 0,
  'id-prefix': '',
  'acked-out': '',
  /** Requests signed in advance; 0 = enough for the run at the rate given, or at 15k req/s closed-loop. */
  pool: 0,
  'body-bytes': 1024,
})
if (!flags.url || !flags.secret) throw new Error('--url and --secret are required')
const url = new URL(flags.url)
const connections = Math.max(1, Math.floor(flags.connections))
const warmupMs = flags.warmup * 1000
const durationMs = flags.duration * 1000
const rate = flags.rate
const prefix = flags['id-prefix'] || `msg_${randomUUID().slice(0, 8)}`

// ---- Requests, signed before the clock starts ------------------------------------------------

interface Prepared {
  id: string
  body: Buffer
  signature: string
}
const timestamp = Math.floor(Date.now() / 1000)
const key = Buffer.from(flags.secret.slice('whsec_'.length), 'base64')
// An order-shaped payload padded to about --body-bytes; `n` makes every body distinct.
const filler = 'x'.repeat(Math.max(0, flags['body-bytes'] - 330))
function prepare(n: number): Prepared {
  const id = `${prefix}_${n}`
  const body = Buffer.from(
    JSON.stringify({
      type: 'order.created',
      timestamp: new Date(timestamp * 1000).toISOString(),
      data: {
        order_id: `1000${n}`,
        customer: { id: n % 997, email: `customer${n % 997}@example.com` },
        items: [
          { sku: 'SKU-RED-42', qty: 2, price_cents: 1999 },
          { sku: 'SKU-BLUE-7', qty: 1, price_cents: 4550 },
        ],
        total_cents: 8548,
        currency: 'EUR',
        note: filler,
      },
    }),
  )
  return { id, body, signature: signStandardWebhook(key, id, timestamp, body) }
}

const seconds = flags.warmup + flags.duration + 1
const poolSize = flags.pool || Math.ceil(seconds * (rate > 0 ? rate * 1.02 : 15_000))
const pool: Prepared[] = new Array(poolSize)
for (let i = 0; i < poolSize; i++) pool[i] = prepare(i)
let next = 0
let signedOnTheFly = 0
function take(): Prepared {
  const n = next++
  if (n < poolSize) return pool[n]!
  signedOnTheFly += 1
  return prepare(n)
}

// ---- Sending --------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections })
const statuses: Record<string, number> = {}
const errors: Record<string, number> = {}
const acked: string[] = []
const latencies: number[] = [] // from actual send, completed inside the window
const scheduledLatencies: number[] = [] // from scheduled send (open loop), completed inside the window
const sendLags: number[] = [] // actual send − scheduled send (open loop), inside the window
let okInWindow = 0
let completedInWindow = 0
let sent = 0
let windowStart = 0
let windowEnd = 0

/** Sends one request; resolves when its answer has been read (or it failed). Never rejects. */
function send(scheduledAt: number): Promise<void> {
  const item = take()
  sent += 1
  const sentAt = performance.now()
  return new Promise((resolve) => {
    const done = (status: string) => {
      const end = performance.now()
      statuses[status] = (statuses[status] ?? 0) + 1
      if (status === '200') acked.push(item.id)
      if (end >= windowStart && end < windowEnd) {
        completedInWindow += 1
        if (status.startsWith('2')) okInWindow += 1
        latencies.push(end - sentAt)
        if (rate > 0) {
          scheduledLatencies.push(end - scheduledAt)
          sendLags.push(sentAt - scheduledAt)
        }
      }
      resolve()
    }
    const req = request(
      {
        agent,
        method: 'POST',
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: {
          'content-type': 'application/json',
          'content-length': item.body.length,
          'webhook-id': item.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': item.signature,
        },
      },
      (res) => {
        res.resume()
        res.once('end', () => done(String(res.statusCode)))
        res.once('error', (error) => {
          errors[error.message] = (errors[error.message] ?? 0) + 1
          done('error')
        })
      },
    )
    req.once('error', (error) => {
      errors[error.message] = (errors[error.message] ?? 0) + 1
      done('error')
    })
    req.end(item.body)
  })
}

// Progress marks on stdout let the parent read the server's CPU time over the measured window.
const mark = (name: string) => process.stdout.write(`${JSON.stringify({ mark: name })}\n`)
let cpuAtStart = process.cpuUsage()
let cpuInWindow = { user: 0, system: 0 }
const t0 = performance.now()
windowStart = t0 + warmupMs
windowEnd = windowStart + durationMs
setTimeout(() => {
  cpuAtStart = process.cpuUsage()
  mark('window-start')
}, warmupMs)
const windowClosed = new Promise<void>((resolve) =>
  setTimeout(() => {
    cpuInWindow = process.cpuUsage(cpuAtStart)
    mark('window-end')
    resolve()
  }, warmupMs + durationMs),
)
const inFlight = new Set<Promise<void>>()

if (rate === 0) {
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < windowEnd) await send(performance.now())
    }),
  )
} else {
  const interval = 1000 / rate
  let i = 0
  await new Promise<void>((resolve) => {
    const pump = () => {
      const now = performance.now()
      for (let at = t0 + i * interval; at <= now && at < windowEnd; at = t0 + ++i * interval) {
        const p = send(at)
        inFlight.add(p)
        void p.then(() => inFlight.delete(p))
      }
      const due = t0 + i * interval
      if (due >= windowEnd) return resolve()
      setTimeout(pump, Math.max(0, due - performance.now()))
    }
    pump()
  })
  await Promise.all(inFlight)
}
await windowClosed
agent.destroy()

if (flags['acked-out']) writeFileSync(flags['acked-out'], acked.join('\n'))

const result = {
  mode: rate > 0 ? 'open-loop' : 'closed-loop',
  targetRate: rate,
  connections,
  warmupS: flags.warmup,
  durationS: flags.duration,
  bodyBytes: pool[0]?.body.length ?? 0,
  sent,
  acked: acked.length,
  completedInWindow,
  okInWindow,
  /** 2xx answers per second inside the measured window. */
  rps: okInWindow / flags.duration,
  statuses,
  errors,
  latencyMs: summarize(latencies),
  scheduledLatencyMs: rate > 0 ? summarize(scheduledLatencies) : null,
  sendLagMs: rate > 0 ? summarize(sendLags) : null,
  /** CPU seconds the generator used inside the measured window. */
  generatorCpuS: (cpuInWindow.user + cpuInWindow.system) / 1e6,
  poolSize,
  signedOnTheFly,
}
process.stdout.write(`${JSON.stringify({ result })}\n`)
