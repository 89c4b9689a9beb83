// Commerce Layer's synchronous and asynchronous halves on storehook (the second seed):
// - external resources in external/: price (from a pricing service, cached, answered from the
//   last good price when that service is down), tax, promotion, order-validation and the payment
//   gateway (external/payment/*), each answering Commerce Layer within its timeout whatever
//   happens behind it;
// - webhooks at POST /events/cl: orders.place is forwarded to ${ERP_URL}/orders once.
// Everything comes from the environment (see .env.example).
import { defineConfig, env } from 'storehook'

export default defineConfig({
  sources: {
    // The webhook's shared_secret; CL_SHARED_SECRET may list several, separated by spaces.
    cl: { kind: 'commerce-layer', secrets: env('CL_SHARED_SECRET') },
  },
  connections: {
    // Below the price deadline, so a slow answer is cut by the deadline's signal, not left hanging.
    pricing: { kind: 'http', baseUrl: env('PRICING_URL'), timeoutMs: 2_000 },
    erp: { kind: 'http', baseUrl: env('ERP_URL'), timeoutMs: 10_000, maxConcurrency: 4 },
  },
})
