// POST /external/order-validation: the market's external_order_validation_url, called on
// PATCH /api/orders/:id {"_validate": true}. Nothing returned means valid; errors are keyed by
// the order attribute they concern, and Commerce Layer answers its caller 422 with them.
import { commerceLayer } from 'storehook'
import { options } from './_options.ts'
import { VAT } from './_vat.ts'

const MAX_PER_SKU = 10

export default commerceLayer.orderValidation((order) => {
  const errors: Record<string, string> = {}
  if (!order.customer_email) errors.customer_email = "can't be blank"
  const country = order.shipping_address?.country_code
  if (country && VAT[country] === undefined) errors.shipping_address = `we do not ship to ${country}`
  const tooMany = (order.line_items ?? []).filter((li) => li.item_type === 'skus' && (li.quantity ?? 0) > MAX_PER_SKU)
  if (tooMany.length > 0) errors.line_items = `at most ${MAX_PER_SKU} of each item per order (${tooMany.map((li) => li.sku_code).join(', ')})`
  return Object.keys(errors).length > 0 ? { errors, code: 'ORDER_NOT_VALID' } : undefined
}, options)
