/**
 * @module
 * The simulator's REST API, `/api/*`, as Commerce Layer serves it (reference/commerce-layer.md §6):
 * rate limits first (429 with the `X-Ratelimit-*` headers), then `Accept: application/vnd.api+json`
 * (406), the bearer token (401), `Content-Type: application/vnd.api+json` on writes (415).
 * Resources: lists and single reads of the seeded types with `include`, `fields`, `filter[q]`,
 * `sort` and `page`; `POST line_items` (with `_external_price`, which calls the external price);
 * `PATCH` with the triggers `_reset_circuit`, `_validate` and `_update_taxes` (orders),
 * `_external_price` (line items), `_trigger` (events), `_disable`/`_enable`; `DELETE line_items`
 * and `webhooks`. Error bodies are JSON:API `errors`; their wording is UNVERIFIED.
 */
import { resetCircuit } from './breaker.ts'
import type { ExternalCallRecord, ExternalCallOptions } from './external.ts'
import type { ExternalKind } from './kinds.ts'
import type { TokenIssuer } from './oauth.ts'
import { isCacheable, type RateLimits, type SlidingWindows } from './rate-limit.ts'
import type { ResourceStore, StoredResource } from './store.ts'

export const JSON_API = 'application/vnd.api+json'

export interface ApiRequest {
  method: string
  /** The path after `/api/`, e.g. `orders/xYZkjABcde`. */
  path: string
  query: URLSearchParams
  accept: string | undefined
  contentType: string | undefined
  authorization: string | undefined
  body: string
}

export interface ApiResponse {
  status: number
  body?: unknown
  headers: Record<string, string>
}

export interface ApiContext {
  store: ResourceStore
  origin: string
  issuer: TokenIssuer
  windows: SlidingWindows
  limits: RateLimits
  now(): number
  callExternal(kind: ExternalKind, options: ExternalCallOptions): Promise<ExternalCallRecord>
  /** Sends the `events` resource's last payload again to its webhooks (in the background, as the API does). */
  retrigger(event: StoredResource): void
}

/** The types the API serves. */
const READABLE = new Set([
  'orders', 'line_items', 'skus', 'prices', 'price_lists', 'markets', 'customers', 'addresses', 'shipments', 'shipping_methods', 'payment_methods',
  'external_gateways', 'external_payments', 'external_promotions', 'external_tax_calculators', 'webhooks', 'events', 'event_callbacks',
  'authorizations', 'captures', 'voids', 'refunds', 'tags',
])
/** Types that carry `circuit_state` / `circuit_failure_count` (reference §2). */
const BREAKER_OWNERS = new Set(['external_gateways', 'external_promotions', 'external_tax_calculators', 'shipping_methods', 'webhooks', 'line_items', 'orders'])
/** Plain attributes a PATCH may change, by type; anything else starting with `_` is a trigger. */
const WRITABLE: Record<string, readonly string[]> = {
  orders: ['customer_email', 'language_code', 'coupon_code', 'reference', 'metadata'],
  line_items: ['quantity', 'name', 'reference', 'metadata'],
  webhooks: ['name', 'callback_url', 'include_resources', 'reference', 'metadata'],
  external_gateways: ['name', 'authorize_url', 'capture_url', 'void_url', 'refund_url', 'token_url', 'external_includes', 'metadata'],
  external_promotions: ['name', 'promotion_url', 'external_includes', 'metadata'],
  external_tax_calculators: ['name', 'tax_calculator_url', 'external_includes', 'metadata'],
  shipping_methods: ['name', 'external_prices_url', 'external_includes', 'metadata'],
  markets: ['external_prices_url', 'external_order_validation_url', 'external_includes', 'metadata'],
  skus: ['name', 'description', 'metadata'],
}

export function apiError(status: number, code: string, title: string, detail: string, extra: Record<string, unknown> = {}): { errors: Record<string, unknown>[] } {
  return { errors: [{ title, detail, code, status: String(status), ...extra }] }
}

/**
 * Answers one `/api/*` request.
 *
 * @example
 * await handleApi(context, { method: 'GET', path: 'skus', query: new URLSearchParams('page[size]=5'), accept: JSON_API, contentType: undefined, authorization: `Bearer ${token}`, body: '' })
 */
export async function handleApi(context: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const [type = '', id, extra] = request.path.split('/')
  const cls = isCacheable(request.method, type) ? 'cacheable' : 'uncacheable'
  const limits = context.limits[cls]
  const { allowed, headers: limitHeaders } = context.windows.admit([[cls, limits.average], [`${cls}:${type}`, limits.burst]], context.now())
  const headers: Record<string, string> = { 'content-type': JSON_API, ...limitHeaders }
  const answer = (status: number, body?: unknown): ApiResponse => (body === undefined ? { status, headers } : { status, body, headers })
  if (!allowed) return answer(429, apiError(429, 'TOO_MANY_REQUESTS', 'Too many requests', 'You have exceeded the rate limit for this endpoint. Slow down and retry later.'))
  if (!(request.accept ?? '').includes(JSON_API)) return answer(406, apiError(406, 'NOT_ACCEPTABLE', 'Not acceptable', `The Accept header must be ${JSON_API}`))
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.authorization ?? '')?.[1]
  if (bearer === undefined || !context.issuer.check(bearer).valid) {
    return answer(401, apiError(401, 'INVALID_TOKEN', 'Invalid token', 'The access token you provided is invalid.'))
  }
  const writes = request.method === 'POST' || request.method === 'PATCH'
  if (writes && !(request.contentType ?? '').startsWith(JSON_API)) {
    return answer(415, apiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type', `The Content-Type header must be ${JSON_API}`))
  }
  const notFound = () => answer(404, apiError(404, 'RECORD_NOT_FOUND', 'Resource not found', 'The requested resource was not found'))
  if (!READABLE.has(type) || extra !== undefined) return notFound()
  const resource = id === undefined ? undefined : context.store.get(type, id)
  if (id !== undefined && !resource) return notFound()
  const document = (target: StoredResource | StoredResource[]) => serialize(context, target, request.query)

  let body: { data?: { type?: unknown; attributes?: Record<string, unknown>; relationships?: Record<string, { data?: { type?: string; id?: string } }> } } = {}
  if (writes) {
    try {
      body = JSON.parse(request.body) as typeof body
    } catch {
      return answer(400, apiError(400, 'BAD_REQUEST', 'Bad request', 'The request body is not valid JSON'))
    }
    if (body?.data?.type !== type) return answer(400, apiError(400, 'BAD_REQUEST', 'Bad request', `data.type must be ${type}`))
  }
  const attributes = body.data?.attributes ?? {}

  switch (request.method) {
    case 'GET':
      return resource ? answer(200, document(resource)) : list(context, type, request.query, answer)
    case 'POST': {
      if (type !== 'line_items' || resource) return answer(405, apiError(405, 'METHOD_NOT_ALLOWED', 'Method not allowed', `POST is not served on /api/${request.path}`))
      const orderId = body.data?.relationships?.order?.data?.id
      const order = orderId === undefined ? undefined : context.store.get('orders', orderId)
      if (!order) return answer(422, apiError(422, 'VALIDATION_ERROR', 'must exist', 'order - must exist', { source: { pointer: '/data/relationships/order' } }))
      const skuCode = String(attributes.sku_code ?? '')
      const price = context.store.list('prices').find((entry) => entry.attributes.sku_code === skuCode)
      const sku = context.store.list('skus').find((entry) => entry.attributes.code === skuCode)
      const quantity = Number(attributes.quantity)
      if (!sku || !Number.isSafeInteger(quantity) || quantity < 1) {
        return answer(422, apiError(422, 'VALIDATION_ERROR', 'is invalid', !sku ? 'sku_code - is invalid' : 'quantity - must be greater than 0', { source: { pointer: !sku ? '/data/attributes/sku_code' : '/data/attributes/quantity' } }))
      }
      const unit = Number(price?.attributes.amount_cents ?? 0)
      const item = context.store.add('line_items', { sku_code: skuCode, quantity, currency_code: order.attributes.currency_code, unit_amount_cents: unit, compare_at_amount_cents: unit, total_amount_cents: unit * quantity, tax_amount_cents: 0, name: sku.attributes.name, item_type: 'skus', circuit_state: 'closed', circuit_failure_count: 0 }, { order: { type: 'orders', id: order.id }, item: { type: 'skus', id: sku.id } })
      context.store.link(order, 'line_items', { type: 'line_items', id: item.id })
      if (attributes._external_price === true) {
        const call = await context.callExternal('price', { id: item.id })
        if (call.api.status !== 200) {
          removeLineItem(context.store, item.id) // "the line item is not created"
          return answer(call.api.status, call.api.body)
        }
      }
      return answer(201, document(item))
    }
    case 'PATCH':
      if (!resource) return answer(405, apiError(405, 'METHOD_NOT_ALLOWED', 'Method not allowed', 'PATCH needs a resource id'))
      return patch(context, resource, attributes, document, answer)
    case 'DELETE':
      if (!resource || (type !== 'line_items' && type !== 'webhooks')) return answer(405, apiError(405, 'METHOD_NOT_ALLOWED', 'Method not allowed', `DELETE is not served on /api/${request.path}`))
      if (type === 'line_items') removeLineItem(context.store, resource.id)
      else context.store.remove(type, resource.id)
      return answer(204)
    default:
      return answer(405, apiError(405, 'METHOD_NOT_ALLOWED', 'Method not allowed', `${request.method} is not allowed`))
  }
}

async function patch(
  context: ApiContext,
  resource: StoredResource,
  attributes: Record<string, unknown>,
  document: (target: StoredResource) => unknown,
  answer: (status: number, body?: unknown) => ApiResponse,
): Promise<ApiResponse> {
  const triggers = Object.keys(attributes).filter((name) => name.startsWith('_'))
  const plain = Object.keys(attributes).filter((name) => !name.startsWith('_'))
  const allowed = WRITABLE[resource.type] ?? []
  const unknownPlain = plain.find((name) => !allowed.includes(name))
  const supported: Record<string, boolean> = {
    _reset_circuit: BREAKER_OWNERS.has(resource.type),
    _validate: resource.type === 'orders',
    _update_taxes: resource.type === 'orders',
    _external_price: resource.type === 'line_items',
    _trigger: resource.type === 'events',
    _disable: resource.type === 'webhooks' || resource.type === 'external_gateways',
    _enable: resource.type === 'webhooks' || resource.type === 'external_gateways',
  }
  const unknownTrigger = triggers.find((name) => supported[name] !== true)
  if (unknownPlain !== undefined || unknownTrigger !== undefined) {
    const name = unknownPlain ?? unknownTrigger
    return answer(400, apiError(400, 'BAD_REQUEST', 'Bad request', `${name} is not a permitted attribute of ${resource.type}`, { source: { pointer: `/data/attributes/${name}` } }))
  }
  const previous = structuredClone(resource.attributes)
  if (plain.length > 0) context.store.update(resource, Object.fromEntries(plain.map((name) => [name, attributes[name]])))
  if (attributes._reset_circuit === true) {
    resetCircuit(resource.attributes)
    context.store.update(resource, {})
  }
  if (attributes._disable === true) context.store.update(resource, { disabled_at: new Date(context.now()).toISOString() })
  if (attributes._enable === true) context.store.update(resource, { disabled_at: null })
  if (attributes._trigger === true) context.retrigger(resource)
  const calls: [boolean, ExternalKind][] = [[attributes._validate === true, 'order-validation'], [attributes._update_taxes === true, 'tax'], [attributes._external_price === true, 'price']]
  for (const [wanted, kind] of calls) {
    if (!wanted) continue
    const call = await context.callExternal(kind, { id: resource.id })
    if (call.api.status !== 200) {
      // The external answer refused the change (a price failure, a failed validation): nothing else is kept.
      if (kind === 'price') Object.assign(resource.attributes, previous)
      return answer(call.api.status, call.api.body)
    }
  }
  return answer(200, document(resource))
}

function removeLineItem(store: ResourceStore, id: string): void {
  store.remove('line_items', id)
  for (const order of store.list('orders')) {
    const items = order.relationships.line_items
    if (Array.isArray(items)) order.relationships.line_items = items.filter((entry) => entry.id !== id)
  }
}

function list(context: ApiContext, type: string, query: URLSearchParams, answer: (status: number, body?: unknown) => ApiResponse): ApiResponse {
  let found = context.store.list(type)
  for (const [key, value] of query) {
    const predicate = /^filter\[q\]\[(\w+?)_(eq|in|cont)\]$/.exec(key)
    if (!predicate) continue
    const [, attribute = '', operator] = predicate
    const values = operator === 'in' ? value.split(',') : [value]
    found = found.filter((resource) => {
      const actual = attribute === 'id' ? resource.id : String(resource.attributes[attribute] ?? '')
      return operator === 'cont' ? actual.includes(value) : values.includes(actual)
    })
  }
  const sort = query.get('sort')
  for (const key of (sort ? sort.split(',') : []).reverse()) {
    const name = key.replace(/^-/, '')
    const direction = key.startsWith('-') ? -1 : 1
    found = found.toSorted((a, b) => direction * String(a.attributes[name] ?? '').localeCompare(String(b.attributes[name] ?? ''), 'en', { numeric: true }))
  }
  const size = Math.min(25, Math.max(1, Number(query.get('page[size]') ?? 10) || 10))
  const number = Math.max(1, Number(query.get('page[number]') ?? 1) || 1)
  const pageCount = Math.max(1, Math.ceil(found.length / size))
  const page = found.slice((number - 1) * size, number * size)
  const link = (n: number) => `${context.origin}/api/${type}?page[number]=${n}&page[size]=${size}`
  const document = serialize(context, page, query) as Record<string, unknown>
  return answer(200, {
    ...document,
    meta: { record_count: found.length, page_count: pageCount },
    links: { first: link(1), ...(number < pageCount ? { next: link(number + 1) } : {}), ...(number > 1 ? { prev: link(number - 1) } : {}), last: link(pageCount) },
  })
}

function serialize(context: ApiContext, target: StoredResource | StoredResource[], query: URLSearchParams): unknown {
  const include = query.get('include')?.split(',').filter((path) => path !== '')
  const fields: Record<string, string[]> = {}
  for (const [key, value] of query) {
    const match = /^fields\[(\w+)\]$/.exec(key)
    if (match) fields[match[1] as string] = value.split(',')
  }
  return context.store.serialize(target, { linkBase: context.origin, ...(include ? { include } : {}), fields })
}
