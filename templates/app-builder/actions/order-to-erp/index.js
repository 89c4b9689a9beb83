/*
 * An I/O Runtime action, invoked by Adobe I/O Events for every saved order (app.config.yaml binds
 * it to com.adobe.commerce.observer.sales_order_save_after). The CloudEvent's fields are its
 * params: the order is params.data.value, the event id params.eventid.
 *
 * What the result means, on I/O Runtime as under storehook: a 2xx is done; a throw, a 429 or a
 * 5xx is retried (storehook: with backoff for days, not I/O Events' 24 h); any other 4xx is
 * dropped (storehook: kept as a dead run, to replay). So the ERP call is awaited, and its failure
 * thrown: an order is never lost after a 200.
 */

/**
 * @param {import('storehook').CommerceCloudEvent<import('storehook').CommerceOrderData> & { ERP_URL: string }} params
 *   the CloudEvent (the order in data.value, with the fields the Commerce subscription lists) and the inputs
 */
async function main (params) {
  const order = params.data && params.data.value
  if (!order || !order.increment_id) {
    return { statusCode: 400, body: { error: 'the event holds no order (data.value.increment_id)' } }
  }
  const response = await fetch(`${params.ERP_URL}/orders`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      // The same on every redelivery and retry of this event: the ERP can drop repeats.
      'idempotency-key': `order-to-erp:${params.eventid}`
    },
    body: JSON.stringify(order)
  })
  if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
    // The ERP refuses this order as it is: retrying cannot help.
    return { statusCode: 422, body: { error: `the ERP refused order ${order.increment_id}: HTTP ${response.status}` } }
  }
  if (!response.ok) throw new Error(`the ERP answered ${response.status} for order ${order.increment_id}`)
  return { statusCode: 200, body: { sent: order.increment_id } }
}

exports.main = main
