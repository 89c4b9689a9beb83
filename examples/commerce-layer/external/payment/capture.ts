// POST /external/payment/capture: the gateway's capture_url; receives the authorization.
import { commerceLayer } from 'storehook'
import { follow, gatewayOptions } from './_invoice.ts'

export default commerceLayer.payment.capture((authorization) => follow(authorization, 'capture'), gatewayOptions)
