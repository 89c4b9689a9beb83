/*
 * An Adobe Commerce synchronous webhook (web action with `raw-http: true`): Commerce calls it for
 * `plugin.magento.out_of_process_shipping_methods.api.shipping_rate_repository.get_rates` and
 * adds the rates it answers to the checkout, as the checkout starter kit's shipping-methods app
 * does (../../../../shared/reference/adobe-commerce.md §2.2–2.3):
 * - it verifies `x-adobe-commerce-webhook-signature` itself, as the starter kit's `webhookVerify`
 *   did before it moved to IMS tokens: RSA-SHA256 over the base64 body (`__ow_body`, which
 *   raw-http gives exactly as Commerce signed it), with the `COMMERCE_WEBHOOKS_PUBLIC_KEY` input;
 * - it always answers HTTP 200 with a JSON list of operations: an `add` at `result` per shipping
 *   method, or one `exception` operation (bad signature, bad request), which makes Commerce show
 *   the message and refuse the rates.
 */
const crypto = require('crypto')
const { Core } = require('@adobe/aio-sdk')

/** `{ success: true }`, or `{ success: false, error }` saying what is wrong. */
function webhookVerify ({ __ow_headers: headers = {}, __ow_body: body, COMMERCE_WEBHOOKS_PUBLIC_KEY: publicKey }) {
  const signature = headers['x-adobe-commerce-webhook-signature']
  if (!signature) {
    return { success: false, error: 'Header `x-adobe-commerce-webhook-signature` not found. Make sure Webhooks signature is enabled in the Commerce instance.' }
  }
  if (!body) {
    return { success: false, error: 'Request body not found. Make sure the action is configured with `raw-http: true`.' }
  }
  if (!publicKey) {
    return { success: false, error: 'Public key not found. Make sure the action is configured with the input `COMMERCE_WEBHOOKS_PUBLIC_KEY` and it is defined in .env file.' }
  }
  let valid = false
  try {
    valid = crypto.createVerify('SHA256').update(body).verify(publicKey, signature, 'base64')
  } catch (error) {
    return { success: false, error: `The public key could not be used: ${error.message}` }
  }
  return valid ? { success: true } : { success: false, error: 'The signature is invalid.' }
}

/** HTTP 200 with one `exception` operation: Commerce stops and shows `message`. */
function webhookErrorResponse (message) {
  return { statusCode: 200, body: { op: 'exception', message } }
}

/** An `add` operation for one shipping method, as the starter kit builds it. */
function shippingOperation (method) {
  return { op: 'add', path: 'result', value: method }
}

const round2 = (amount) => Math.round(amount * 100) / 100

async function main (params) {
  const logger = Core.Logger('shipping-rates', { level: params.LOG_LEVEL || 'info' })
  try {
    const { success, error } = webhookVerify(params)
    if (!success) {
      logger.error(`Webhook verification failed: ${error}`)
      return webhookErrorResponse(`Failed to verify the webhook signature: ${error}`)
    }
    // Under raw-http the body is base64: decode it, then parse it.
    const { rateRequest: request } = JSON.parse(Buffer.from(params.__ow_body, 'base64').toString('utf8'))
    if (!request || typeof request !== 'object') return webhookErrorResponse('The request has no rateRequest.')

    const weight = Number(request.package_weight) || 0
    const country = request.dest_country_id || 'US'
    const standard = round2(4.99 + 0.5 * weight + (country === 'US' ? 0 : 10))
    const operations = [
      shippingOperation({
        carrier_code: 'DPS',
        method: 'dps_standard',
        method_title: 'Standard (3-5 days)',
        price: standard,
        cost: standard,
        additional_data: [{ key: 'delivery_days', value: '3-5' }]
      })
    ]
    // Express only for parcels a courier takes: 20 kg at most.
    if (weight <= 20) {
      operations.push(shippingOperation({
        carrier_code: 'DPS',
        method: 'dps_express',
        method_title: 'Express (next day)',
        price: round2(standard * 2),
        cost: round2(standard * 2),
        additional_data: [{ key: 'delivery_days', value: '1' }]
      }))
    }
    logger.info(`${operations.length} shipping methods for ${country} ${request.dest_postcode || ''}, ${weight} kg`)
    return { statusCode: 200, body: JSON.stringify(operations) }
  } catch (error) {
    logger.error(error)
    return webhookErrorResponse(`Server error: ${error.message}`)
  }
}

exports.main = main
