/**
 * A project for the dashboard's tests and screenshots, with secrets where real projects keep them
 * (the project's `.env`): a Standard Webhooks source secret, an ERP connection password sent as a
 * header, a Commerce Layer shared secret. Its actions: `forward` sends `order.*` events to the ERP;
 * `fragile` fails for good on `payment.*` events while the file `broken.flag` exists in the project
 * (a bug, fixed by deleting the file); `price` is a Commerce Layer external resource.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signCommerceLayer } from '../../src/sources/commerce-layer/signature.ts'
import { signStandardWebhook } from '../../src/sources/standard-webhooks/index.ts'

/**
 * Fixed per process: the project loader does not override variables already in the environment,
 * so every demo project of one process must agree on them.
 */
export const DEMO_SECRETS = {
  webhook: `whsec_${randomBytes(24).toString('base64')}`,
  erpPassword: `erp-pa55word-${randomBytes(6).toString('hex')}`,
  commerceLayer: `cl-shared-secret-${randomBytes(6).toString('hex')}`,
}

export interface DemoProject {
  dir: string
  /** While this file exists, the `fragile` action fails for good (its runs go dead). */
  flag: string
  remove(): void
}

export function makeDemoProject(erpUrl: string): DemoProject {
  const dir = mkdtempSync(join(tmpdir(), 'storehook-dashboard-'))
  const files: Record<string, string> = {
    '.env': `WEBHOOK_SECRET=${DEMO_SECRETS.webhook}\nERP_PASSWORD=${DEMO_SECRETS.erpPassword}\nCL_SHARED_SECRET=${DEMO_SECRETS.commerceLayer}\n`,
    'storehook.config.ts': `import { defineConfig, env } from 'storehook'
export default defineConfig({
  sources: {
    webhooks: { kind: 'standard-webhooks', secrets: [env('WEBHOOK_SECRET')] },
    shop: { kind: 'standard-webhooks', secrets: [env('WEBHOOK_SECRET')] },
  },
  connections: {
    erp: { kind: 'http', baseUrl: '${erpUrl}/orders', headers: { 'X-Erp-Password': env('ERP_PASSWORD') }, maxConcurrency: 4 },
  },
  worker: { pollIntervalMs: 50 },
})`,
    'actions/forward.ts': `import { onEvent } from 'storehook'
export default onEvent({ types: 'order.*', retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200 } }, async (event, { connections, step }) => {
  const order = await step('read the order', () => ({ id: event.id, lines: 2, access_token: 'step-token-not-shown' }))
  await step('send to the ERP', async () => (await connections.erp.post('', { json: { ...event.payload, order }, idempotencyKey: event.id })).status)
})`,
    'actions/fragile.ts': `import { existsSync } from 'node:fs'
import { onEvent, PermanentError } from 'storehook'
export default onEvent({ types: 'payment.*', source: 'shop', retry: { maxAttempts: 5 } }, async (event) => {
  if (existsSync(new URL('../broken.flag', import.meta.url))) {
    throw new PermanentError('payment service rejected ' + event.id + ': unknown currency')
  }
})`,
    'external/price.ts': `import { commerceLayer, env } from 'storehook'
export default commerceLayer.price(async (lineItem) => {
  if (lineItem.sku_code === 'SLOW') await new Promise((resolve) => setTimeout(resolve, 150))
  if (lineItem.sku_code === 'HANG') await new Promise(() => {})
  return { unit_amount_cents: 4900 }
}, { secrets: [env('CL_SHARED_SECRET')], deadlineMs: 300, fallback: { answer: { unit_amount_cents: 5000 } } })`,
    'broken.flag': 'delete me to fix the fragile action\n',
  }
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return { dir, flag: join(dir, 'broken.flag'), remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** POSTs a Standard Webhooks event signed with the demo secret; resolves to the HTTP status. */
export async function sendDemoEvent(url: string, source: string, event: { id: string; type: string; data?: unknown }): Promise<number> {
  const ts = Math.floor(Date.now() / 1000)
  const body = new TextEncoder().encode(JSON.stringify({ type: event.type, data: event.data ?? {} }))
  const response = await fetch(`${url}/events/${source}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': event.id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandardWebhook(DEMO_SECRETS.webhook, event.id, ts, body),
    },
    body,
  })
  await response.arrayBuffer()
  return response.status
}

/** Calls the `price` external resource as Commerce Layer would for one line item. */
export async function callPrice(url: string, sku: string): Promise<number> {
  const body = JSON.stringify({
    data: { id: `li_${sku}`, type: 'line_items', attributes: { sku_code: sku, quantity: 1, _external_price: true }, relationships: { order: { data: { type: 'orders', id: 'o1' } } } },
    included: [{ id: 'o1', type: 'orders', attributes: { currency_code: 'EUR' } }],
  })
  const response = await fetch(`${url}/external/price`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-commercelayer-signature': signCommerceLayer(DEMO_SECRETS.commerceLayer, body) },
    body,
  })
  await response.arrayBuffer()
  return response.status
}
