// Commerce Layer's two halves on storehook:
// - external/price.ts answers POST /external/price, the market's external_prices_url (synchronous:
//   Commerce Layer waits, 3 s at most);
// - webhooks arrive at POST /events/cl (the webhook's callback_url) and become events;
//   actions/order-to-erp.ts sends each placed order to ${ERP_URL}/orders.
// Every value comes from the environment or .env (the environment wins); see .env.example.
import { defineConfig, env } from 'storehook'

export default defineConfig({
  sources: {
    // The webhook's shared_secret. CL_SHARED_SECRET may list several, separated by spaces.
    cl: { kind: 'commerce-layer', secrets: env('CL_SHARED_SECRET') },
  },
  connections: {
    erp: { kind: 'http', baseUrl: env('ERP_URL'), timeoutMs: 10_000, maxConcurrency: 4 },
  },
})
