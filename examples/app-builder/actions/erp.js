/*
 * The ERP the seed action sends orders to: its `sendOrderToErpSystem(order)` is the seed's one
 * call, with the order as its only argument. The seed leaves this "custom module" to the reader;
 * here it POSTs the order as JSON to `<ERP_URL>/orders` with `got`, and rejects when the ERP does
 * not accept it (any non-2xx answer, a network error, or no answer within 10 s).
 *
 * Where the URL comes from: an App Builder action gets its configuration only as params (the
 * manifest's `inputs`); `process.env` holds no `.env` value on I/O Runtime, nor under storehook.
 * The seed's call passes no params, so the action's entry (order-consumer/entry.js) calls
 * `configure(params)` before it runs the seed. The URL is the same for every invocation of the
 * action, so keeping it at module level is safe even where invocations share a container.
 */
const got = require('got')
const { Core } = require('@adobe/aio-sdk')

const settings = { url: '', logLevel: 'info' }

/**
 * Takes the ERP's base URL (`ERP_URL`) and the log level from the action's params.
 *
 * @example
 * configure({ ERP_URL: 'https://erp.example.com', LOG_LEVEL: 'debug' })
 *
 * @param {{ ERP_URL?: string, LOG_LEVEL?: string }} params
 */
function configure (params) {
  settings.url = params.ERP_URL || ''
  settings.logLevel = params.LOG_LEVEL || 'info'
}

/**
 * Sends one order to the ERP; resolves with the ERP's JSON answer.
 *
 * @example
 * await sendOrderToErpSystem({ entity_id: 42, increment_id: '000000042', extension_attributes: {} })
 *
 * @param {object} order the order, as the event delivered it, with its extension_attributes
 * @returns {Promise<object>}
 */
async function sendOrderToErpSystem (order) {
  const logger = Core.Logger('erp', { level: settings.logLevel })
  if (!settings.url) {
    throw new Error('ERP_URL is empty: set it in .env (the order-consumer action takes it as its ERP_URL input)')
  }
  const url = settings.url.replace(/\/+$/, '') + '/orders'
  try {
    // No retry here: a failed send fails the invocation, and storehook retries the whole run.
    const answer = await got.post(url, { json: order, responseType: 'json', timeout: 10000, retry: 0 }).json()
    logger.info(`order ${order.entity_id} sent to the ERP`)
    return answer
  } catch (error) {
    throw new Error(`the ERP at ${url} did not take order ${order.entity_id}: ${error.message}`)
  }
}

module.exports = { configure, sendOrderToErpSystem }
