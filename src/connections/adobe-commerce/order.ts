/**
 * @module
 * The order as `GET /V1/orders/{id}` returns it (Magento `SalesOrderRepositoryV1`), typed for the
 * fields integrations read most; every other field is still there, as `unknown`.
 */

/** `extension_attributes` of an order: what the `observer.sales_order_save_after` payload lacks. */
export interface CommerceOrderExtensionAttributes {
  shipping_assignments?: {
    shipping?: { address?: Record<string, unknown>; method?: string; total?: Record<string, unknown> }
    items?: Record<string, unknown>[]
  }[]
  payment_additional_info?: { key: string; value: string }[]
  applied_taxes?: Record<string, unknown>[]
  item_applied_taxes?: Record<string, unknown>[]
  converting_from_quote?: boolean
  /** Attributes added by installed modules. */
  [attribute: string]: unknown
}

export interface CommerceOrderItem {
  item_id?: number
  sku: string
  name?: string
  qty_ordered?: number
  price?: number
  row_total?: number
  product_id?: number
  [field: string]: unknown
}

export interface CommerceOrder {
  entity_id: number
  increment_id: string
  state?: string
  status?: string
  created_at?: string
  updated_at?: string
  store_id?: number
  customer_email?: string
  customer_firstname?: string
  customer_lastname?: string
  grand_total?: number
  subtotal?: number
  order_currency_code?: string
  items?: CommerceOrderItem[]
  billing_address?: Record<string, unknown>
  payment?: Record<string, unknown>
  extension_attributes?: CommerceOrderExtensionAttributes
  [field: string]: unknown
}
