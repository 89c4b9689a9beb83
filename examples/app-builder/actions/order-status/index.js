/*
 * A web action (`web: 'yes'`): GET /api/v1/web/storehook-demo/order-status?id=42 answers the
 * order's state from Adobe Commerce, read with the same OAuth 1.0a client as the order consumer.
 * It shows OpenWhisk's web contract both ways: the query string and a JSON body arrive merged into
 * params (with `__ow_method`, `__ow_headers`…), a `{ statusCode, headers, body }` result is the
 * HTTP answer, and an `{ error: { statusCode, body } }` result (utils.errorResponse) is an error
 * answer with that status.
 */
const { Core } = require('@adobe/aio-sdk')
const { getCommerceOauthClient } = require('../oauth1a')
const { checkMissingRequestInputs, errorResponse } = require('../utils')

async function main (params) {
  const logger = Core.Logger('order-status', { level: params.LOG_LEVEL || 'info' })
  const missing = checkMissingRequestInputs(params, ['id'])
  if (missing) return errorResponse(400, missing, logger)
  if (!/^\d+$/.test(String(params.id))) return errorResponse(400, `id must be an order's entity_id (digits), got ${JSON.stringify(params.id)}`, logger)

  const oauth = getCommerceOauthClient(
    {
      url: params.COMMERCE_BASE_URL,
      consumerKey: params.COMMERCE_CONSUMER_KEY,
      consumerSecret: params.COMMERCE_CONSUMER_SECRET,
      accessToken: params.COMMERCE_ACCESS_TOKEN,
      accessTokenSecret: params.COMMERCE_ACCESS_TOKEN_SECRET
    },
    logger
  )
  try {
    const order = await oauth.get('orders/' + params.id)
    logger.info(`order ${order.entity_id} is ${order.status}`)
    return {
      statusCode: 200,
      headers: { 'cache-control': 'no-store' },
      body: {
        entity_id: order.entity_id,
        increment_id: order.increment_id,
        state: order.state,
        status: order.status,
        grand_total: order.grand_total,
        updated_at: order.updated_at
      }
    }
  } catch (error) {
    const status = error.response && error.response.statusCode
    if (status === 404) return errorResponse(404, `no order ${params.id}`, logger)
    // Commerce refused the integration, failed, or could not be reached: not the caller's fault.
    return errorResponse(502, `Adobe Commerce did not answer for order ${params.id}: ${error.message}`, logger)
  }
}

exports.main = main
