/**
 * @module
 * The `commerce-layer` connection: Commerce Layer's REST API (JSON:API) for an action or an
 * external resource that needs more than the payload carries, and for the platform's triggers
 * (`_reset_circuit`, `_trigger`, `_validate`, …). An integration application's client
 * credentials get a bearer token (./token.ts: cached, refreshed before it expires, one request in
 * flight); a 401 drops it and the call is tried once more with a new one.
 *
 * Errors are the `http` connection's, so the worker classifies them alike: a non-2xx answer throws
 * {@link CommerceLayerApiError} (a {@link TargetResponseError} with the JSON:API `errors`); a 429
 * carries `retryAfterMs` computed from the rate-limit headers (./rate-limit.ts), so the run waits
 * for the window to slide; no answer throws {@link TargetUnreachableError}; a failed token request
 * throws {@link CommerceLayerTokenError}. The client secret and the tokens never appear in an
 * error or an `onCall` report.
 *
 * Every API request (not the token request) goes through the connection's flow control
 * (`rateLimit`, `maxConcurrency`, `breaker`: ../flow/). On a 429 its budget pauses for as long as
 * the rate-limit headers say (the same wait the error carries as `retryAfterMs`), e.g. with
 * `rateLimit: { requests: 50, perMs: 10_000 }` for Commerce Layer's uncacheable burst limit.
 *
 * @example
 * // storehook.config.ts
 * connections: {
 *   cl: {
 *     kind: 'commerce-layer',
 *     baseUrl: env('CL_BASE_URL'), // https://my-org.commercelayer.io
 *     clientId: env('CL_CLIENT_ID'),
 *     clientSecret: env('CL_CLIENT_SECRET'),
 *     scope: env('CL_SCOPE'), // optional, e.g. market:id:xYZkjABcde
 *   },
 * }
 * // an action or an external resource
 * const { data: order } = await cl.get<JsonApiResource<{ number: string }>>(`orders/${id}`, { include: ['line_items'], signal })
 * await cl.resetCircuit({ type: 'external_gateways', id: gatewayId })
 * await cl.trigger('orders', id, 'validate')
 */
import type { ConnectionDeps, ConnectionKind, OutboundCall } from '../connection.ts'
import { parseRetryAfter, TargetUnreachableError } from '../http/index.ts'
import { bindFlow, connectionFlow, type Answered } from '../flow/index.ts'
import { apiRoot, commerceLayerConfigSchema, type CommerceLayerConfig } from './config.ts'
import { CommerceLayerApiError } from './errors.ts'
import {
  describeJsonApiErrors,
  jsonApiQuery,
  parseJsonApiErrors,
  type JsonApiDocument,
  type JsonApiIdentifier,
  type JsonApiQuery,
  type JsonApiResource,
  type JsonApiWrite,
} from './jsonapi.ts'
import { backoffAfter429, readRateLimit, type RateLimitStatus } from './rate-limit.ts'
import { scrubAll } from '../token-cache.ts'
import { createTokenSource } from './token.ts'
import { exchange, type Answer } from './transport.ts'

export { commerceLayerConfigSchema, DEFAULT_TOKEN_URL } from './config.ts'
export type { CommerceLayerConfig, CommerceLayerConnectionConfig } from './config.ts'
export { CommerceLayerApiError, CommerceLayerTokenError } from './errors.ts'
export { jsonApiQuery } from './jsonapi.ts'
export type { FilterValue, JsonApiDocument, JsonApiError, JsonApiIdentifier, JsonApiQuery, JsonApiRelationship, JsonApiResource, JsonApiWrite } from './jsonapi.ts'
export type { RateLimitStatus } from './rate-limit.ts'

/** The media type of every request and answer body; another `Accept` gets 406, another `Content-Type` 415. */
const JSON_API = 'application/vnd.api+json'
const EXCERPT_LENGTH = 200

export interface CommerceLayerRequestOptions extends JsonApiQuery {
  /** Extra headers. `Authorization`, `Accept` and `Content-Type` are always the connection's own. */
  headers?: Record<string, string>
  /** Aborting it cancels the request (or its wait for a token or a slot) and rejects with its reason. */
  signal?: AbortSignal
}

/** The breaker fields of an external resource's owner (reference §2). */
export interface CircuitAttributes {
  circuit_state: 'closed' | 'open'
  circuit_failure_count: number
  [attribute: string]: unknown
}

export interface TriggerOptions extends Pick<CommerceLayerRequestOptions, 'include' | 'fields' | 'headers' | 'signal'> {
  /** The trigger attribute's value. Default `true`. */
  value?: unknown
  /** Other attributes sent in the same PATCH, e.g. `{ quantity: 2 }` with `external_price`. */
  attributes?: Record<string, unknown>
}

/**
 * The client an action receives for a `commerce-layer` connection. `path` is relative to
 * `<baseUrl>/api/` (`orders/xYZkjABcde`, not `/api/orders/…`) and may carry a query string;
 * encode ids you put into it (`encodeURIComponent`).
 *
 * @example
 * const { data: skus } = await cl.get<JsonApiResource<{ code: string }>[]>('skus', { filter: { code_eq: 'TSHIRT' }, page: { size: 1 } })
 * const { data: item } = await cl.post('line_items', {
 *   data: { type: 'line_items', attributes: { sku_code: 'TSHIRT', quantity: 1, _external_price: true }, relationships: { order: { data: { type: 'orders', id } } } },
 * })
 * await cl.delete(`line_items/${item.id}`)
 * cl.rateLimit // { limit: 100, intervalSeconds: 60, remaining: 97 }, from the last answer
 */
export interface CommerceLayerClient {
  /** The connection's name in the config; used in error messages. */
  readonly name: string
  /** Where every path is resolved, e.g. `https://my-org.commercelayer.io/api/`. */
  readonly apiRoot: string
  /** The average rate limit as the last answer described it (`undefined` before any answer with the headers). */
  readonly rateLimit: RateLimitStatus | undefined
  /** Any method; resolves to the parsed document, or `undefined` for an empty answer (204). */
  request<D = JsonApiResource | JsonApiResource[]>(
    method: string,
    path: string,
    options?: CommerceLayerRequestOptions & { body?: JsonApiWrite },
  ): Promise<JsonApiDocument<D> | undefined>
  get<D = JsonApiResource | JsonApiResource[]>(path: string, options?: CommerceLayerRequestOptions): Promise<JsonApiDocument<D>>
  post<D = JsonApiResource>(path: string, body: JsonApiWrite, options?: CommerceLayerRequestOptions): Promise<JsonApiDocument<D>>
  patch<D = JsonApiResource>(path: string, body: JsonApiWrite, options?: CommerceLayerRequestOptions): Promise<JsonApiDocument<D>>
  delete(path: string, options?: CommerceLayerRequestOptions): Promise<void>
  /**
   * Closes an open circuit breaker: `PATCH /api/<type>/<id>` with `_reset_circuit: true` (reference §2),
   * the only way out of the open state. Needs an integration token. `externalResource` is the
   * breaker's owner: `external_gateways`, `external_promotions`, `external_tax_calculators`,
   * `shipping_methods` or `webhooks` (`_reset_circuit` documented on gateways and webhooks; on the
   * others, and on `line_items`/`orders` which also carry breaker fields, UNVERIFIED).
   * Resolves to the owner with its `circuit_state` and `circuit_failure_count`.
   */
  resetCircuit(externalResource: JsonApiIdentifier, options?: Pick<CommerceLayerRequestOptions, 'signal'>): Promise<JsonApiResource<CircuitAttributes>>
  /**
   * Fires a trigger attribute: `PATCH /api/<type>/<id>` with `_<action>: true`, e.g.
   * `trigger('events', id, 'trigger')` re-sends an event's webhooks, `trigger('orders', id, 'validate')`
   * runs external order validation, `trigger('orders', id, 'update_taxes')`, `trigger('webhooks', id, 'disable')`.
   * `action` may be written with or without its leading underscore.
   */
  trigger<A extends object = Record<string, unknown>>(type: string, id: string, action: string, options?: TriggerOptions): Promise<JsonApiResource<A>>
}

export const commerceLayerConnection: ConnectionKind<typeof commerceLayerConfigSchema, CommerceLayerClient> = {
  kind: 'commerce-layer',
  configSchema: commerceLayerConfigSchema,
  create(name, config, deps) {
    return createCommerceLayerClient(name, config, deps)
  },
}

/**
 * The factory behind the connection kind, with a clock tests can move.
 *
 * @example
 * const cl = createCommerceLayerClient('cl', commerceLayerConfigSchema.parse({ baseUrl, clientId, clientSecret, tokenUrl }), {})
 */
export function createCommerceLayerClient(
  name: string,
  config: CommerceLayerConfig,
  deps: ConnectionDeps,
  options: { now?: () => number } = {},
): CommerceLayerClient {
  const root = apiRoot(config.baseUrl)
  const rootPath = new URL(root).pathname
  const flow = connectionFlow(name, 'commerce-layer', config, deps)
  const report = (call: OutboundCall): void => {
    try {
      deps.onCall?.(call.error === undefined ? call : { ...call, error: scrub(call.error) })
    } catch {
      // A broken log or metrics hook must not turn a delivered request into a failed run.
    }
  }
  const tokens = createTokenSource(name, config, { timeoutMs: config.timeoutMs, onCall: report, ...(options.now ? { now: options.now } : {}) })
  const scrub = (text: string): string => scrubAll(text, tokens.secrets())
  let lastRateLimit: RateLimitStatus | undefined

  /** One exchange with `token`, reported; resolves with any answer. */
  async function send(method: string, url: URL, token: string, body: string | undefined, request: CommerceLayerRequestOptions): Promise<Answer> {
    const headers = new Headers()
    for (const [header, value] of Object.entries(request.headers ?? {})) {
      try {
        headers.set(header, value)
      } catch (error) {
        // The platform's message quotes the value: name the header only.
        throw new TypeError(`${name}: invalid value for header ${JSON.stringify(header)}`, { cause: error })
      }
    }
    headers.set('accept', JSON_API)
    headers.set('authorization', `Bearer ${token}`)
    if (body !== undefined) headers.set('content-type', JSON_API)
    const target = url.origin + url.pathname
    const signal = request.signal
    try {
      const answer = await flow.run(
        () =>
          exchange(
            { connection: name, method, url, headers, ...(body === undefined ? {} : { body }), timeoutMs: config.timeoutMs, ...(signal ? { signal } : {}) },
            (failure) => report({ connection: name, method, url: target, status: null, durationMs: failure.durationMs, error: failure.reason }),
          ),
        { ...(signal ? { signal } : {}), answer: answered },
      )
      lastRateLimit = readRateLimit(answer.headers) ?? lastRateLimit
      return answer
    } catch (error) {
      if (error instanceof TargetUnreachableError) {
        const { connection, reason } = error
        throw new TargetUnreachableError(scrub(error.message), { connection, method, url: target, reason: scrub(reason), cause: error.cause })
      }
      throw error
    }
  }

  /** An answer as flow control reads it: a 429 pauses the budget for the wait {@link apiError} reports. */
  function answered(answer: Answer): Answered {
    if (answer.status !== 429) return { status: answer.status }
    return { status: 429, retryAfterMs: backoffAfter429(answer.headers, config.burstBackoffMs, Date.now()) }
  }

  async function request<D>(
    method: string,
    path: string,
    request: CommerceLayerRequestOptions & { body?: JsonApiWrite } = {},
  ): Promise<JsonApiDocument<D> | undefined> {
    method = method.toUpperCase()
    const url = resolve(name, root, rootPath, path, jsonApiQuery(request))
    const body = request.body === undefined ? undefined : JSON.stringify(request.body)
    const first = await tokens.token(request.signal)
    let answer = await send(method, url, first, body, request)
    if (answer.status === 401) {
      // The token may have been revoked or expired early: one new token, one more try (safe for writes
      // too: a 401 means nothing was done). A second 401 is the API's answer (missing permissions): no loop.
      report(outcome(method, url, answer))
      tokens.invalidate(first)
      answer = await send(method, url, await tokens.token(request.signal), body, request)
    }
    report(outcome(method, url, answer))
    if (answer.status < 200 || answer.status > 299) throw apiError(method, url, answer)
    if (answer.text === '') return undefined
    try {
      return JSON.parse(answer.text) as JsonApiDocument<D>
    } catch (error) {
      const excerpt = scrub(answer.text).slice(0, EXCERPT_LENGTH).trim()
      throw new Error(`${name} answered ${answer.status} to ${method} ${url.pathname} with a body that is not JSON: ${excerpt}`, { cause: error })
    }
  }

  function outcome(method: string, url: URL, answer: Answer): OutboundCall {
    const call: OutboundCall = { connection: name, method, url: url.origin + url.pathname, status: answer.status, durationMs: answer.durationMs }
    if (answer.status >= 200 && answer.status <= 299) return call
    return { ...call, error: errorMessage(method, url, answer) }
  }

  function errorMessage(method: string, url: URL, answer: Answer): string {
    const errors = describeJsonApiErrors(parseJsonApiErrors(answer.text))
    const detail = errors !== '' ? errors : answer.text.slice(0, EXCERPT_LENGTH).trim()
    const location = answer.headers.get('location')
    const redirect = answer.status >= 300 && answer.status < 400 && location ? ` (redirect to ${location.split('?')[0]})` : ''
    return scrub(`${name} answered ${answer.status} to ${method} ${url.pathname}${redirect}${detail ? `: ${detail}` : ''}`)
  }

  function apiError(method: string, url: URL, answer: Answer): CommerceLayerApiError {
    const now = Date.now()
    const retryAfterMs = answer.status === 429 ? backoffAfter429(answer.headers, config.burstBackoffMs, now) : parseRetryAfter(answer.headers.get('retry-after'), now)
    const rateLimit = readRateLimit(answer.headers)
    return new CommerceLayerApiError(errorMessage(method, url, answer), {
      status: answer.status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      connection: name,
      method,
      url: url.origin + url.pathname,
      responseText: scrub(answer.text),
      errors: JSON.parse(scrub(JSON.stringify(parseJsonApiErrors(answer.text)))),
      ...(rateLimit === undefined ? {} : { rateLimit }),
    })
  }

  async function must<D>(method: string, path: string, options: CommerceLayerRequestOptions & { body?: JsonApiWrite }): Promise<JsonApiDocument<D>> {
    const document = await request<D>(method, path, options)
    // Only DELETE answers without a body; anything else that does is not the API we know (retried, like any surprise).
    if (document === undefined) throw new Error(`${name} answered ${method} ${path} with an empty body where a JSON:API document was expected`)
    return document
  }

  return bindFlow({
    name,
    apiRoot: root,
    get rateLimit() {
      return lastRateLimit
    },
    request,
    get: (path, options = {}) => must('GET', path, options),
    post: (path, body, options = {}) => must('POST', path, { ...options, body }),
    patch: (path, body, options = {}) => must('PATCH', path, { ...options, body }),
    async delete(path, options = {}) {
      await request('DELETE', path, options)
    },
    async resetCircuit(externalResource, options = {}) {
      const { type, id } = identifier(name, externalResource.type, externalResource.id)
      const body = { data: { type, id, attributes: { _reset_circuit: true } } }
      return (await must<JsonApiResource<CircuitAttributes>>('PATCH', `${type}/${encodeURIComponent(id)}`, { ...options, body })).data
    },
    async trigger<A extends object>(type: string, id: string, action: string, options: TriggerOptions = {}) {
      const target = identifier(name, type, id)
      const attribute = `_${action.replace(/^_/, '')}`
      if (!/^_[a-z][a-z0-9_]*$/.test(attribute)) throw new TypeError(`${name}: not a trigger name: ${JSON.stringify(action)}`)
      const { value = true, attributes = {}, ...rest } = options
      const body = { data: { ...target, attributes: { ...attributes, [attribute]: value } } }
      return (await must<JsonApiResource<A>>('PATCH', `${target.type}/${encodeURIComponent(target.id)}`, { ...rest, body })).data
    },
  }, flow)
}

/** Resource types are plural snake_case (`external_gateways`); ids are opaque strings. */
function identifier(name: string, type: unknown, id: unknown): JsonApiIdentifier {
  if (typeof type !== 'string' || !/^[a-z][a-z0-9_]*$/.test(type)) throw new TypeError(`${name}: not a resource type: ${JSON.stringify(type)}`)
  if (typeof id !== 'string' || id === '') throw new TypeError(`${name}: a ${type} id must be a non-empty string, got ${JSON.stringify(id)}`)
  return { type, id }
}

/**
 * `path` under the API root. Leading slashes are ignored, and a path whose dot segments would
 * leave `/api/` is refused: the bearer token goes only where the API is.
 */
function resolve(name: string, root: string, rootPath: string, path: string, query: string): URL {
  const url = new URL(root + path.replace(/^\/+/, ''))
  if (!url.pathname.startsWith(rootPath)) throw new TypeError(`${name}: path ${JSON.stringify(path)} leaves ${rootPath}`)
  if (query !== '') url.search = url.search === '' ? query : `${url.search}&${query.slice(1)}`
  return url
}
