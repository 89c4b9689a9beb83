/**
 * @module
 * `adobeCommerce`: what a project's `external/` files use to answer Adobe Commerce webhooks, one
 * per file, the file's path naming the endpoint (`external/shipping-rates.ts` →
 * `POST /external/shipping-rates`), and the operation builders its handler returns.
 */
import { commerceWebhookPublicKeys, signCommerceWebhook, verifyCommerceWebhookSignature } from './auth.ts'
import { webhook, WebhookException } from './kind.ts'
import { add, checkOperations, exception, remove, replace, success } from './operations.ts'

/**
 * @example
 * import { adobeCommerce, env } from 'storehook'
 * export default adobeCommerce.webhook((payload) => {
 *   if (payload.data?.quote_item?.qty > 10) return adobeCommerce.exception('At most 10 per order')
 *   return adobeCommerce.success()
 * }, { publicKey: env('COMMERCE_WEBHOOK_PUBLIC_KEY') })
 */
export const adobeCommerce = {
  webhook,
  success,
  exception,
  add,
  replace,
  remove,
  WebhookException,
  /** Checks a handler's answer as storehook does before sending it. */
  checkOperations,
  /** Signs a body as Commerce does: `(privateKey, body)` → the signature header (for tests of your own). */
  signWebhook: signCommerceWebhook,
  /** Checks a signature as storehook does: `({ headers, body, publicKeys })`, keys from {@link publicKeys}. */
  verifyWebhookSignature: verifyCommerceWebhookSignature,
  /** Reads PEM public keys (one, several in one string, or a list) into key objects. */
  publicKeys: commerceWebhookPublicKeys,
}

export { WebhookException } from './kind.ts'
export type { CommerceWebhookAnswer, CommerceWebhookContext, CommerceWebhookOptions, CommerceWebhookPayload, FailurePolicy } from './kind.ts'
export type { AddOperation, ExceptionOperation, RemoveOperation, ReplaceOperation, SuccessOperation, WebhookOperation } from './operations.ts'
