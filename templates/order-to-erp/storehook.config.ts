// Adobe Commerce orders to an ERP. observer.sales_order_save_after arrives from Adobe I/O Events
// at POST /events/commerce; the action fetches the order's extension_attributes from Commerce REST
// (OAuth 1.0a) and POSTs the order to ${ERP_URL}/orders. Every value comes from the environment
// or .env (the environment wins); .env.example says what each one is.
import { defineConfig, env } from 'storehook'

export default defineConfig({
  sources: {
    // Register https://<your host>/events/commerce as the webhook URL of the I/O Events registration.
    commerce: {
      kind: 'adobe-io-events',
      clientId: env('IO_CLIENT_ID'),
      // Adobe's key server in production; the testkit's (storehook send, tests) locally.
      publicKeyBaseUrl: env('IO_EVENTS_PUBLIC_KEY_BASE_URL', 'https://static.adobeioevents.com'),
    },
  },
  connections: {
    commerce: {
      kind: 'adobe-commerce',
      baseUrl: env('COMMERCE_BASE_URL'), // https://shop.example.com/ → …/rest/V1/
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
