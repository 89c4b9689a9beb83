/**
 * @module
 * External resources under load with handlers that hang, throw or block their event loop
 * (`while (true)`, a 5-second synchronous loop): Commerce Layer `price` signed with
 * `signCommerceLayer`, a deadline of `deadlineMs`, a static fallback, handlers on handler threads
 * (the default isolation). Every answer must be a well-formed envelope, and none may come after
 * the platform's own timeout (Commerce Layer: 3 s). Answer times are measured by the caller, so
 * they include queueing in storehook, and waiting for a handler thread while others are blocked.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { createLogger } from '../../src/runtime/logger.ts'
import { startStorehook } from '../../src/server/start.ts'
import { signCommerceLayer } from '../../src/sources/commerce-layer/signature.ts'
import { Cleanup, emptyResult, tempProject, type CaseResult } from './driver.ts'

const SECRET = 'cl_shared_secret_for_chaos_0001'
/** The static fallback's price: an answer with it did not come from the handler. */
const FALLBACK_CENTS = 5000
/** Commerce Layer gives up on an external call after 3 s. */
export const PLATFORM_TIMEOUT_MS = 3000

/** A JSON:API line item as Commerce Layer sends it to an external price. */
export function lineItemBody(sku: string): string {
  return JSON.stringify({
    data: { id: `li_${sku}`, type: 'line_items', attributes: { sku_code: sku, quantity: 1, _external_price: true }, relationships: { order: { data: { type: 'orders', id: 'o1' } } } },
    included: [{ id: 'o1', type: 'orders', attributes: { currency_code: 'EUR' }, relationships: { market: { data: { type: 'markets', id: 'm1' } } } }, { id: 'm1', type: 'markets', attributes: { code: 'eu' } }],
  })
}

/**
 * A project whose `price` hangs for SKU `HANG…`, throws for `THROW…`, blocks its thread's event
 * loop for good for `BLOCK…` and for 5 s for `SPIN…`, and answers otherwise.
 */
export function priceProject(cleanup: Cleanup, deadlineMs: number): string {
  return tempProject(cleanup, {
    'storehook.config.ts': `import { defineConfig } from 'storehook'\nexport default defineConfig({})\n`,
    'external/price.ts': `import { commerceLayer } from 'storehook'
export default commerceLayer.price(async (lineItem) => {
  if (lineItem.sku_code.startsWith('HANG')) return new Promise(() => {})
  if (lineItem.sku_code.startsWith('THROW')) throw new Error('pricing service failed')
  if (lineItem.sku_code.startsWith('BLOCK')) while (true) {}
  if (lineItem.sku_code.startsWith('SPIN')) for (const until = Date.now() + 5000; Date.now() < until; ) {}
  return { unit_amount_cents: 4900 }
}, { secrets: '${SECRET}', deadlineMs: ${deadlineMs}, fallback: { answer: { unit_amount_cents: ${FALLBACK_CENTS} } } })
`,
  })
}

/** POSTs one signed price call; returns its status, whether the envelope is well-formed, whether the fallback gave it, and its time. */
export async function callPrice(url: string, sku: string) {
  const body = lineItemBody(sku)
  const started = performance.now()
  const response = await fetch(`${url}/external/price`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-commercelayer-signature': signCommerceLayer(SECRET, body) }, body })
  const answer = (await response.json().catch(() => null)) as { success?: boolean; data?: { unit_amount_cents?: number } } | null
  return { status: response.status, wellFormed: answer !== null && typeof answer.success === 'boolean', fallback: answer?.data?.unit_amount_cents === FALLBACK_CENTS, ms: performance.now() - started }
}

export interface ExternalSize {
  calls: number
  concurrency: number
  deadlineMs: number
  /** Every `blockEvery`-th call blocks its thread's event loop instead (alternately for good and for 5 s). */
  blockEvery: number
}

/** What a call of the case does, by its number. */
function skuFor(n: number, blockEvery: number): string {
  if (n % blockEvery === Math.floor(blockEvery / 2)) return (Math.floor(n / blockEvery) % 2 ? 'SPIN' : 'BLOCK') + n
  return ['OK', 'HANG', 'THROW'][n % 3]! + n
}

/**
 * One call in three hangs, one in three throws, one in `blockEvery` blocks its event loop; counts
 * answers past the platform's timeout, and the handler threads replaced.
 */
export async function externalDeadlineCase(size: ExternalSize): Promise<CaseResult & { p50: number; p99: number; max: number; blocked: number; threadsReplaced: number }> {
  const started = Date.now()
  const result = { ...emptyResult('external price hangs / throws / blocks'), p50: 0, p99: 0, max: 0, blocked: 0, threadsReplaced: 0 }
  const cleanup = new Cleanup()
  try {
    const project = priceProject(cleanup, size.deadlineMs)
    const storehook = await startStorehook({ project, db: `sqlite:${project}/chaos.db`, port: 0, logger: createLogger({ level: 'silent' }) })
    cleanup.add(() => storehook.close())
    const times: number[] = []
    let next = 0
    let malformed = 0
    let sound = 0
    let soundByHandler = 0
    const worker = async () => {
      while (next < size.calls) {
        const n = next++
        const sku = skuFor(n, size.blockEvery)
        if (!sku.startsWith('OK')) result.faults += 1
        if (sku.startsWith('BLOCK') || sku.startsWith('SPIN')) result.blocked += 1
        result.sent += 1
        const answer = await callPrice(storehook.url, sku).catch(() => null)
        if (!answer) {
          result.connectionErrors += 1
          continue
        }
        times.push(answer.ms)
        if (sku.startsWith('OK')) {
          sound += 1
          if (!answer.fallback) soundByHandler += 1
        }
        if (answer.status === 200) result.acknowledged += 1
        else result.rejected[answer.status] = (result.rejected[answer.status] ?? 0) + 1
        if (!answer.wellFormed) malformed += 1
        if (answer.ms > PLATFORM_TIMEOUT_MS) result.pastDeadline += 1
      }
    }
    await Promise.all(Array.from({ length: size.concurrency }, worker))
    await sleep(0)
    const metrics = await (await fetch(`${storehook.url}/metrics`)).text()
    result.threadsReplaced = [...metrics.matchAll(/^storehook_external_threads_replaced_total\{reason="[a-z]+"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
    times.sort((a, b) => a - b)
    result.p50 = Math.round(times[Math.floor(times.length / 2)] ?? 0)
    result.p99 = Math.round(times[Math.floor(times.length * 0.99)] ?? 0)
    result.max = Math.round(times.at(-1) ?? 0)
    result.notes.push(`answer time p50 ${result.p50} ms, p99 ${result.p99} ms, max ${result.max} ms (deadline ${size.deadlineMs} ms)`)
    result.notes.push(`${result.blocked} handlers blocked their thread's event loop; ${result.threadsReplaced} handler threads terminated and replaced`)
    result.notes.push(`${soundByHandler} of ${sound} sound calls answered by the handler, the others by the fallback (no thread free before the deadline)`)
    if (malformed) result.notes.push(`${malformed} malformed envelopes`)
    result.unexpectedCrashes += malformed // a malformed envelope breaks the shopper's flow as a crash would
  } finally {
    await cleanup.run()
  }
  result.ms = Date.now() - started
  return result
}
