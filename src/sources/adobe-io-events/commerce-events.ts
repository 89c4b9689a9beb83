/**
 * @module
 * The Adobe Commerce events Adobe I/O Events delivers, typed: the CloudEvent envelope
 * (shared/reference/adobe-commerce.md §3.1), which an action gets as `event.payload`, and the
 * entity in its `data.value` for the common events, so that `event.payload.data.value.entity_id`
 * autocompletes in an action subscribed to `observer.sales_order_save_after`.
 *
 * What these types can promise, and what not:
 * - Commerce sends only the fields the event subscription lists (`io_events.xml`,
 *   `bin/magento events:subscribe --fields=…`, `*` for all; §4.2), so every field is optional;
 *   fields not typed here (custom attributes, those of installed modules) are there as `unknown`.
 * - Field names are the Magento entity's data keys: the sales order's from Adobe's SaaS events
 *   reference (§4.4), the others from the Magento tables behind them (UNVERIFIED against a live
 *   instance). The `*_commit_after` variants carry the same entity.
 * - Numbers arrive as JSON numbers or as numeric strings (a model loaded from the database holds
 *   its columns as strings): see {@link CommerceNumber}.
 */

/** A number as Commerce sends it: `42` or `"42"`, `107.43` or `"107.4300"`. Use `Number(value)` before arithmetic. */
export type CommerceNumber = number | string

/** What every entity's data may hold besides its own fields: fields Commerce adds on request, and those of installed modules. */
export interface CommerceEntityData {
  /** The values before the save, when the subscription lists `_origData`. */
  _origData?: Record<string, unknown>
  /** Whether the save created the entity, on the events that support it. */
  _isNew?: boolean
  /** Attributes added by installed modules; Commerce usually leaves them out (fetch the entity over REST). */
  extension_attributes?: { [attribute: string]: unknown } | null
  custom_attributes?: { attribute_code: string; value: unknown }[]
  [field: string]: unknown
}

/** `data._metadata`: the Commerce instance that sent the event. */
export interface CommerceEventMetadata {
  commerceEdition?: string
  commerceVersion?: string
  eventsClientVersion?: string
  storeId?: string
  websiteId?: string
  storeGroupId?: string
  [field: string]: unknown
}

/**
 * One Adobe Commerce event as Adobe I/O Events delivers it: what `event.payload` holds in an
 * action consuming an `adobe-io-events` source, and `params` in an App Builder action.
 *
 * @example
 * export default onEvent('observer.sales_order_save_after', async (event) => {
 *   const order = event.payload.data.value // CommerceOrderData
 *   console.log(order.increment_id, order.items?.map((item) => item.sku))
 * })
 */
export interface CommerceCloudEvent<Value = CommerceEntityData> {
  specversion?: string
  /** The CloudEvent's id. */
  id?: string
  /** `urn:uuid:<provider id>`. */
  source?: string
  /** The event code as sent: `com.adobe.commerce.observer.sales_order_save_after` (the action's event type has it without the prefix). */
  type: string
  datacontenttype?: string
  /** When I/O Events received it (ISO 8601). */
  time?: string
  /** The event id, stable across redeliveries: storehook's event id. */
  eventid?: string
  /** Deprecated by Adobe (removed by the end of 2026): `eventid`. */
  event_id?: string
  /** The client id the delivery is for: the source's `clientId`. */
  recipientclientid?: string
  /** Deprecated by Adobe (removed by the end of 2026): `recipientclientid`. */
  recipient_client_id?: string
  data: {
    /** A UUID of this event's data. */
    key?: string
    /** The entity: the fields the subscription lists. */
    value: Value
    /** The Commerce instance: `<merchant id>.<environment id>`. */
    source?: string
    _metadata?: CommerceEventMetadata
  }
  [field: string]: unknown
}

/** A line of an order (`sales_order_item`). */
export interface CommerceOrderItemData {
  item_id?: CommerceNumber
  order_id?: CommerceNumber
  parent_item_id?: CommerceNumber | null
  quote_item_id?: CommerceNumber
  product_id?: CommerceNumber
  product_type?: string
  sku?: string
  name?: string
  qty_ordered?: CommerceNumber
  qty_invoiced?: CommerceNumber
  qty_shipped?: CommerceNumber
  qty_refunded?: CommerceNumber
  qty_canceled?: CommerceNumber
  price?: CommerceNumber
  base_price?: CommerceNumber
  original_price?: CommerceNumber
  row_total?: CommerceNumber
  base_row_total?: CommerceNumber
  tax_amount?: CommerceNumber
  tax_percent?: CommerceNumber
  discount_amount?: CommerceNumber
  weight?: CommerceNumber
  [field: string]: unknown
}

/** An order's billing or shipping address (`sales_order_address`). */
export interface CommerceOrderAddressData {
  entity_id?: CommerceNumber
  parent_id?: CommerceNumber
  /** `shipping` or `billing`. */
  address_type?: string
  firstname?: string
  lastname?: string
  company?: string | null
  street?: string
  city?: string
  region?: string | null
  region_id?: CommerceNumber | null
  region_code?: string | null
  postcode?: string
  country_id?: string
  telephone?: string
  email?: string
  [field: string]: unknown
}

/** An order's payment (`sales_order_payment`). */
export interface CommerceOrderPaymentData {
  entity_id?: CommerceNumber
  parent_id?: CommerceNumber
  /** The payment method's code: `checkmo`, `braintree`, … */
  method?: string
  amount_ordered?: CommerceNumber
  base_amount_ordered?: CommerceNumber
  amount_paid?: CommerceNumber
  amount_authorized?: CommerceNumber
  cc_last4?: string | null
  cc_type?: string | null
  last_trans_id?: string | null
  additional_information?: unknown
  [field: string]: unknown
}

/** `data.value` of `observer.sales_order_save_after`: the sales order (`sales_order`). */
export interface CommerceOrderData extends CommerceEntityData {
  /** The order's id, for `GET /V1/orders/{entity_id}`: list it in the subscription's fields (§4.4). */
  entity_id?: CommerceNumber
  /** What the `*_commit_after` subscriptions of Adobe's starter kit list instead of `entity_id`. */
  id?: CommerceNumber
  /** The order number the shopper sees: `000000042`. */
  increment_id?: string
  state?: string
  status?: string
  store_id?: CommerceNumber
  quote_id?: CommerceNumber
  customer_id?: CommerceNumber | null
  customer_email?: string
  customer_firstname?: string | null
  customer_lastname?: string | null
  customer_group_id?: CommerceNumber
  customer_is_guest?: CommerceNumber | boolean
  customer_note?: string | null
  order_currency_code?: string
  base_currency_code?: string
  subtotal?: CommerceNumber
  base_subtotal?: CommerceNumber
  shipping_amount?: CommerceNumber
  base_shipping_amount?: CommerceNumber
  tax_amount?: CommerceNumber
  base_tax_amount?: CommerceNumber
  discount_amount?: CommerceNumber
  base_discount_amount?: CommerceNumber
  grand_total?: CommerceNumber
  base_grand_total?: CommerceNumber
  total_paid?: CommerceNumber
  total_due?: CommerceNumber
  total_invoiced?: CommerceNumber
  total_refunded?: CommerceNumber
  total_qty_ordered?: CommerceNumber
  total_item_count?: CommerceNumber
  weight?: CommerceNumber
  coupon_code?: string | null
  shipping_method?: string
  shipping_description?: string
  created_at?: string
  updated_at?: string
  items?: CommerceOrderItemData[]
  addresses?: CommerceOrderAddressData[]
  payment?: CommerceOrderPaymentData
  status_histories?: { comment?: string | null; status?: string; is_customer_notified?: CommerceNumber | null; created_at?: string; [field: string]: unknown }[]
  tracking_numbers?: string[]
}

/** A line of an invoice, a shipment or a credit memo: the order line it refers to, and how much of it. */
export interface CommerceDocumentItemData {
  entity_id?: CommerceNumber
  /** The invoice's, shipment's or credit memo's entity_id. */
  parent_id?: CommerceNumber
  order_item_id?: CommerceNumber
  product_id?: CommerceNumber
  sku?: string
  name?: string
  qty?: CommerceNumber
  price?: CommerceNumber
  row_total?: CommerceNumber
  tax_amount?: CommerceNumber
  discount_amount?: CommerceNumber
  weight?: CommerceNumber
  [field: string]: unknown
}

/** `data.value` of `observer.sales_order_invoice_save_after`: an invoice (`sales_invoice`). */
export interface CommerceInvoiceData extends CommerceEntityData {
  entity_id?: CommerceNumber
  increment_id?: string
  /** The order's entity_id. */
  order_id?: CommerceNumber
  store_id?: CommerceNumber
  /** 1 open, 2 paid, 3 canceled. */
  state?: CommerceNumber
  grand_total?: CommerceNumber
  base_grand_total?: CommerceNumber
  subtotal?: CommerceNumber
  tax_amount?: CommerceNumber
  shipping_amount?: CommerceNumber
  discount_amount?: CommerceNumber
  total_qty?: CommerceNumber
  order_currency_code?: string
  base_currency_code?: string
  transaction_id?: string | null
  billing_address_id?: CommerceNumber | null
  shipping_address_id?: CommerceNumber | null
  created_at?: string
  updated_at?: string
  items?: CommerceDocumentItemData[]
}

/** A tracking number of a shipment (`sales_shipment_track`). */
export interface CommerceShipmentTrackData {
  entity_id?: CommerceNumber
  parent_id?: CommerceNumber
  order_id?: CommerceNumber
  track_number?: string
  title?: string
  carrier_code?: string
  created_at?: string
  [field: string]: unknown
}

/** `data.value` of `observer.sales_order_shipment_save_after`: a shipment (`sales_shipment`). */
export interface CommerceShipmentData extends CommerceEntityData {
  entity_id?: CommerceNumber
  increment_id?: string
  /** The order's entity_id. */
  order_id?: CommerceNumber
  store_id?: CommerceNumber
  customer_id?: CommerceNumber | null
  total_qty?: CommerceNumber
  total_weight?: CommerceNumber | null
  shipment_status?: CommerceNumber | null
  shipping_address_id?: CommerceNumber | null
  billing_address_id?: CommerceNumber | null
  created_at?: string
  updated_at?: string
  items?: CommerceDocumentItemData[]
  tracks?: CommerceShipmentTrackData[]
}

/** `data.value` of `observer.sales_order_creditmemo_save_after`: a refund (`sales_creditmemo`). */
export interface CommerceCreditmemoData extends CommerceEntityData {
  entity_id?: CommerceNumber
  increment_id?: string
  order_id?: CommerceNumber
  invoice_id?: CommerceNumber | null
  store_id?: CommerceNumber
  /** 1 open, 2 refunded, 3 canceled. */
  state?: CommerceNumber
  grand_total?: CommerceNumber
  subtotal?: CommerceNumber
  adjustment?: CommerceNumber
  shipping_amount?: CommerceNumber
  tax_amount?: CommerceNumber
  order_currency_code?: string
  created_at?: string
  updated_at?: string
  items?: CommerceDocumentItemData[]
}

/** `data.value` of `observer.catalog_product_save_after`: a product (`catalog_product_entity` and its attributes). */
export interface CommerceProductData extends CommerceEntityData {
  entity_id?: CommerceNumber
  /** What Adobe's starter kit subscriptions list instead of `entity_id`. */
  id?: CommerceNumber
  sku?: string
  name?: string
  /** `simple`, `configurable`, `bundle`, `virtual`, … */
  type_id?: string
  attribute_set_id?: CommerceNumber
  /** 1 enabled, 2 disabled. */
  status?: CommerceNumber
  visibility?: CommerceNumber
  price?: CommerceNumber
  special_price?: CommerceNumber | null
  cost?: CommerceNumber | null
  weight?: CommerceNumber | null
  url_key?: string
  description?: string | null
  short_description?: string | null
  store_id?: CommerceNumber
  website_ids?: CommerceNumber[]
  category_ids?: CommerceNumber[]
  stock_data?: { qty?: CommerceNumber; is_in_stock?: CommerceNumber | boolean; [field: string]: unknown }
  created_at?: string
  updated_at?: string
}

/** `data.value` of `observer.customer_save_after`: a customer account (`customer_entity`). */
export interface CommerceCustomerData extends CommerceEntityData {
  entity_id?: CommerceNumber
  /** What Adobe's starter kit subscriptions list instead of `entity_id`. */
  id?: CommerceNumber
  email?: string
  firstname?: string
  middlename?: string | null
  lastname?: string
  dob?: string | null
  gender?: CommerceNumber | null
  taxvat?: string | null
  group_id?: CommerceNumber
  store_id?: CommerceNumber
  website_id?: CommerceNumber
  default_billing?: CommerceNumber | null
  default_shipping?: CommerceNumber | null
  is_active?: CommerceNumber | boolean
  created_in?: string
  created_at?: string
  updated_at?: string
}

/** `data.value` of `observer.cataloginventory_stock_item_save_after`: a product's stock (`cataloginventory_stock_item`). */
export interface CommerceStockItemData extends CommerceEntityData {
  item_id?: CommerceNumber
  product_id?: CommerceNumber
  stock_id?: CommerceNumber
  website_id?: CommerceNumber
  qty?: CommerceNumber
  is_in_stock?: CommerceNumber | boolean
  min_sale_qty?: CommerceNumber
  max_sale_qty?: CommerceNumber
  backorders?: CommerceNumber
  manage_stock?: CommerceNumber | boolean
  low_stock_date?: string | null
}

/** `data.value` by event type (the code without `com.adobe.commerce.`, as actions subscribe to it). */
export interface CommerceEventValues {
  'observer.sales_order_save_after': CommerceOrderData
  'observer.sales_order_save_commit_after': CommerceOrderData
  'observer.sales_order_invoice_save_after': CommerceInvoiceData
  'observer.sales_order_invoice_save_commit_after': CommerceInvoiceData
  'observer.sales_order_shipment_save_after': CommerceShipmentData
  'observer.sales_order_shipment_save_commit_after': CommerceShipmentData
  'observer.sales_order_creditmemo_save_after': CommerceCreditmemoData
  'observer.sales_order_creditmemo_save_commit_after': CommerceCreditmemoData
  'observer.catalog_product_save_after': CommerceProductData
  'observer.catalog_product_save_commit_after': CommerceProductData
  'observer.catalog_product_delete_after': CommerceProductData
  'observer.catalog_product_delete_commit_after': CommerceProductData
  'observer.customer_save_after': CommerceCustomerData
  'observer.customer_save_commit_after': CommerceCustomerData
  'observer.customer_delete_commit_after': CommerceCustomerData
  'observer.cataloginventory_stock_item_save_after': CommerceStockItemData
  'observer.cataloginventory_stock_item_save_commit_after': CommerceStockItemData
}

/** The CloudEvent an action gets as `event.payload`, by event type. */
export type CommerceEvents = { [Type in keyof CommerceEventValues]: CommerceCloudEvent<CommerceEventValues[Type]> }
