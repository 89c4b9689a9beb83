// POST /external/price: the market's external_prices_url. Commerce Layer calls it for every line
// item it creates or reprices, and a price that does not come back in time means the line item
// is not created (the shopper's API call gets 422). So:
// - prices read from the pricing service are reused for PRICE_CACHE_TTL_MS (default 60 s): a busy
//   cart asks the service once per SKU, currency and market, not once per click;
// - when the service is slow, down or answers garbage, the deadline's signal cuts the request and
//   the last good price for the same SKU, currency and market answers instead (`lastGood`), kept
//   for a day; a SKU never priced before gets a clean 422 envelope, never a timeout;
// - a SKU the service does not know (404) is refused on purpose (NO_PRICE), not papered over.
import { commerceLayer, ExternalResourceError, TargetResponseError, type HttpClient } from 'storehook'
import { numberFromEnv, options } from './_options.ts'

interface ServicePrice {
  unit_amount_cents: number
  compare_at_amount_cents?: number
}

const ttlMs = numberFromEnv('PRICE_CACHE_TTL_MS', 60_000)
const MAX_ENTRIES = 10_000
const cache = new Map<string, { price: ServicePrice; expiresAt: number }>()

function remember(key: string, price: ServicePrice): void {
  cache.delete(key)
  cache.set(key, { price, expiresAt: Date.now() + ttlMs })
  // Oldest first in a Map: a bounded cache, whatever the catalogue's size.
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!)
}

export default commerceLayer.price(
  async (lineItem, { connections, signal }) => {
    const sku = lineItem.sku_code
    if (!sku) throw new ExternalResourceError('NO_SKU', 'external prices are per SKU; this line item has no sku_code')
    const currency = lineItem.order?.currency_code ?? lineItem.currency_code ?? ''
    const market = lineItem.order?.market?.code ?? ''
    const key = `${sku}\u0000${currency}\u0000${market}`

    const cached = cache.get(key)
    let price = cached && cached.expiresAt > Date.now() ? cached.price : undefined
    if (!price) {
      const pricing: HttpClient = connections.pricing
      try {
        const response = await pricing.get(`prices/${encodeURIComponent(sku)}`, { query: { currency, market }, signal })
        price = response.json<ServicePrice>()
      } catch (error) {
        if (error instanceof TargetResponseError && error.status === 404) {
          throw new ExternalResourceError('NO_PRICE', `no ${currency} price for ${sku} in market ${market || '(none)'}`)
        }
        throw error // anything else: the fallback answers
      }
      // Only a usable price is cached; a broken one would otherwise be served for the whole TTL.
      if (!Number.isSafeInteger(price.unit_amount_cents) || price.unit_amount_cents < 0) {
        throw new Error(`the pricing service sent ${JSON.stringify(price)} for ${sku}`)
      }
      remember(key, price)
    }
    return {
      unit_amount_cents: price.unit_amount_cents,
      ...(price.compare_at_amount_cents === undefined ? {} : { compare_at_amount_cents: price.compare_at_amount_cents }),
      metadata: { priced_by: 'pricing-service' },
    }
  },
  // lastGood is keyed by SKU, currency and market (storehook's default for prices), as the cache is.
  { ...options, fallback: { lastGood: true } },
)
