// POST /external/payment/void: the gateway's void_url; receives the authorization.
import { commerceLayer } from 'storehook'
import { follow, gatewayOptions } from './_invoice.ts'

export default commerceLayer.payment.void((authorization) => follow(authorization, 'void'), gatewayOptions)
