/**
 * @module
 * The Commerce callback failing, slow (past the connection's 500 ms timeout) and rate-limiting
 * (429 with Retry-After) under the seed flow, `examples/order-to-erp` as shipped but with a quick
 * retry policy (the shipped default waits 10 s, 20 s, … between tries, too slow for a test).
 * I/O Events publishes signed orders; an order counts as acknowledged when I/O Events recorded it
 * delivered; it must reach the ERP once per Idempotency-Key.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLogger } from '../../src/runtime/logger.ts'
import { startStorehook } from '../../src/server/start.ts'
import { startCommerceSimulator, type CommerceAnswer } from '../../src/testkit/commerce-simulator.ts'
import { startErpSimulator } from '../../src/testkit/erp-simulator.ts'
import { startIoEventsSimulator } from '../../src/testkit/io-events-simulator.ts'
import { waitSettled } from './cases.ts'
import { awaitDelivery, Cleanup, emptyResult, REPO_ROOT, runStates, tempProject, type CaseResult } from './driver.ts'

const EXAMPLE = join(REPO_ROOT, 'examples/order-to-erp')

/** The example's config and action, with a 500 ms Commerce timeout and quick retries patched in. */
function exampleWithQuickRetries(cleanup: Cleanup, env: Record<string, string>): string {
  const config = readFileSync(join(EXAMPLE, 'storehook.config.ts'), 'utf8')
    .replace("kind: 'adobe-commerce',", "kind: 'adobe-commerce', timeoutMs: 500,")
    .replace(/env\('([A-Z_]+)'(?:, '[^']*')?\)/g, (_, name: string) => JSON.stringify(env[name] ?? ''))
  const action = readFileSync(join(EXAMPLE, 'actions/order-to-erp.ts'), 'utf8')
    .replace("orderingKey: 'data.value.entity_id' }", "orderingKey: 'data.value.entity_id', timeoutMs: 5000, retry: { maxAttempts: 1000, baseDelayMs: 100, maxDelayMs: 1200 } }")
  if (!config.includes('timeoutMs: 500,') || !action.includes('maxAttempts: 1000')) throw new Error('examples/order-to-erp changed shape: update test/chaos/commerce.ts')
  return tempProject(cleanup, { 'storehook.config.ts': config, 'actions/order-to-erp.ts': action })
}

export interface CommerceSize {
  orders: number
  /** How many callbacks meet each of the three faults. */
  faultCalls: number
}

export async function commerceFaultCase(size: CommerceSize): Promise<CaseResult> {
  const started = Date.now()
  const result = emptyResult('Commerce callback 500 / slow / 429')
  const cleanup = new Cleanup()
  try {
    const io = await startIoEventsSimulator({ timeScale: 0.001 })
    const commerce = await startCommerceSimulator()
    const erp = await startErpSimulator()
    cleanup.add(() => Promise.all([io.close(), commerce.close(), erp.close()]))
    const project = exampleWithQuickRetries(cleanup, {
      IO_CLIENT_ID: io.clientId,
      IO_EVENTS_PUBLIC_KEY_BASE_URL: io.publicKeyBaseUrl,
      COMMERCE_BASE_URL: `${commerce.url}/`,
      COMMERCE_CONSUMER_KEY: commerce.credentials.consumerKey,
      COMMERCE_CONSUMER_SECRET: commerce.credentials.consumerSecret,
      COMMERCE_ACCESS_TOKEN: commerce.credentials.accessToken,
      COMMERCE_ACCESS_TOKEN_SECRET: commerce.credentials.accessTokenSecret,
      ERP_URL: erp.url,
    })
    const storehook = await startStorehook({ project, db: `sqlite:${join(project, 'chaos.db')}`, port: 0, logger: createLogger({ level: 'silent' }) })
    cleanup.add(() => storehook.close())

    const k = size.faultCalls
    const faults: CommerceAnswer[] = [
      ...Array.from({ length: k }, () => ({ status: 500 })),
      ...Array.from({ length: k }, () => ({ delayMs: 1500 })),
      ...Array.from({ length: k }, () => ({ status: 429, retryAfter: 1 })),
    ]
    commerce.respondWith(...faults)
    result.faults = faults.length
    const acknowledged = new Set<string>()
    const publications: Promise<void>[] = []
    for (let i = 0; i < size.orders; i++) {
      const entityId = 5000 + i
      commerce.seedOrder({ entity_id: entityId, extension_attributes: { erp_customer_code: `C-${entityId}` } } as never)
      const event = io.cloudEvent('com.adobe.commerce.observer.sales_order_save_after', { entity_id: entityId, increment_id: `0000${entityId}`, grand_total: 42.5 })
      result.sent += 1
      publications.push(io.publish(`${storehook.url}/events/commerce`, event).outcome.then((outcome) => {
        if (outcome === 'delivered') acknowledged.add(String(entityId))
      }))
      await sleep(20)
    }
    await Promise.all(publications)
    const t = await awaitDelivery(erp, acknowledged, 60_000, (b) => String(b.entity_id))
    await waitSettled(storehook.url, 20_000)
    const states = await runStates(storehook.url)
    Object.assign(result, {
      acknowledged: acknowledged.size, runs: states.succeeded! + states.dead!, erpRequests: erp.deliveries.length,
      delivered: t.delivered, duplicatesSameKey: t.duplicatesSameKey, duplicatesWithoutKey: t.duplicatesWithoutKey, lost: t.missing.length,
    })
    const failed = commerce.requests.filter((r) => r.status >= 300).length
    result.notes.push(`${commerce.requests.length} Commerce callbacks, ${failed} answered with an error`)
    if (states.dead) result.notes.push(`${states.dead} dead runs`)
    if (t.missing.length) result.notes.push(`lost, e.g. ${t.missing.slice(0, 3).join(', ')}`)
  } finally {
    await cleanup.run()
  }
  result.ms = Date.now() - started
  return result
}
