/**
 * @module
 * A bounded soak: one `storehook start` process (SQLite, synchronous=FULL) fed a steady mix of
 * signed events (forwarded to an ERP simulator under an Idempotency-Key) and Commerce Layer
 * `price` calls, one in ten hanging past its deadline. Every interval it prints the process's CPU
 * (cores used over the interval) and RSS (from /proc), the used heap of its main thread and of its
 * handler threads together (from its /metrics), the
 * answer-time p50/p99 of events and of external calls, what the ERP got, and the machine's own
 * stalls (cores stolen by the hypervisor, and the longest an idle process's timer was late: a
 * latency spike that shows there too is the machine's, not storehook's); at the end, how CPU,
 * RSS and p99 moved from the first interval to the last, and whether every acknowledged event was
 * delivered.
 *
 *   node bench/soak.ts [--minutes 30] [--rate 50] [--interval 60] [--hang-every 10]
 *
 * `--rate` is requests per second (events and external calls together), `--interval` in seconds,
 * `--hang-every N`: one external call in N hangs (its promise never settles; 0: none).
 */
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { awaitDelivery, Cleanup, forwardProject, signedEvent, startChild } from '../test/chaos/driver.ts'
import { callPrice, PLATFORM_TIMEOUT_MS } from '../test/chaos/external.ts'
import { cpuSeconds, machine, memoryMiB, parseFlags, startStallProbe, stolenSeconds, summarize, table } from './lib.ts'

const flags = parseFlags(process.argv.slice(2), { minutes: 30, rate: 50, interval: 60, 'hang-every': 10 })
const cleanup = new Cleanup()
process.once('SIGINT', () => void cleanup.run().then(() => process.exit(130)))

const erp = await startErpSimulator()
cleanup.add(() => erp.close())
const project = forwardProject(cleanup, erp.url, {})
// The price resource lives in the same project as the forwarding action.
const { writeFileSync, mkdirSync } = await import('node:fs')
mkdirSync(join(project, 'external'))
writeFileSync(join(project, 'external/price.ts'), `import { commerceLayer } from 'storehook'
export default commerceLayer.price(async (lineItem) => {
  if (lineItem.sku_code.startsWith('HANG')) return new Promise(() => {})
  return { unit_amount_cents: 4900 }
}, { secrets: 'cl_shared_secret_for_chaos_0001', deadlineMs: 1000, fallback: { answer: { unit_amount_cents: 5000 } } })
`)
const proc = await startChild(cleanup, { project, db: `sqlite:${join(project, 'soak.db')}` })
console.log(`# storehook soak: ${flags.minutes} min at ${flags.rate} req/s, interval ${flags.interval} s, one external call in ${flags['hang-every'] || 'none'} hanging; pid ${proc.child.pid}; ${machine()}`)

const acknowledged = new Set<string>()
let eventTimes: number[] = []
let externalTimes: number[] = []
let errors = 0
let pastDeadline = 0
let n = 0
const inFlight = new Set<Promise<void>>()
const one = async () => {
  const i = ++n
  if (i % 2 === 0) {
    const hangs = flags['hang-every'] > 0 && (i / 2) % flags['hang-every'] === 0
    const answer = await callPrice(proc.url, hangs ? `HANG${i}` : `SKU${i}`).catch(() => null)
    if (!answer || answer.status !== 200) errors += 1
    else externalTimes.push(answer.ms)
    if (answer && answer.ms > PLATFORM_TIMEOUT_MS) pastDeadline += 1
    return
  }
  const request = signedEvent(i)
  const started = performance.now()
  try {
    const response = await fetch(`${proc.url}/events/webhooks`, { method: 'POST', headers: request.headers, body: request.body })
    await response.arrayBuffer()
    if (response.ok) acknowledged.add(request.id)
    else errors += 1
    eventTimes.push(performance.now() - started)
  } catch {
    errors += 1
  }
}

/** Used V8 heap of the main thread and of the handler threads together, from storehook's /metrics. */
async function heapMiB(): Promise<{ main: number; threads: number }> {
  const text = await (await fetch(`${proc.url}/metrics`)).text()
  const main = /^storehook_process_nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text)
  const threads = [...text.matchAll(/^storehook_external_thread_heap_used_bytes\{[^}]*\} (\S+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
  return { main: main ? Number(main[1]) / 2 ** 20 : NaN, threads: threads / 2 ** 20 }
}

// The machine's own share of any stall: steal, and how late an idle process's timers were.
const probe = startStallProbe()
cleanup.add(() => probe.stop())
const rows: string[][] = [['min', 'cores', 'RSS MiB', 'heap MiB', 'threads MiB', 'events', 'event p50', 'event p99', 'external', 'ext p50', 'ext p99', 'ERP accepted', 'errors', 'steal', 'idle stall ms']]
const samples: { cores: number; rss: number; heap: { main: number; threads: number }; p99: number; extP99: number }[] = []
// CPU of the storehook process per interval: work that grows with the store's history shows here first.
let lastCpu = { seconds: cpuSeconds(proc.child.pid!), stolen: stolenSeconds(), at: performance.now() }
const endAt = Date.now() + flags.minutes * 60_000
let nextReport = Date.now() + flags.interval * 1000
const gapMs = 1000 / flags.rate
let tick = Date.now()
while (Date.now() < endAt) {
  const p = one().finally(() => inFlight.delete(p))
  inFlight.add(p)
  tick += gapMs
  const wait = tick - Date.now()
  if (wait > 0) await sleep(wait)
  // A storehook that dies ends the soak: the report below says so and the script exits 1.
  if (proc.exit !== null) break
  if (Date.now() >= nextReport) {
    nextReport += flags.interval * 1000
    const ev = summarize(eventTimes)
    const ex = summarize(externalTimes)
    const rss = memoryMiB(proc.child.pid!)
    const heap = await heapMiB().catch(() => ({ main: NaN, threads: NaN }))
    const cpu = { seconds: cpuSeconds(proc.child.pid!), stolen: stolenSeconds(), at: performance.now() }
    const cores = (cpu.seconds - lastCpu.seconds) / ((cpu.at - lastCpu.at) / 1000)
    const stolen = (cpu.stolen - lastCpu.stolen) / ((cpu.at - lastCpu.at) / 1000)
    lastCpu = cpu
    samples.push({ cores, rss, heap, p99: ev.p99, extP99: ex.p99 })
    rows.push([((flags.minutes * 60_000 - (endAt - Date.now())) / 60_000).toFixed(1), cores.toFixed(2), rss.toFixed(1), heap.main.toFixed(1), heap.threads.toFixed(1), String(ev.count), ev.p50.toFixed(1), ev.p99.toFixed(1), String(ex.count), ex.p50.toFixed(1), ex.p99.toFixed(1), String(erp.accepted().length), String(errors), stolen.toFixed(2), probe.take().toFixed(0)])
    console.log(rows.at(-1)!.join('\t'))
    eventTimes = []
    externalTimes = []
  }
}
await Promise.allSettled(inFlight)
const t = await awaitDelivery(erp, acknowledged, 60_000)
console.log(table(rows))
const first = samples[0]
const last = samples.at(-1)
if (first && last) {
  console.log(`CPU ${first.cores.toFixed(2)} → ${last.cores.toFixed(2)} cores; RSS ${first.rss.toFixed(1)} → ${last.rss.toFixed(1)} MiB (${(last.rss - first.rss >= 0 ? '+' : '') + (last.rss - first.rss).toFixed(1)}), heap ${first.heap.main.toFixed(1)} → ${last.heap.main.toFixed(1)} MiB, threads' heap ${first.heap.threads.toFixed(1)} → ${last.heap.threads.toFixed(1)} MiB; ` +
    `event p99 ${first.p99.toFixed(1)} → ${last.p99.toFixed(1)} ms; external p99 ${first.extP99.toFixed(1)} → ${last.extP99.toFixed(1)} ms`)
}
console.log(`${acknowledged.size} events acknowledged, ${t.delivered} delivered, ${t.missing.length} lost, ${t.duplicatesWithoutKey} duplicates without key, ${t.unreadable.length} unreadable deliveries, ${pastDeadline} external answers past ${PLATFORM_TIMEOUT_MS} ms, ${errors} errors`)
for (const d of t.unreadable.slice(0, 3)) {
  console.log(`unreadable delivery: ${d.method} ${d.path}, Idempotency-Key ${d.idempotencyKey ?? '(none)'}, content-length ${d.headers['content-length'] ?? '(none)'}, body ${JSON.stringify(d.body.slice(0, 80))}, at ${new Date(d.at).toISOString()}`)
}
const crashed = proc.exit !== null
if (crashed) console.log(`the storehook process died: ${JSON.stringify(proc.exit)}`)
await cleanup.run()
process.exit(t.missing.length || t.duplicatesWithoutKey || t.unreadable.length || pastDeadline || crashed ? 1 : 0)
