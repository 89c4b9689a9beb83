// The seed's action, verbatim: Adobe's "Runtime Action with a Callback to Commerce" in its older
// form (commerce-extensibility consume-events.md before June 2024), which does not await the ERP
// call. Not one character of the code below is changed; README.md says how storehook runs it, and
// why this action's entry is ./entry.js.
const { Core } = require('@adobe/aio-sdk')
const { errorResponse } = require('../utils')
const { getCommerceOauthClient } = require('../oauth1a')
const { sendOrderToErpSystem } = require('../erp')
  
async function main (params) {
  const logger = Core.Logger('main', { level: params.LOG_LEVEL || 'info' })
  
  try {
    event_payload = params.data.value
    if (!event_payload.hasOwnProperty('extension_attributes')) {
      // Fetch extension attributes for order and add to order event payload
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
      const content = await oauth.get('orders/' + event_payload.entity_id)
      event_payload.extension_attributes = content.extension_attributes
    }

    // Send event data to a third-party ERP system
    sendOrderToErpSystem(event_payload)
      
    return {
      statusCode: 200,
      body: event_payload
    }
  } catch (error) {
    // log any server errors
    logger.error(error)
    // return with 500
    return errorResponse(500, 'server error', logger)
  }
}
  
exports.main = main
