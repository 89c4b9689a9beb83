/**
 * @module
 * What each kind's answer does to the order, and what Commerce Layer's API answers the call that
 * caused it (reference/commerce-layer.md §3, §4):
 * - price: success reprices the line item; any failure is a 422 to the API caller, line item unchanged;
 * - order-validation: `validations_count` always grows; a business error (≥400 with messages) is a
 *   422 with those messages; a timeout, 5xx or open circuit is a 200 with no errors;
 * - shipping: success sets the shipment's cost; a failure keeps the method's default price, 200;
 * - promotion, tax: success applies; a failure is skipped, 200 (tax: UNVERIFIED, the general rule);
 * - payment: success records a succeeded transaction, `202` + `action_id` a pending one; a timeout,
 *   5xx or open circuit records a failed transaction with a 200; a business error records a failed
 *   transaction with a 422 (UNVERIFIED: the status the API then gives).
 */
import type { CallTarget, ExternalKind, PaymentAction } from './kinds.ts'
import type { ResourceStore, StoredResource } from './store.ts'

export type Failure = 'timeout' | 'network' | 'server-error' | 'invalid-response' | 'business-error' | 'circuit-open' | 'no-url'

/** The endpoint's answer, judged. */
export type Verdict =
  | { ok: true; status: number; json: Record<string, unknown> }
  | { ok: false; failure: Failure; message: string; status?: number; json?: Record<string, unknown> }

/** What the API answers the call that triggered the external one (`PATCH orders/:id {_validate}`, …). */
export interface ApiAnswer {
  status: number
  body: unknown
}

export interface Outcome {
  api: ApiAnswer
  /** What changed, by kind: `{ unit_amount_cents }`, `{ transaction }`, `{ errors }`, `{ skipped: true }`, … */
  effect: Record<string, unknown>
}

export interface OutcomeContext {
  store: ResourceStore
  kind: ExternalKind
  action: PaymentAction | undefined
  target: CallTarget
  /** The API's JSON:API document for a resource. */
  document(resource: StoredResource): unknown
}

const isCents = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0
const isRate = (value: unknown): value is number => typeof value === 'number' && value >= 0 && value <= 1

/**
 * Why a successful answer cannot be used, or `undefined` when it can. The checks are those the
 * reference states (amounts as non-negative integer cents, rates within 0–1, the promotion's
 * all-or-none rule); anything else is accepted.
 */
export function invalidSuccess(kind: ExternalKind, action: PaymentAction | undefined, json: Record<string, unknown>): string | undefined {
  const data = (json.data ?? {}) as Record<string, unknown>
  if (typeof data !== 'object' || data === null) return '`data` is not an object'
  switch (kind) {
    case 'price':
      if (!isCents(data.unit_amount_cents)) return '`data.unit_amount_cents` must be a non-negative integer'
      if (data.compare_at_amount_cents !== undefined && data.compare_at_amount_cents !== null && !isCents(data.compare_at_amount_cents)) return '`data.compare_at_amount_cents` must be a non-negative integer'
      return undefined
    case 'promotion': {
      if (data.discount_cents !== undefined && !isCents(data.discount_cents)) return '`data.discount_cents` must be a non-negative integer'
      const items = Array.isArray(data.line_items) ? (data.line_items as Record<string, unknown>[]) : []
      const withAmount = items.filter((item) => item?.discount_cents !== undefined).length
      if (withAmount !== 0 && withAmount !== items.length) return '`discount_cents` must be given for all line items or for none'
      return items.every((item) => item?.discount_cents === undefined || isCents(item.discount_cents)) ? undefined : 'a line item `discount_cents` must be a non-negative integer'
    }
    case 'tax': {
      if (data.tax_rate !== undefined && !isRate(data.tax_rate)) return '`data.tax_rate` must be within 0–1'
      const items = Array.isArray(data.line_items) ? (data.line_items as Record<string, unknown>[]) : []
      return items.every((item) => item?.tax_rate === undefined || isRate(item.tax_rate)) ? undefined : 'a line item `tax_rate` must be within 0–1'
    }
    case 'payment':
      if (action !== 'token' && (typeof data.transaction_token !== 'string' || data.transaction_token === '')) return '`data.transaction_token` is required'
      if (data.amount_cents !== undefined && !isCents(data.amount_cents)) return '`data.amount_cents` must be a non-negative integer'
      return undefined
    default:
      return undefined
  }
}

/** Applies a judged answer; see the module comment for each kind. */
export function applyOutcome(context: OutcomeContext, verdict: Verdict): Outcome {
  const { store, target } = context
  const data = verdict.json && typeof verdict.json.data === 'object' && verdict.json.data !== null ? (verdict.json.data as Record<string, unknown>) : {}
  const metadata = typeof data.metadata === 'object' && data.metadata !== null ? (data.metadata as Record<string, unknown>) : undefined
  const ok = (effect: Record<string, unknown>, resource = target.data): Outcome => ({ api: { status: 200, body: context.document(resource) }, effect })
  const skipped = (): Outcome => ok({ skipped: true })

  switch (context.kind) {
    case 'price': {
      if (!verdict.ok) return { api: unprocessable(verdict.message), effect: { skipped: true } }
      const unit = data.unit_amount_cents as number
      const compareAt = isCents(data.compare_at_amount_cents) && data.compare_at_amount_cents >= unit ? data.compare_at_amount_cents : unit
      const quantity = Number(target.data.attributes.quantity) || 1
      const changes = { unit_amount_cents: unit, unit_amount_float: unit / 100, compare_at_amount_cents: compareAt, total_amount_cents: unit * quantity }
      store.update(target.data, { ...changes, ...(metadata ? { metadata: { ...(target.data.attributes.metadata as object), ...metadata } } : {}) })
      return ok(changes)
    }
    case 'order-validation': {
      store.update(target.data, { validations_count: (Number(target.data.attributes.validations_count) || 0) + 1 })
      if (verdict.ok || verdict.failure !== 'business-error') return ok({ errors: [] })
      const errors = validationErrors(data, verdict.message)
      return { api: { status: 422, body: { errors } }, effect: { errors } }
    }
    case 'shipping': {
      const method = target.owner
      // UNVERIFIED field name: the docs' response block was not retrievable; the first cents field found is used.
      const amount = verdict.ok ? [data.cost_amount_cents, data.price_amount_cents, data.amount_cents].find(isCents) : undefined
      const cost = amount ?? (method.attributes.price_amount_cents as number)
      store.update(target.data, { cost_amount_cents: cost })
      return ok({ cost_amount_cents: cost, usedDefault: amount === undefined })
    }
    case 'promotion': {
      if (!verdict.ok) return skipped()
      const items = Array.isArray(data.line_items) ? (data.line_items as { id?: unknown; discount_cents?: unknown }[]) : []
      const perItem = items.reduce((sum, item) => sum + (isCents(item.discount_cents) ? item.discount_cents : 0), 0)
      const discount = isCents(data.discount_cents) ? data.discount_cents : perItem
      const order = target.data
      const promotionItem = store.add('line_items', { item_type: 'external_promotions', name: data.name ?? target.owner.attributes.name, quantity: 1, total_amount_cents: -discount, currency_code: order.attributes.currency_code }, { order: { type: 'orders', id: order.id }, item: { type: target.owner.type, id: target.owner.id } })
      store.link(order, 'line_items', { type: 'line_items', id: promotionItem.id })
      store.update(order, { discount_amount_cents: (Number(order.attributes.discount_amount_cents) || 0) - discount })
      return ok({ discount_cents: discount, line_items: items, lineItemId: promotionItem.id })
    }
    case 'tax':
      if (!verdict.ok) return skipped()
      return ok(applyTaxes(store, target.data, data))
    case 'payment':
      return payment(context, verdict, data, metadata)
  }
}

function payment(context: OutcomeContext, verdict: Verdict, data: Record<string, unknown>, metadata: Record<string, unknown> | undefined): Outcome {
  const { store, target } = context
  const action = context.action ?? 'authorize'
  const order = target.data.type === 'external_payments' || target.data.type === 'authorizations' || target.data.type === 'captures' ? store.follow(target.data, 'order')[0] : undefined
  if (action === 'token') {
    if (!verdict.ok) return { api: verdict.failure === 'business-error' ? unprocessable(verdict.message) : { status: 200, body: context.document(target.data) }, effect: { succeeded: false, message: verdict.message } }
    const token = data.payment_source_token ?? data.customer_token ?? data.transaction_token
    store.update(target.data, { payment_source_token: token ?? target.data.attributes.payment_source_token })
    return { api: { status: 200, body: context.document(target.data) }, effect: { succeeded: true, token } }
  }
  const type = { authorize: 'authorizations', capture: 'captures', void: 'voids', refund: 'refunds' }[action]
  const expected = Number(target.data.attributes.amount_cents ?? order?.attributes.total_amount_cents ?? 0)
  const error = (typeof data.error === 'object' && data.error !== null ? data.error : {}) as { code?: unknown; message?: unknown }
  const pending = verdict.ok && verdict.status === 202
  const attributes: Record<string, unknown> = {
    number: `${order?.attributes.number ?? '0'}/T/${String(store.list(type).length + 1).padStart(3, '0')}`,
    currency_code: order?.attributes.currency_code ?? 'EUR',
    amount_cents: isCents(data.amount_cents) ? data.amount_cents : expected,
    succeeded: verdict.ok && !pending,
    message: verdict.ok ? (pending ? 'Pending' : 'Success') : verdict.message,
    error_code: verdict.ok ? null : typeof error.code === 'string' ? error.code : verdict.failure.toUpperCase().replaceAll('-', '_'),
    error_detail: verdict.ok ? null : verdict.message,
    token: typeof data.transaction_token === 'string' ? data.transaction_token : null,
    action_id: typeof data.action_id === 'string' ? data.action_id : null,
    ...(metadata ? { metadata } : {}),
  }
  const transaction = store.add(type, attributes, order ? { order: { type: 'orders', id: order.id } } : {})
  if (order) {
    store.link(order, type, { type, id: transaction.id })
    if (attributes.succeeded) store.update(order, { payment_status: { authorize: 'authorized', capture: 'paid', void: 'voided', refund: 'refunded' }[action] })
  }
  const effect = { transaction: { type, id: transaction.id, ...attributes } }
  if (!verdict.ok && verdict.failure === 'business-error') return { api: unprocessable(verdict.message), effect }
  return { api: { status: 200, body: context.document(transaction) }, effect }
}

/** Tax precedence (reference §3.7): a line's `tax_collectable` (major units), its `tax_rate`, then the order's `tax_rate`. */
function applyTaxes(store: ResourceStore, order: StoredResource, data: Record<string, unknown>): Record<string, unknown> {
  const lines = new Map((Array.isArray(data.line_items) ? (data.line_items as Record<string, unknown>[]) : []).map((line) => [line.id, line]))
  const orderRate = isRate(data.tax_rate) ? data.tax_rate : undefined
  const included = order.attributes.tax_included === true
  let total = 0
  const taxed: Record<string, number> = {}
  for (const item of store.follow(order, 'line_items')) {
    if (item.attributes.item_type !== 'skus') continue
    const line = lines.get(item.id)
    const amount = Number(item.attributes.total_amount_cents) || 0
    const rate = isRate(line?.tax_rate) ? line.tax_rate : lines.size === 0 || line === undefined ? orderRate : undefined
    const cents =
      typeof line?.tax_collectable === 'number' ? Math.round(line.tax_collectable * 100)
      : rate === undefined ? 0
      : Math.round(included ? amount - amount / (1 + rate) : amount * rate)
    store.update(item, { tax_amount_cents: cents, tax_rate: rate ?? null })
    taxed[item.id] = cents
    total += cents
  }
  store.update(order, { total_tax_amount_cents: total, tax_rate: orderRate ?? null, freight_taxable: data.freight_taxable ?? null })
  return { total_tax_amount_cents: total, line_items: taxed }
}

/** An order validation's messages as the API's 422 lists them: one per attribute, then the general one. */
function validationErrors(data: Record<string, unknown>, message: string): Record<string, unknown>[] {
  const errors = Object.entries(data)
    .filter(([, value]) => typeof value === 'string' || Array.isArray(value))
    .flatMap(([attribute, value]) => (Array.isArray(value) ? value : [value]).map((text) => ({ title: String(text), detail: `${attribute} - ${String(text)}`, code: 'VALIDATION_ERROR', source: { pointer: `/data/attributes/${attribute}` }, status: '422' })))
  return errors.length > 0 ? errors : [{ title: message, detail: message, code: 'VALIDATION_ERROR', source: { pointer: '/data' }, status: '422' }]
}

function unprocessable(message: string): ApiAnswer {
  return { status: 422, body: { errors: [{ title: message, detail: message, code: 'VALIDATION_ERROR', source: { pointer: '/data' }, status: '422' }] } }
}
