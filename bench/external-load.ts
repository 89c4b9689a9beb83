/**
 * @module
 * The load generator for `bench/external.ts`: `bench/load.ts`'s method (its own process, keep-alive
 * connections, closed or open loop, marks around the measured window, latency from the scheduled
 * send in open loop) with Commerce Layer's external price call instead of a Standard Webhooks
 * event. Bodies are built by the Commerce Layer simulator's own serializer from its sample
 * organization — a line item with the documented default includes (order, customer and tags, the
 * order's line items, market, SKU), compact JSON, relative links — each with its own line item id,
 * and signed with `X-CommerceLayer-Signature` before the clock starts.
 *
 * On stdout: `{"mark":"window-start"}`, `{"mark":"window-end"}`, then `{"result":{…}}`.
 *
 * Usage: node bench/external-load.ts --url http://127.0.0.1:3000/external/price --secret S \
 *          [--duration 8] [--warmup 1] [--connections 32] [--rate 0] [--pool 2000]
 */
import { Agent, request } from 'node:http'
import { signCommerceLayer } from '../src/sources/commerce-layer/signature.ts'
import { DEFAULT_INCLUDES } from '../src/testkit/commerce-layer/kinds.ts'
import { seedSample } from '../src/testkit/commerce-layer/seed.ts'
import { newId, ResourceStore } from '../src/testkit/commerce-layer/store.ts'
import { parseFlags, summarize } from './lib.ts'

const flags = parseFlags(process.argv.slice(2), {
  url: '',
  secret: '',
  duration: 8,
  warmup: 1,
  connections: 32,
  rate: 0,
  /** Distinct signed bodies, sent in turn (an external call has no id to deduplicate on). */
  pool: 2000,
})
if (!flags.url || !flags.secret) throw new Error('--url and --secret are required')
const url = new URL(flags.url)
const connections = Math.max(1, Math.floor(flags.connections))
const rate = flags.rate

// ---- Bodies, as the simulator sends them, signed before the clock starts ----------------------

const store = new ResourceStore({ mode: 'test', organization_id: newId() }, Date.now)
const sample = seedSample(store, () => flags.secret, 'http://127.0.0.1')
const lineItem = sample.lineItems[0]!
lineItem.attributes._external_price = true
const template = store.serialize(lineItem, { include: DEFAULT_INCLUDES.price, linkBase: '' }) as { data: { id: string; links: { self: string } } }
const bodies: { body: Buffer; signature: string }[] = []
for (let i = 0; i < Math.max(1, flags.pool); i++) {
  const id = newId()
  template.data.id = id
  template.data.links.self = `/api/line_items/${id}`
  const body = Buffer.from(JSON.stringify(template))
  bodies.push({ body, signature: signCommerceLayer(flags.secret, body) })
}
let next = 0

// ---- Sending ------------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections })
const statuses: Record<string, number> = {}
const errors: Record<string, number> = {}
const latencies: number[] = []
const scheduledLatencies: number[] = []
const sendLags: number[] = []
let okInWindow = 0
let sent = 0
let windowStart = 0
let windowEnd = 0

/** Sends one call; resolves when its answer has been read (or it failed). Never rejects. */
function send(scheduledAt: number): Promise<void> {
  const item = bodies[next++ % bodies.length]!
  sent += 1
  const sentAt = performance.now()
  return new Promise((resolve) => {
    const done = (status: string) => {
      const end = performance.now()
      statuses[status] = (statuses[status] ?? 0) + 1
      if (end >= windowStart && end < windowEnd) {
        if (status === '200') okInWindow += 1
        latencies.push(end - sentAt)
        if (rate > 0) {
          scheduledLatencies.push(end - scheduledAt)
          sendLags.push(sentAt - scheduledAt)
        }
      }
      resolve()
    }
    const fail = (error: Error) => {
      errors[error.message] = (errors[error.message] ?? 0) + 1
      done('error')
    }
    const req = request(
      {
        agent,
        method: 'POST',
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: { 'content-type': 'application/json', 'content-length': item.body.length, 'x-commercelayer-signature': item.signature },
      },
      (res) => {
        res.resume()
        res.once('end', () => done(String(res.statusCode)))
        res.once('error', fail)
      },
    )
    req.once('error', fail)
    req.end(item.body)
  })
}

const mark = (name: string) => process.stdout.write(`${JSON.stringify({ mark: name })}\n`)
let cpuAtStart = process.cpuUsage()
let cpuInWindow = { user: 0, system: 0 }
const t0 = performance.now()
windowStart = t0 + flags.warmup * 1000
windowEnd = windowStart + flags.duration * 1000
setTimeout(() => {
  cpuAtStart = process.cpuUsage()
  mark('window-start')
}, flags.warmup * 1000)
const windowClosed = new Promise<void>((resolve) =>
  setTimeout(() => {
    cpuInWindow = process.cpuUsage(cpuAtStart)
    mark('window-end')
    resolve()
  }, (flags.warmup + flags.duration) * 1000),
)

if (rate === 0) {
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < windowEnd) await send(performance.now())
    }),
  )
} else {
  // Open loop: one call every 1/rate s whether or not earlier ones were answered, so a slow
  // answer delays the ones behind it and that delay is measured (no coordinated omission).
  const interval = 1000 / rate
  const inFlight = new Set<Promise<void>>()
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

const result = {
  mode: rate > 0 ? 'open-loop' : 'closed-loop',
  targetRate: rate,
  connections,
  bodyBytes: bodies[0]!.body.length,
  sent,
  okInWindow,
  /** 200 answers per second inside the measured window. */
  rps: okInWindow / flags.duration,
  statuses,
  errors,
  latencyMs: summarize(latencies),
  scheduledLatencyMs: rate > 0 ? summarize(scheduledLatencies) : null,
  sendLagMs: rate > 0 ? summarize(sendLags) : null,
  generatorCpuS: (cpuInWindow.user + cpuInWindow.system) / 1e6,
}
process.stdout.write(`${JSON.stringify({ result })}\n`)
