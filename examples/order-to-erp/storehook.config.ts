// The seed's flow (Adobe's "Runtime action with a callback to Commerce") on storehook:
// observer.sales_order_save_after arrives from Adobe I/O Events at POST /events/commerce, the
// action fetches the order's extension_attributes from Commerce REST (OAuth 1.0a) and POSTs the
// enriched order to ${ERP_URL}/orders. Everything comes from the environment (see .env.example).
import { defineConfig, env } from 'storehook'

export default defineConfig({
  sources: {
    commerce: {
      kind: 'adobe-io-events',
      clientId: env('IO_CLIENT_ID'),
      publicKeyBaseUrl: env('IO_EVENTS_PUBLIC_KEY_BASE_URL', 'https://static.adobeioevents.com'),
    },
  },
  connections: {
    commerce: {
      kind: 'adobe-commerce',
      // The seed's form: `${COMMERCE_BASE_URL}rest/V1/orders/<entity_id>`.
      baseUrl: env('COMMERCE_BASE_URL'),
      oauth1: {
        consumerKey: env('COMMERCE_CONSUMER_KEY'),
        consumerSecret: env('COMMERCE_CONSUMER_SECRET'),
        accessToken: env('COMMERCE_ACCESS_TOKEN'),
        accessTokenSecret: env('COMMERCE_ACCESS_TOKEN_SECRET'),
      },
    },
    erp: { kind: 'http', baseUrl: env('ERP_URL'), timeoutMs: 10_000, maxConcurrency: 4 },
  },
})
