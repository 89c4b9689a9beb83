/**
 * @module
 * The sample organization the simulator starts with: one market with a cart (a pending order with
 * two SKU line items, addresses, a customer with a tag, a shipment on an external shipping
 * method, an external payment on an external gateway, one authorization and one capture), an
 * external promotion and an external tax calculator. Attribute names and shapes follow the
 * Commerce Layer SDK's resources (reference/commerce-layer.md §3); values are plausible, not captured.
 */
import type { ResourceStore, StoredResource } from './store.ts'

/** The seeded resources, for tests to address by id. */
export interface SampleData {
  market: StoredResource
  customer: StoredResource
  order: StoredResource
  lineItems: StoredResource[]
  skus: StoredResource[]
  prices: StoredResource[]
  shipment: StoredResource
  shippingMethod: StoredResource
  paymentMethod: StoredResource
  externalGateway: StoredResource
  externalPayment: StoredResource
  authorization: StoredResource
  capture: StoredResource
  externalPromotion: StoredResource
  externalTaxCalculator: StoredResource
}

const CLOSED = { circuit_state: 'closed', circuit_failure_count: 0 } as const

export function seedSample(store: ResourceStore, sharedSecret: () => string, origin: string): SampleData {
  const ref = (resource: StoredResource) => ({ type: resource.type, id: resource.id })
  const taxCalculator = store.add('external_tax_calculators', { name: 'Acme Tax', tax_calculator_url: null, shared_secret: sharedSecret(), external_includes: null, ...CLOSED })
  const priceList = store.add('price_lists', { name: 'EUR Price List', code: 'EUR1', currency_code: 'EUR', tax_included: true })
  const market = store.add(
    'markets',
    {
      number: 1234,
      name: 'Europe',
      code: 'europe',
      facebook_pixel_id: null,
      checkout_url: null,
      external_prices_url: null,
      external_order_validation_url: null,
      shared_secret: sharedSecret(),
      private: false,
      disabled_at: null,
      external_includes: null,
    },
    { price_list: ref(priceList), tax_calculator: ref(taxCalculator) },
  )
  const tag = store.add('tags', { name: 'vip' })
  const customer = store.add('customers', { email: 'ann.lee@example.com', status: 'repeat', has_password: true, total_orders_count: 3 }, { customer_group: null, tags: [ref(tag)] })
  const address = {
    business: false,
    first_name: 'Ann',
    last_name: 'Lee',
    company: null,
    full_name: 'Ann Lee',
    line_1: 'Via Roma 1',
    line_2: null,
    city: 'Milano',
    zip_code: '20121',
    state_code: 'MI',
    country_code: 'IT',
    phone: '+39 02 1234567',
    full_address: 'Via Roma 1, 20121 Milano MI (IT) +39 02 1234567',
    email: 'ann.lee@example.com',
    notes: null,
    lat: null,
    lng: null,
  }
  const shippingAddress = store.add('addresses', address)
  const billingAddress = store.add('addresses', address)

  const catalog = [
    { code: 'TSHIRTMM000000FFFFFFXLXX', name: 'Black Men T-shirt with White Logo (XL)', amount: 2900, compareAt: 3500, quantity: 2 },
    { code: 'CAPBKSUNFFFFFF000000XXXX', name: 'Black Cap with White Logo', amount: 1900, compareAt: 1900, quantity: 1 },
  ]
  const skus = catalog.map((item) =>
    store.add('skus', { code: item.code, name: item.name, description: null, image_url: null, pieces_per_pack: null, weight: 200, unit_of_weight: 'gr', do_not_ship: false, do_not_track: false }),
  )
  const prices = catalog.map((item, index) =>
    store.add(
      'prices',
      { currency_code: 'EUR', sku_code: item.code, amount_cents: item.amount, amount_float: item.amount / 100, compare_at_amount_cents: item.compareAt, compare_at_amount_float: item.compareAt / 100 },
      { price_list: ref(priceList), sku: ref(skus[index] as StoredResource) },
    ),
  )

  const subtotal = catalog.reduce((sum, item) => sum + item.amount * item.quantity, 0)
  const shippingCost = 700
  const order = store.add(
    'orders',
    {
      number: 12345,
      status: 'pending',
      payment_status: 'unpaid',
      fulfillment_status: 'unfulfilled',
      guest: false,
      editable: true,
      customer_email: 'ann.lee@example.com',
      language_code: 'en',
      currency_code: 'EUR',
      tax_included: true,
      tax_rate: null,
      freight_taxable: null,
      country_code: 'IT',
      coupon_code: null,
      subtotal_amount_cents: subtotal,
      shipping_amount_cents: shippingCost,
      discount_amount_cents: 0,
      total_tax_amount_cents: 0,
      total_amount_cents: subtotal + shippingCost,
      skus_count: catalog.reduce((sum, item) => sum + item.quantity, 0),
      line_item_options_count: 0,
      shipments_count: 1,
      validations_count: 0,
      placed_at: null,
      ...CLOSED,
    },
    {
      market: ref(market),
      customer: ref(customer),
      shipping_address: ref(shippingAddress),
      billing_address: ref(billingAddress),
      payment_method: null,
      payment_source: null,
      line_items: [],
      shipments: [],
      order_subscriptions: [],
      authorizations: [],
      captures: [],
      voids: [],
      refunds: [],
    },
  )
  const lineItems = catalog.map((item, index) =>
    store.add(
      'line_items',
      {
        sku_code: item.code,
        bundle_code: null,
        quantity: item.quantity,
        currency_code: 'EUR',
        unit_amount_cents: item.amount,
        unit_amount_float: item.amount / 100,
        compare_at_amount_cents: item.compareAt,
        options_amount_cents: 0,
        discount_cents: 0,
        total_amount_cents: item.amount * item.quantity,
        tax_amount_cents: 0,
        tax_rate: null,
        name: item.name,
        image_url: null,
        item_type: 'skus',
        ...CLOSED,
      },
      { order: ref(order), item: ref(skus[index] as StoredResource) },
    ),
  )
  for (const lineItem of lineItems) store.link(order, 'line_items', ref(lineItem))

  const shippingMethod = store.add(
    'shipping_methods',
    {
      name: 'Express Delivery',
      scheme: 'external',
      currency_code: 'EUR',
      disabled_at: null,
      price_amount_cents: shippingCost,
      free_over_amount_cents: null,
      external_prices_url: null,
      shared_secret: sharedSecret(),
      external_includes: null,
      ...CLOSED,
    },
    { market: ref(market) },
  )
  const shipment = store.add(
    'shipments',
    { number: '12345/S/001', status: 'draft', currency_code: 'EUR', cost_amount_cents: shippingCost, skus_count: 3, selected_rate_id: null },
    { order: ref(order), shipping_method: ref(shippingMethod) },
  )
  store.link(order, 'shipments', ref(shipment))

  const externalGateway = store.add('external_gateways', {
    name: 'Acme Pay',
    force_payments: false,
    disabled_at: null,
    authorize_url: null,
    capture_url: null,
    void_url: null,
    refund_url: null,
    token_url: null,
    shared_secret: sharedSecret(),
    external_includes: null,
    ...CLOSED,
  })
  // Where the gateway posts asynchronous payment updates (reference §3.4); the simulator serves it.
  externalGateway.attributes.webhook_endpoint_url = `${origin}/webhook_callbacks/external_gateways/${externalGateway.id}`
  const paymentMethod = store.add('payment_methods', { payment_source_type: 'external_payments', currency_code: 'EUR', price_amount_cents: 0 }, { market: ref(market), payment_gateway: ref(externalGateway) })
  const externalPayment = store.add(
    'external_payments',
    { payment_source_token: 'tok_sim_4242', options: {}, payment_instrument: { issuer_type: 'card', card_type: 'visa', last4: '4242' } },
    { order: ref(order), payment_gateway: ref(externalGateway) },
  )
  order.relationships.payment_method = ref(paymentMethod)
  order.relationships.payment_source = ref(externalPayment)
  const total = order.attributes.total_amount_cents as number
  const authorization = store.add(
    'authorizations',
    { number: '12345/T/001', currency_code: 'EUR', amount_cents: total, succeeded: true, message: 'Success', token: 'txn_auth_sim_1', gateway_transaction_id: 'gw_auth_sim_1', capture_amount_cents: 0, void_balance_cents: total },
    { order: ref(order), payment_source: ref(externalPayment) },
  )
  const capture = store.add(
    'captures',
    { number: '12345/T/002', currency_code: 'EUR', amount_cents: total, succeeded: true, message: 'Success', token: 'txn_capture_sim_1', gateway_transaction_id: 'gw_capture_sim_1', refund_balance_cents: total },
    { order: ref(order), reference_authorization: ref(authorization) },
  )
  store.link(order, 'authorizations', ref(authorization))
  store.link(order, 'captures', ref(capture))

  const externalPromotion = store.add(
    'external_promotions',
    {
      name: 'Birthday promotion',
      currency_code: 'EUR',
      starts_at: '2026-01-01T00:00:00.000Z',
      expires_at: '2027-01-01T00:00:00.000Z',
      total_usage_limit: null,
      total_usage_count: 0,
      active: true,
      promotion_url: null,
      shared_secret: sharedSecret(),
      external_includes: null,
      ...CLOSED,
    },
    { market: ref(market) },
  )

  return { market, customer, order, lineItems, skus, prices, shipment, shippingMethod, paymentMethod, externalGateway, externalPayment, authorization, capture, externalPromotion, externalTaxCalculator: taxCalculator }
}
