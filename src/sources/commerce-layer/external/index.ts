/**
 * @module
 * `commerceLayer`: the helpers a project's `external/` files use to declare Commerce Layer
 * external resources, one per file, the file's path naming the resource (`external/price.ts` →
 * `POST /external/price`).
 */
import { orderValidation } from './order-validation.ts'
import { payment } from './payment.ts'
import { sendPaymentUpdate } from './payment-update.ts'
import { price } from './price.ts'
import { promotion } from './promotion.ts'
import { shipping } from './shipping.ts'
import { tax } from './tax.ts'
import { parseJsonApi } from '../json-api.ts'
import { signCommerceLayer, verifyCommerceLayerSignature } from '../signature.ts'

/**
 * @example
 * import { commerceLayer, env } from 'storehook'
 * export default commerceLayer.tax((order) => ({ tax_rate: 0.22 }), { secrets: env('CL_SHARED_SECRET') })
 */
export const commerceLayer = {
  orderValidation,
  price,
  shipping,
  promotion,
  tax,
  payment,
  sendPaymentUpdate,
  /** Denormalizes a JSON:API document: an external call's body or a webhook event's payload. */
  parseJsonApi,
  sign: signCommerceLayer,
  verify: verifyCommerceLayerSignature,
}

export type { CommerceLayerContext } from './kind.ts'
export type { OrderValidationAnswer } from './order-validation.ts'
export type { CustomerTokenAnswer, CustomerTokenOptions, PaymentAnswer } from './payment.ts'
export type { PaymentUpdate, SendPaymentUpdateOptions } from './payment-update.ts'
export { PaymentUpdateError } from './payment-update.ts'
export type { PriceAnswer } from './price.ts'
export type { PromotionAnswer } from './promotion.ts'
export type { ShippingAnswer, ShippingOptions } from './shipping.ts'
export type { TaxAnswer } from './tax.ts'
