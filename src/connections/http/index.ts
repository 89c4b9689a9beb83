/**
 * @module
 * The `http` connection: a generic outbound client for a target such as an ERP. It resolves paths
 * against a base URL, sends configured headers (an API key from the environment), applies a
 * timeout, sends through the connection's flow control (rate budget, concurrency cap, breaker:
 * ../flow/), can sign each request with Standard Webhooks (./sign.ts), and throws errors that
 * say whether retrying can help: {@link TargetResponseError} carries the target's `status` (and
 * `retryAfterMs` from `Retry-After`), {@link TargetUnreachableError} carries none. Each request
 * sent is an OpenTelemetry CLIENT span carrying `traceparent` to the target (./trace.ts), and is
 * reported to `onCall` with its URL's secret-looking query values redacted (./redact-url.ts).
 *
 * @example
 * // storehook.config.ts
 * connections: {
 *   erp: { kind: 'http', baseUrl: env('ERP_URL'), headers: { 'X-Api-Key': env('ERP_API_KEY') }, maxConcurrency: 4, rateLimit: { requests: 10, perMs: 1000 } },
 * }
 * // an action
 * await erp.post('orders', { json: order, idempotencyKey: event.id })
 */
import { z } from 'zod'
import type { ConnectionDeps, ConnectionKind, OutboundCall } from '../connection.ts'
import { bindFlow, connectionFlow, flowConfigFields, type FlowControl } from '../flow/index.ts'
import { redactUrl } from './redact-url.ts'
import { makeSigner, signConfigSchema } from './sign.ts'
import { traceOutbound } from './trace.ts'

/** RFC 9110 `token`: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** No CR, LF or NUL: a header value must not be able to start another header. */
const HEADER_VALUE = /^[^\r\n\0]*$/

function hasCredentials(value: string): boolean {
  const url = URL.parse(value)
  return url !== null && (url.username !== '' || url.password !== '')
}

function hasQueryOrFragment(value: string): boolean {
  return /[?#]/.test(value)
}

export const httpConfigSchema = z.object({
  /**
   * Where the target lives, e.g. `https://erp.example.com/api/`. Paths are appended to its path,
   * see {@link HttpClient}. Credentials go in `headers`, not in the URL.
   */
  baseUrl: z
    // Not z.httpUrl(): it insists on a dotted domain, and targets are often `localhost`, an IP or a container name.
    .url({ protocol: /^https?$/, error: 'baseUrl must be an http:// or https:// URL' })
    .refine((value) => !hasCredentials(value), 'baseUrl must not contain credentials; send them in `headers`')
    .refine((value) => !hasQueryOrFragment(value), 'baseUrl must not contain a query string or a fragment'),
  /** Sent with every request, e.g. `{ 'X-Api-Key': env('ERP_API_KEY') }`. Values never appear in errors. */
  headers: z
    .record(
      z.string().regex(HEADER_NAME, 'not a valid header name'),
      z.string().regex(HEADER_VALUE, 'a header value must not contain CR, LF or NUL'),
    )
    .optional(),
  /** How long one request may take, from sending it to reading the whole body. Default 30000. */
  timeoutMs: z.number().int().positive().default(30_000),
  ...flowConfigFields,
  /** Signs every request so the target can verify it, e.g. `{ standardWebhooks: { secret: env('ERP_WEBHOOK_SECRET') } }`. */
  sign: signConfigSchema.optional(),
})

/** The config as the user writes it. */
export type HttpConnectionConfig = z.input<typeof httpConfigSchema>

export interface HttpRequestOptions {
  /** Serialised with `JSON.stringify`; sets `content-type: application/json` unless one is set. */
  json?: unknown
  /** A raw body; not allowed together with `json`. */
  body?: string | Uint8Array
  /** Added to (and overriding) the configured headers for this request. */
  headers?: Record<string, string>
  /** Appended to the URL's query string. */
  query?: Record<string, string>
  /** Sent as the `Idempotency-Key` header, e.g. the event id, so a retried run is not applied twice. */
  idempotencyKey?: string
  /** Aborting it cancels the request (or its wait for a slot) and rejects with the signal's reason. */
  signal?: AbortSignal
}

/** A target's answer, body read in full. Only 2xx answers are returned; others are thrown. */
export interface HttpResponse {
  status: number
  headers: Headers
  /** The body decoded as UTF-8 (empty string when there is none). */
  text: string
  /** Parses {@link text} as JSON; throws an error naming the connection when it is not JSON. */
  json<T = unknown>(): T
}

/**
 * The client an action receives for an `http` connection.
 *
 * **Paths.** `path` is appended to `baseUrl`'s path, which is treated as a directory whether or
 * not it ends in `/`; leading slashes in `path` are ignored, so a path can never drop the prefix
 * nor change the host. With `baseUrl: 'http://erp/api'`, both `'orders'` and `'/orders'` call
 * `http://erp/api/orders`. `path` may carry a query string; encode ids you put into it
 * (`encodeURIComponent`). Dot segments (`../`) are resolved as in any URL.
 *
 * **Errors.** A non-2xx answer throws {@link TargetResponseError} (redirects are not followed, so
 * configured headers never reach another host: a 3xx is thrown too). No answer (timeout, refused,
 * reset, DNS) throws {@link TargetUnreachableError}. An abort from the caller's `signal` rejects
 * with the signal's reason.
 *
 * @example
 * const res = await erp.get('orders/42', { query: { expand: 'lines' } })
 * const order = res.json<{ id: string }>()
 * await erp.post('orders', { json: { id: '42' }, idempotencyKey: event.id })
 * await erp.request('PROPFIND', 'files/', { headers: { depth: '1' } })
 */
export interface HttpClient {
  /** The connection's name in the config; used in error messages. */
  readonly name: string
  request(method: string, path: string, options?: HttpRequestOptions): Promise<HttpResponse>
  get(path: string, options?: HttpRequestOptions): Promise<HttpResponse>
  post(path: string, options?: HttpRequestOptions): Promise<HttpResponse>
  put(path: string, options?: HttpRequestOptions): Promise<HttpResponse>
  patch(path: string, options?: HttpRequestOptions): Promise<HttpResponse>
  delete(path: string, options?: HttpRequestOptions): Promise<HttpResponse>
}

/**
 * The target answered, but not with a 2xx. `status` decides the run's fate in `classifyFailure`:
 * a 4xx other than 408/409/425/429 makes the run dead at once; anything else is retried, no
 * sooner than `retryAfterMs` when the target sent `Retry-After`.
 *
 * @example
 * try {
 *   await ctx.connections.erp.post('orders', { json: order, idempotencyKey: ctx.idempotencyKey })
 * } catch (error) {
 *   // This ERP answers 409 to an order it already has: a retry after a lost answer, so done.
 *   if (error instanceof TargetResponseError && error.status === 409) return
 *   throw error
 * }
 */
export class TargetResponseError extends Error {
  readonly status: number
  /** From `Retry-After` (delta-seconds or HTTP-date), only when present and valid. */
  declare readonly retryAfterMs?: number
  readonly connection: string
  readonly method: string
  /** The URL called, without its query string. */
  readonly url: string
  /** The whole body the target answered, as received (e.g. to recognise "already exists"). */
  /** The response body, with any header value we sent scrubbed out (it is logged). */
  readonly responseText: string

  constructor(
    message: string,
    fields: { status: number; retryAfterMs?: number; connection: string; method: string; url: string; responseText: string },
  ) {
    super(message)
    this.name = 'TargetResponseError'
    this.status = fields.status
    if (fields.retryAfterMs !== undefined) this.retryAfterMs = fields.retryAfterMs
    this.connection = fields.connection
    this.method = fields.method
    this.url = fields.url
    this.responseText = fields.responseText
  }
}

/**
 * The target gave no answer: timed out, refused the connection, reset it, or has no address. Always retried.
 *
 * @example
 * try {
 *   await ctx.connections.erp.post('orders', { json: order, idempotencyKey: ctx.idempotencyKey, signal: ctx.signal })
 * } catch (error) {
 *   if (error instanceof TargetUnreachableError) ctx.logger.warn({ reason: error.reason, attempt: ctx.attempt }, 'ERP unreachable; the run is retried')
 *   throw error
 * }
 */
export class TargetUnreachableError extends Error {
  readonly connection: string
  readonly method: string
  /** The URL called, without its query string. */
  readonly url: string
  /** Short and human: `timed out after 30000 ms`, `connection refused (10.0.0.5:443)`, … */
  readonly reason: string

  constructor(message: string, fields: { connection: string; method: string; url: string; reason: string; cause: unknown }) {
    super(message, { cause: fields.cause })
    this.name = 'TargetUnreachableError'
    this.connection = fields.connection
    this.method = fields.method
    this.url = fields.url
    this.reason = fields.reason
  }
}

/** Header values that are plainly not secrets and are worth keeping in messages. */
const PUBLIC_HEADERS = new Set(['accept', 'accept-language', 'content-type', 'user-agent', 'idempotency-key', 'webhook-id', 'webhook-timestamp'])
const EXCERPT_LENGTH = 200

export const httpConnection: ConnectionKind<typeof httpConfigSchema, HttpClient> = {
  kind: 'http',
  configSchema: httpConfigSchema,
  create(name, config, deps) {
    const flow = connectionFlow(name, 'http', config, deps)
    return bindFlow(createHttpClient(name, config, deps, flow), flow)
  },
}

/**
 * The client behind the kind, sending through `flow` when one is given: the `adobe-commerce`
 * connection uses it with its own flow control, token endpoints without any.
 *
 * @example
 * const http = createHttpClient('commerce', httpConfigSchema.parse({ baseUrl: root }), {}, connectionFlow('commerce', 'adobe-commerce', config, deps))
 */
export function createHttpClient(name: string, config: z.output<typeof httpConfigSchema>, deps: ConnectionDeps, flow?: FlowControl): HttpClient {
  const base = new URL(config.baseUrl)
  const prefix = base.origin + (base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`)
  const configured = config.headers ?? {}
  const sign = makeSigner(config.sign)
  const timeoutMs = config.timeoutMs

  function report(call: OutboundCall): void {
    try {
      deps.onCall?.(call)
    } catch {
      // A broken log or metrics hook must not turn a delivered request into a failed run.
    }
  }

  /** Replaces every non-public header value sent with `[redacted]` in text that goes into a message. */
  function scrub(text: string, sent: Headers): string {
    let result = text
    for (const [headerName, value] of sent) {
      if (PUBLIC_HEADERS.has(headerName) || value.length < 4) continue
      result = result.replaceAll(value, '[redacted]')
    }
    // Configured values are scrubbed even when a per-call header replaced them.
    for (const value of Object.values(configured)) {
      if (value.length >= 4) result = result.replaceAll(value, '[redacted]')
    }
    return result
  }

  async function request(method: string, path: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
    method = method.toUpperCase()
    const relative = path.replace(/^\/+/, '')
    // An empty path means baseUrl itself, so a connection can name one endpoint (FORWARD_URL).
    const url = new URL(relative === '' ? base.href : prefix + relative)
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.append(key, value)
    const target = url.origin + url.pathname
    // What reports show: the query too (it says what was asked for), secret-looking values redacted.
    const shown = redactUrl(url)
    const headers = buildHeaders(name, configured, options)
    const body = buildBody(name, options)
    const callerSignal = options.signal

    callerSignal?.throwIfAborted()
    const send = async (): Promise<HttpResponse> => {
      // Signed once any slot is held: a wait must not age the timestamp the receiver checks.
      sign?.(headers, body, options.idempotencyKey)
      const span = traceOutbound(name, method, url, headers)
      // The timeout starts once a slot is held: waiting behind a slow target is not the target's timeout.
      const timeout = AbortSignal.timeout(timeoutMs)
      const signal = callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout
      const started = performance.now()
      let status: number | null = null
      let response: Response
      let text: string
      try {
        response = await fetch(url, { method, headers, body, signal, redirect: 'manual' })
        status = response.status
        text = await response.text()
      } catch (error) {
        const durationMs = performance.now() - started
        if (callerSignal?.aborted) {
          span.end({ status, error: 'aborted by caller', errorType: 'aborted' })
          report({ connection: name, method, url: shown, status, durationMs, error: 'aborted by caller' })
          throw callerSignal.reason
        }
        const reason = scrub(timeout.aborted ? `timed out after ${timeoutMs} ms` : describeNetworkError(error), headers)
        span.end({ status, error: reason, errorType: timeout.aborted ? 'timeout' : 'unreachable' })
        report({ connection: name, method, url: shown, status, durationMs, error: reason })
        throw new TargetUnreachableError(`${name} did not answer ${method} ${url.pathname}: ${reason}`, {
          connection: name,
          method,
          url: target,
          reason,
          cause: error,
        })
      }
      const durationMs = performance.now() - started

      if (status < 200 || status > 299) {
        const excerpt = scrub(text, headers).slice(0, EXCERPT_LENGTH).trim()
        const location = response.headers.get('location')
        const redirect = status >= 300 && status < 400 && location ? ` (redirect to ${location.split('?')[0]})` : ''
        const message = `${name} answered ${status} to ${method} ${url.pathname}${redirect}${excerpt ? `: ${excerpt}` : ''}`
        span.end({ status, error: message })
        report({ connection: name, method, url: shown, status, durationMs, error: message })
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now())
        throw new TargetResponseError(message, {
          status,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          connection: name,
          method,
          url: target,
          responseText: scrub(text, headers),
        })
      }

      span.end({ status })
      report({ connection: name, method, url: shown, status, durationMs })
      const responseText = text
      return {
        status,
        headers: response.headers,
        text: responseText,
        json<T = unknown>(): T {
          try {
            return JSON.parse(responseText) as T
          } catch (error) {
            const excerpt = scrub(responseText, headers).slice(0, EXCERPT_LENGTH).trim()
            throw new Error(
              `${name} answered ${status} to ${method} ${url.pathname} with a body that is not JSON${excerpt ? `: ${excerpt}` : ' (empty body)'}`,
              { cause: error },
            )
          }
        },
      }
    }
    return flow ? flow.run(send, callerSignal ? { signal: callerSignal } : {}) : send()
  }

  return {
    name,
    request,
    get: (path, options) => request('GET', path, options),
    post: (path, options) => request('POST', path, options),
    put: (path, options) => request('PUT', path, options),
    patch: (path, options) => request('PATCH', path, options),
    delete: (path, options) => request('DELETE', path, options),
  }
}

function buildHeaders(name: string, configured: Record<string, string>, options: HttpRequestOptions): Headers {
  const headers = new Headers()
  const set = (header: string, value: string): void => {
    try {
      headers.set(header, value)
    } catch (error) {
      // The platform's message quotes the value, which may be a secret: name the header only.
      throw new TypeError(`${name}: invalid value for header ${JSON.stringify(header)}`, { cause: error })
    }
  }
  for (const [header, value] of Object.entries(configured)) set(header, value)
  for (const [header, value] of Object.entries(options.headers ?? {})) set(header, value)
  if (options.json !== undefined && !headers.has('content-type')) set('content-type', 'application/json')
  if (options.idempotencyKey !== undefined) set('idempotency-key', options.idempotencyKey)
  return headers
}

function buildBody(name: string, options: HttpRequestOptions): string | Uint8Array<ArrayBuffer> | undefined {
  if (options.json !== undefined && options.body !== undefined) {
    throw new TypeError(`${name}: give either json or body, not both`)
  }
  if (options.json !== undefined) return JSON.stringify(options.json)
  if (options.body instanceof Uint8Array) return new Uint8Array(options.body) // a copy fetch may own
  return options.body
}

/**
 * Reads `Retry-After` (RFC 9110 §10.2.3): delta-seconds, or an HTTP-date (IMF-fixdate, RFC 850
 * or asctime, all of which start with a day name). Returns milliseconds from `now`, 0 for a date
 * already past, or `undefined` when the header is absent or invalid.
 *
 * @example
 * parseRetryAfter('7', Date.now()) // 7000
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) {
    const ms = Number(trimmed) * 1000
    return Number.isSafeInteger(ms) ? ms : undefined
  }
  if (!/^(mon|tue|wed|thu|fri|sat|sun)/i.test(trimmed)) return undefined
  // asctime carries no zone, but every HTTP-date is in GMT.
  const at = Date.parse(/gmt$/i.test(trimmed) ? trimmed : `${trimmed} GMT`)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connect timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for headers',
  UND_ERR_BODY_TIMEOUT: 'timed out reading the body',
}

/**
 * Why a request got no answer, in words, with the address it tried: undici wraps the socket
 * error (`TypeError('fetch failed', { cause: Error{ code } })`). Shared by every connection kind.
 */
export function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause ?? error
  const details = cause as { code?: unknown; address?: unknown; port?: unknown; errors?: unknown; message?: unknown } | null
  const first = Array.isArray(details?.errors) ? (details.errors[0] as typeof details) : undefined
  const code = typeof details?.code === 'string' ? details.code : typeof first?.code === 'string' ? first.code : undefined
  const address = typeof details?.address === 'string' ? details : first
  const where =
    typeof address?.address === 'string' ? ` (${address.address}${typeof address.port === 'number' ? `:${address.port}` : ''})` : ''
  if (code !== undefined && NETWORK_REASONS[code] !== undefined) return `${NETWORK_REASONS[code]}${where}`
  const message = typeof details?.message === 'string' && details.message !== '' ? details.message : String(cause)
  return code !== undefined && !message.includes(code) ? `${message} (${code})` : message
}
