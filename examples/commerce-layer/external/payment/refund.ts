// POST /external/payment/refund: the gateway's refund_url; receives the capture.
import { commerceLayer } from 'storehook'
import { follow, gatewayOptions } from './_invoice.ts'

export default commerceLayer.payment.refund((capture) => follow(capture, 'refund'), gatewayOptions)
