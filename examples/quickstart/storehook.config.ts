import { defineConfig, env } from 'storehook'

export default defineConfig({
  sources: {
    // POST /events/webhooks, signed with Standard Webhooks (webhook-id, -timestamp, -signature).
    webhooks: { kind: 'standard-webhooks', secrets: env('WEBHOOK_SECRET') },
  },
  connections: {
    // Where every event's payload is forwarded: your ERP, or the receiver in this folder.
    forward: { kind: 'http', baseUrl: env('FORWARD_URL'), timeoutMs: 10_000 },
  },
})
