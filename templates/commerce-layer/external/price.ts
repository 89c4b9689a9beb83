// external/price.ts → POST /external/price: set it as the market's external_prices_url.
// Commerce Layer calls it for every line item it creates or reprices, and a price that does not
// come back in time means the line item is not created. So the answer is checked against the
// price schema before it is sent, the handler runs under a deadline below Commerce Layer's 3 s,
// and when it fails the last good price of the same SKU answers instead (fallback.lastGood).
//
// The price list below stands in for your pricing service or ERP: replace it with a call through
// a connection (ctx.connections.<name>), passing ctx.signal so the deadline cuts it short.
import { commerceLayer, env, ExternalResourceError } from 'storehook'

/** Unit prices in cents, by SKU code. */
const PRICE_LIST: Record<string, { unit: number; compareAt?: number }> = {
  TSHIRTMM000000FFFFFFXLXX: { unit: 2500, compareAt: 2900 },
  CAPBKSUNFFFFFF000000XXXX: { unit: 1700 },
}

export default commerceLayer.price(
  (lineItem) => {
    const price = lineItem.sku_code ? PRICE_LIST[lineItem.sku_code] : undefined
    // Refused on purpose: a clean 422 envelope with this code, and no fallback.
    if (!price) throw new ExternalResourceError('NO_PRICE', `no price for ${lineItem.sku_code ?? 'a line item without sku_code'}`)
    return { unit_amount_cents: price.unit, ...(price.compareAt ? { compare_at_amount_cents: price.compareAt } : {}) }
  },
  { secrets: env('CL_SHARED_SECRET'), fallback: { lastGood: true } },
)
