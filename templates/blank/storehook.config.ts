// The project: one source in, one connection out. Secrets and URLs come from the environment or
// from .env (the environment wins); an unset one stops `storehook start` with its name.
import { defineConfig, env } from 'storehook'

export default defineConfig({
  sources: {
    // POST /events/webhooks, signed as Standard Webhooks senders (Svix and many platforms) sign.
    // WEBHOOK_SECRET may hold two secrets separated by a space while you rotate them.
    webhooks: { kind: 'standard-webhooks', secrets: env('WEBHOOK_SECRET') },
  },
  connections: {
    // ctx.connections.erp in actions. At most 4 requests at once: the ERP is not a CDN.
    erp: { kind: 'http', baseUrl: env('ERP_URL'), timeoutMs: 10_000, maxConcurrency: 4 },
  },
})
