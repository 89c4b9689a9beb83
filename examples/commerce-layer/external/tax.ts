// POST /external/tax: the external tax calculator's tax_calculator_url. VAT of the shipping
// country (else the billing one) on every SKU line item, with the amount itself per line
// (`tax_collectable`, in MAJOR units: 5.23 means €5.23), which Commerce Layer uses before any rate.
// Pure computation, so nothing to fall back on: a mistake in it answers a clean 422.
import { commerceLayer, ExternalResourceError } from 'storehook'
import { options } from './_options.ts'
import { VAT } from './_vat.ts'

export default commerceLayer.tax((order) => {
  const country = order.shipping_address?.country_code ?? order.billing_address?.country_code
  if (!country) throw new ExternalResourceError('NO_ADDRESS', 'taxes need a shipping or billing address')
  const rate = VAT[country]
  if (rate === undefined) throw new ExternalResourceError('NO_TAX_RATE', `this shop has no VAT rate for ${country}`)
  // Prices that include VAT hold it already: the tax is the part of the amount above its net.
  const included = order.tax_included === true
  const lines = (order.line_items ?? [])
    .filter((li) => li.item_type === 'skus') // gift cards, shipments, promotions: not taxed per line
    .map((li) => {
      const amount = li.total_amount_cents ?? 0
      const taxCents = Math.round(included ? amount - amount / (1 + rate) : amount * rate)
      return { id: li.id, tax_rate: rate, tax_collectable: taxCents / 100, taxable_amount: (included ? amount - taxCents : amount) / 100 }
    })
  return { tax_rate: rate, freight_taxable: true, line_items: lines, metadata: { vat_country: country } }
}, options)
