/**
 * @module
 * External resources under load with handlers that hang or throw: Commerce Layer `price` signed
 * with `signCommerceLayer`, a deadline of `deadlineMs`, a static fallback. Every answer must be a
 * well-formed envelope, and none may come after the platform's own timeout (Commerce Layer: 3 s).
 * Answer times are measured by the caller, so they include queueing in storehook.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { createLogger } from '../../src/runtime/logger.ts'
import { startStorehook } from '../../src/server/start.ts'
import { signCommerceLayer } from '../../src/sources/commerce-layer/signature.ts'
import { Cleanup, emptyResult, tempProject, type CaseResult } from './driver.ts'

const SECRET = 'cl_shared_secret_for_chaos_0001'
/** Commerce Layer gives up on an external call after 3 s. */
export const PLATFORM_TIMEOUT_MS = 3000

/** A JSON:API line item as Commerce Layer sends it to an external price. */
export function lineItemBody(sku: string): string {
  return JSON.stringify({
    data: { id: `li_${sku}`, type: 'line_items', attributes: { sku_code: sku, quantity: 1, _external_price: true }, relationships: { order: { data: { type: 'orders', id: 'o1' } } } },
    included: [{ id: 'o1', type: 'orders', attributes: { currency_code: 'EUR' }, relationships: { market: { data: { type: 'markets', id: 'm1' } } } }, { id: 'm1', type: 'markets', attributes: { code: 'eu' } }],
  })
}

/** A project whose `price` hangs for SKU `HANG`, throws for `THROW`, answers otherwise. */
export function priceProject(cleanup: Cleanup, deadlineMs: number): string {
  return tempProject(cleanup, {
    'storehook.config.ts': `import { defineConfig } from 'storehook'\nexport default defineConfig({})\n`,
    'external/price.ts': `import { commerceLayer } from 'storehook'
export default commerceLayer.price(async (lineItem) => {
  if (lineItem.sku_code.startsWith('HANG')) return new Promise(() => {})
  if (lineItem.sku_code.startsWith('THROW')) throw new Error('pricing service failed')
  return { unit_amount_cents: 4900 }
}, { secrets: '${SECRET}', deadlineMs: ${deadlineMs}, fallback: { answer: { unit_amount_cents: 5000 } } })
`,
  })
}

/** POSTs one signed price call; returns its status, whether the envelope is well-formed, and its time. */
export async function callPrice(url: string, sku: string) {
  const body = lineItemBody(sku)
  const started = performance.now()
  const response = await fetch(`${url}/external/price`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-commercelayer-signature': signCommerceLayer(SECRET, body) }, body })
  const answer = (await response.json().catch(() => null)) as { success?: boolean; data?: { unit_amount_cents?: number } } | null
  return { status: response.status, wellFormed: answer !== null && typeof answer.success === 'boolean', ms: performance.now() - started }
}

export interface ExternalSize {
  calls: number
  concurrency: number
  deadlineMs: number
}

/** One call in three hangs, one in three throws; counts answers past the platform's timeout. */
export async function externalDeadlineCase(size: ExternalSize): Promise<CaseResult & { p50: number; p99: number; max: number }> {
  const started = Date.now()
  const result = { ...emptyResult('external price hangs / throws'), p50: 0, p99: 0, max: 0 }
  const cleanup = new Cleanup()
  try {
    const project = priceProject(cleanup, size.deadlineMs)
    const storehook = await startStorehook({ project, db: `sqlite:${project}/chaos.db`, port: 0, logger: createLogger({ level: 'silent' }) })
    cleanup.add(() => storehook.close())
    const times: number[] = []
    let next = 0
    let malformed = 0
    const worker = async () => {
      while (next < size.calls) {
        const n = next++
        const sku = ['OK', 'HANG', 'THROW'][n % 3]! + n
        if (n % 3) result.faults += 1
        result.sent += 1
        const answer = await callPrice(storehook.url, sku).catch(() => null)
        if (!answer) {
          result.connectionErrors += 1
          continue
        }
        times.push(answer.ms)
        if (answer.status === 200) result.acknowledged += 1
        else result.rejected[answer.status] = (result.rejected[answer.status] ?? 0) + 1
        if (!answer.wellFormed) malformed += 1
        if (answer.ms > PLATFORM_TIMEOUT_MS) result.pastDeadline += 1
      }
    }
    await Promise.all(Array.from({ length: size.concurrency }, worker))
    await sleep(0)
    times.sort((a, b) => a - b)
    result.p50 = Math.round(times[Math.floor(times.length / 2)] ?? 0)
    result.p99 = Math.round(times[Math.floor(times.length * 0.99)] ?? 0)
    result.max = Math.round(times.at(-1) ?? 0)
    result.notes.push(`answer time p50 ${result.p50} ms, p99 ${result.p99} ms, max ${result.max} ms (deadline ${size.deadlineMs} ms)`)
    if (malformed) result.notes.push(`${malformed} malformed envelopes`)
    result.unexpectedCrashes += malformed // a malformed envelope breaks the shopper's flow as a crash would
  } finally {
    await cleanup.run()
  }
  result.ms = Date.now() - started
  return result
}
