/**
 * @module
 * The Commerce Layer resources external resource handlers receive, denormalized by `parseJsonApi`.
 * Only the fields handlers commonly read are typed, all optional (sparse fieldsets and
 * `external_includes` decide what is sent); every other attribute is there too, as `unknown`.
 * Field names are Commerce Layer's (`@commercelayer/sdk` 7.x resources).
 */
import type { Resource } from './json-api.ts'

export interface Market extends Resource {
  name?: string
  code?: string | null
  reference?: string | null
}

export interface Sku extends Resource {
  code?: string
  name?: string
}

export interface Customer extends Resource {
  email?: string
  customer_tags?: Resource[]
  tags?: Resource[]
}

export interface Address extends Resource {
  first_name?: string | null
  last_name?: string | null
  company?: string | null
  line_1?: string
  line_2?: string | null
  city?: string
  zip_code?: string | null
  state_code?: string
  country_code?: string
}

export interface LineItem extends Resource {
  sku_code?: string | null
  bundle_code?: string | null
  quantity?: number
  currency_code?: string | null
  unit_amount_cents?: number | null
  total_amount_cents?: number
  tax_amount_cents?: number
  item_type?: string
  name?: string | null
  _external_price?: boolean
  order?: Order
  item?: Sku | Resource
}

export interface Order extends Resource {
  number?: string
  status?: string
  currency_code?: string | null
  customer_email?: string | null
  coupon_code?: string | null
  language_code?: string | null
  subtotal_amount_cents?: number
  shipping_amount_cents?: number
  total_amount_cents?: number
  total_amount_with_taxes_cents?: number
  market?: Market
  customer?: Customer
  line_items?: LineItem[]
  shipping_address?: Address
  billing_address?: Address
  shipments?: Shipment[]
}

export interface ShippingMethod extends Resource {
  name?: string
  scheme?: string
  currency_code?: string | null
  price_amount_cents?: number
}

export interface Shipment extends Resource {
  number?: string
  status?: string
  currency_code?: string | null
  cost_amount_cents?: number
  skus_count?: number
  order?: Order
  shipping_method?: ShippingMethod
  shipping_address?: Address
}

/** The payment source of an external gateway: what `authorize` receives. */
export interface ExternalPayment extends Resource {
  payment_source_token?: string
  options?: Record<string, unknown>
  order?: Order
}

/** A payment transaction: what `capture` and `void` (an authorization) and `refund` (a capture) receive. */
export interface Transaction extends Resource {
  number?: string
  currency_code?: string
  amount_cents?: number
  succeeded?: boolean
  token?: string | null
  gateway_transaction_id?: string | null
  order?: Order
}

/** What `customerToken` receives: UNVERIFIED (the reference names no resource type). */
export interface CustomerPaymentSource extends Resource {
  customer_token?: string
  payment_source_token?: string
  customer?: Customer
}
