// POST /external/promotion: the external promotion's promotion_url. Customers tagged "vip" get
// 10% off every SKU line item (one amount per line: all of them carry one, as Commerce Layer
// requires); everyone else gets a discount of 0 — an answer, not an error, because errors may
// count toward Commerce Layer's circuit breaker.
import { commerceLayer } from 'storehook'
import { options } from './_options.ts'

const NAME = 'VIP 10% off'
const RATE = 0.1

export default commerceLayer.promotion((order) => {
  // `customer.tags` is in the default includes; an owner whose external_includes drop it sees no tags.
  const vip = (order.customer?.tags ?? []).some((tag) => tag.name === 'vip')
  const lines = (order.line_items ?? []).filter((li) => li.item_type === 'skus')
  if (!vip || lines.length === 0) return { name: NAME, discount_cents: 0 }
  return { name: NAME, line_items: lines.map((li) => ({ id: li.id, discount_cents: Math.round((li.total_amount_cents ?? 0) * RATE) })) }
}, options)
