// Sends one event signed the Standard Webhooks way, as a platform would.
// Run: node examples/quickstart/send.ts [type] [json-payload]   (storehook on http://127.0.0.1:3000)
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { signStandardWebhook } from '../../src/sources/standard-webhooks/index.ts'

const env = { ...parseEnv(readFileSync(new URL('.env', import.meta.url), 'utf8')), ...process.env }
const [type = 'order.created', data = '{"order_id": "100000123", "total": 42.5}'] = process.argv.slice(2)
const id = `msg_${randomUUID()}`
const timestamp = Math.floor(Date.now() / 1000)
const body = new TextEncoder().encode(JSON.stringify({ type, data: JSON.parse(data) }))
const url = `${env.STOREHOOK_URL ?? 'http://127.0.0.1:3000'}/events/webhooks`
const response = await fetch(url, {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandardWebhook(env.WEBHOOK_SECRET!, id, timestamp, body),
  },
  body,
})
console.log(`${response.status} ${await response.text()}`)
