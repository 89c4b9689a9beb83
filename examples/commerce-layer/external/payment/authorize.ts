// POST /external/payment/authorize: the external gateway's authorize_url, called when the order
// is placed. A refusal goes out as Commerce Layer's gateway error (`data.error`), and the order
// stays unplaced with that message.
import { commerceLayer, ExternalResourceError } from 'storehook'
import { creditLimitCents, gatewayOptions } from './_invoice.ts'

export default commerceLayer.payment.authorize((payment) => {
  const order = payment.order
  const amount = order?.total_amount_with_taxes_cents ?? order?.total_amount_cents
  if (amount === undefined) throw new ExternalResourceError('NO_AMOUNT', 'the order and its amount must be included (external_includes)')
  if (amount > creditLimitCents) {
    throw new ExternalResourceError('CREDIT_LIMIT', `invoices are limited to ${creditLimitCents / 100} ${order?.currency_code ?? ''}`.trim(), {
      data: { amount_cents: amount },
    })
  }
  return { transaction_token: `inv_${payment.id}`, amount_cents: amount, message: 'Authorized: pay by invoice' }
}, gatewayOptions)
