/**
 * @module
 * The `adobe-commerce` connection: Commerce REST calls signed with OAuth 1.0a the way Magento
 * verifies them (see ./oauth1.ts), for an action that needs more of an order than the event
 * carries. Transport, timeouts, the concurrency limit, `onCall` reports and errors are the `http`
 * connection's: a non-2xx answer throws {@link TargetResponseError} (404 → the run goes dead,
 * 429/5xx → retried, no sooner than `Retry-After`), no answer throws {@link TargetUnreachableError}.
 * The consumer and token secrets never leave this process: they key the HMAC and nothing else.
 *
 * @example
 * // storehook.config.ts
 * connections: {
 *   commerce: {
 *     kind: 'adobe-commerce',
 *     baseUrl: env('COMMERCE_BASE_URL'), // https://shop.example.com/ → https://shop.example.com/rest/V1/
 *     oauth1: {
 *       consumerKey: env('COMMERCE_CONSUMER_KEY'), consumerSecret: env('COMMERCE_CONSUMER_SECRET'),
 *       accessToken: env('COMMERCE_ACCESS_TOKEN'), accessTokenSecret: env('COMMERCE_ACCESS_TOKEN_SECRET'),
 *     },
 *   },
 * }
 * // an action
 * const order = await commerce.getOrder(event.payload.data.value.entity_id, { signal })
 * const page = await commerce.get('orders', { searchCriteria: { pageSize: 10 }, signal })
 */
import { z } from 'zod'
import { PermanentError } from '../../core/errors.ts'
import type { ConnectionKind } from '../connection.ts'
import { httpConnection, TargetResponseError, TargetUnreachableError } from '../http/index.ts'
import { authorize, normalizePath } from './oauth1.ts'
import type { CommerceOrder } from './order.ts'
import { canonicalQuery, type QueryValue, type SearchCriteria } from './query.ts'

export type { CommerceOrder, CommerceOrderExtensionAttributes, CommerceOrderItem } from './order.ts'
export type { OAuth1Credentials, ParameterOrder, SignatureMethod } from './oauth1.ts'
export type { QueryValue, SearchCriteria, SearchFilter } from './query.ts'

/**
 * Adobe Commerce as a Cloud Service (SaaS) serves REST at `https://<region>.api.commerce.adobe.com/<tenant>/V1/`
 * (AdobeDocs `starter-kit/integration/create-integration.md`), without `rest/`.
 */
const SAAS_HOST = /\.api\.commerce\.adobe\.com$/i

/**
 * Where `V1/<resource>` lives, from the forms Adobe's samples and starter kits use for
 * `COMMERCE_BASE_URL`: `<base>/` → `<base>/rest/V1/` (the seed's form), `<base>/rest/` →
 * `<base>/rest/V1/`, anything ending in `/V1` as it is (`rest/<store>/V1`, SaaS `<tenant>/V1`),
 * and a SaaS host → `<base>/V1/`. With `storeCode`, `rest/<storeCode>/V1/`.
 *
 * @example
 * restRoot('https://shop.example.com/') // 'https://shop.example.com/rest/V1/'
 * restRoot('https://shop.example.com/', 'all') // 'https://shop.example.com/rest/all/V1/'
 */
export function restRoot(baseUrl: string, storeCode?: string): string {
  const url = new URL(baseUrl)
  const path = url.pathname.replace(/\/+$/, '')
  const saas = SAAS_HOST.test(url.hostname)
  if (storeCode !== undefined && (path.endsWith('/V1') || saas)) {
    throw new TypeError('storeCode cannot be combined with a baseUrl that already ends in /V1 or with a SaaS host')
  }
  const store = storeCode === undefined ? '' : `${storeCode}/`
  if (path.endsWith('/V1')) return `${url.origin}${path}/`
  if (path.endsWith('/rest')) return `${url.origin}${path}/${store}V1/`
  if (saas) return `${url.origin}${path}/V1/`
  return `${url.origin}${path}/rest/${store}V1/`
}

export const adobeCommerceConfigSchema = z
  .object({
    /** The shop, in any form {@link restRoot} knows, e.g. `https://shop.example.com/`. */
    baseUrl: z
      .url({ protocol: /^https?$/, error: 'baseUrl must be an http:// or https:// URL' })
      .refine((value) => !/[?#]/.test(value), 'baseUrl must not contain a query string or a fragment')
      .refine((value) => {
        const url = URL.parse(value)
        return url !== null && url.username === '' && url.password === ''
      }, 'baseUrl must not contain credentials; they go in `oauth1`'),
    /**
     * A store view code put in the path (`rest/<storeCode>/V1`). Unset, calls go to `rest/V1`
     * as in Adobe's samples (Magento's default store view); `all` addresses every store view,
     * which is what Adobe's newer `aio-commerce-lib-api` uses.
     */
    storeCode: z
      .string()
      .regex(/^[a-z0-9_]+$/i, 'storeCode is a store view code: letters, digits and _')
      .optional(),
    /** The four values of an activated integration (Commerce Admin › System › Integrations). */
    oauth1: z.object({
      consumerKey: z.string().min(1),
      consumerSecret: z.string().min(1),
      accessToken: z.string().min(1),
      accessTokenSecret: z.string().min(1),
      /** `HMAC-SHA256` (default, as Adobe's samples sign) or `HMAC-SHA1`. */
      signatureMethod: z.enum(['HMAC-SHA256', 'HMAC-SHA1']).default('HMAC-SHA256'),
      /**
       * How Magento orders query parameters when it checks the signature: `natural` (default,
       * `strnatcmp`, Magento 2.4 as documented) or `bytes` (`ksort`, Magento's newer signature
       * helper). They differ only for indexes of 10 and more (`searchCriteria[…][filters][10]`):
       * if such calls get 401 "The signature is invalid" from your shop, switch.
       */
      parameterOrder: z.enum(['natural', 'bytes']).default('natural'),
    }),
    /** How long one request may take, from sending it to reading the whole body. Default 30000. */
    timeoutMs: z.number().int().positive().default(30_000),
    /** At most this many requests in flight from this process; the rest wait in FIFO order. */
    maxConcurrency: z.number().int().positive().optional(),
  })
  .superRefine((config, ctx) => {
    try {
      restRoot(config.baseUrl, config.storeCode)
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['storeCode'], message: (error as Error).message })
    }
  })

/** The config as the user writes it. */
export type AdobeCommerceConnectionConfig = z.input<typeof adobeCommerceConfigSchema>

export interface CommerceRequestOptions {
  /** Sent as a JSON body (`content-type: application/json`); not part of the signature, as in OAuth 1.0a. */
  json?: unknown
  /** Query parameters, signed. `undefined` values are left out. */
  query?: Record<string, QueryValue | undefined>
  /** Magento's `searchCriteria`, sent as `searchCriteria[…]` parameters and signed. */
  searchCriteria?: SearchCriteria
  /** Extra headers, e.g. `Store` on SaaS. `Authorization` is always the OAuth header. */
  headers?: Record<string, string>
  /** Aborting it cancels the request and rejects with the signal's reason. */
  signal?: AbortSignal
}

/**
 * The client an action receives for an `adobe-commerce` connection. `path` is relative to the
 * REST root (`orders/42`, not `/rest/V1/orders/42`) and may carry a query string; encode ids you
 * put into it (`encodeURIComponent`). Each method resolves to the parsed JSON answer
 * (`undefined` for an empty body).
 *
 * @example
 * const order = await commerce.getOrder(42)
 * const { items } = await commerce.get<{ items: CommerceOrder[] }>('orders', {
 *   searchCriteria: { filterGroups: [[{ field: 'increment_id', value: '000000042' }]] },
 * })
 * await commerce.post('orders/42/comments', { json: { statusHistory: { comment: 'sent to ERP', is_customer_notified: 0 } } })
 */
export interface AdobeCommerceClient {
  /** The connection's name in the config; used in error messages. */
  readonly name: string
  /** The REST root every path is resolved against, e.g. `https://shop.example.com/rest/V1/`. */
  readonly restRoot: string
  request<T = unknown>(method: string, path: string, options?: CommerceRequestOptions): Promise<T>
  get<T = unknown>(path: string, options?: CommerceRequestOptions): Promise<T>
  post<T = unknown>(path: string, options?: CommerceRequestOptions): Promise<T>
  put<T = unknown>(path: string, options?: CommerceRequestOptions): Promise<T>
  delete<T = unknown>(path: string, options?: CommerceRequestOptions): Promise<T>
  /**
   * `GET orders/{id}`, with `extension_attributes`. An id that is not a positive integer (the
   * seed's `orders/undefined` when the event lacks `entity_id`) throws a {@link PermanentError}
   * before any request: retrying cannot give the event an id.
   */
  getOrder(id: number | string, options?: Pick<CommerceRequestOptions, 'signal' | 'headers'>): Promise<CommerceOrder>
}

export const adobeCommerceConnection: ConnectionKind<typeof adobeCommerceConfigSchema, AdobeCommerceClient> = {
  kind: 'adobe-commerce',
  configSchema: adobeCommerceConfigSchema,
  create(name, config, deps) {
    const root = restRoot(config.baseUrl, config.storeCode)
    const { signatureMethod, parameterOrder, ...credentials } = config.oauth1
    const secrets = Object.values(credentials).filter((value) => value.length >= 4)
    const scrub = (text: string): string => secrets.reduce((result, secret) => result.replaceAll(secret, '[redacted]'), text)
    const onCall = deps.onCall
    const http = httpConnection.create(
      name,
      { baseUrl: root, timeoutMs: config.timeoutMs, ...(config.maxConcurrency === undefined ? {} : { maxConcurrency: config.maxConcurrency }) },
      onCall ? { onCall: (call) => onCall(call.error === undefined ? call : { ...call, error: scrub(call.error) }) } : {},
    )

    async function request<T>(method: string, path: string, options: CommerceRequestOptions = {}): Promise<T> {
      method = method.toUpperCase()
      const [rawPath = '', pathQuery = ''] = path.replace(/^\/+/, '').split(/\?(.*)/s)
      // The path goes out already as Magento normalises it, so every Magento build signs what we signed.
      const relative = normalizePath(rawPath) + canonicalQuery(pathQuery, options.query, options.searchCriteria)
      // The http client sends to `root + relative`; sign exactly that URL.
      const url = new URL(root + relative)
      const authorization = authorize(method, url, credentials, { signatureMethod, parameterOrder })
      const headers = { accept: 'application/json', ...options.headers, authorization }
      try {
        const response = await http.request(method, relative, {
          headers,
          ...(options.json === undefined ? {} : { json: options.json }),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        })
        return (response.text === '' ? undefined : response.json<T>()) as T
      } catch (error) {
        throw scrubbed(error, secrets, scrub)
      }
    }

    return {
      name,
      restRoot: root,
      request,
      get: (path, options) => request('GET', path, options),
      post: (path, options) => request('POST', path, options),
      put: (path, options) => request('PUT', path, options),
      delete: (path, options) => request('DELETE', path, options),
      getOrder(id, options) {
        const text = String(id)
        if (!/^[1-9]\d*$/.test(text) || !Number.isSafeInteger(Number(text))) {
          return Promise.reject(
            new PermanentError(`${name}: getOrder needs the order's entity_id (a positive integer), got ${JSON.stringify(id) ?? 'undefined'}`),
          )
        }
        return request<CommerceOrder>('GET', `orders/${text}`, options)
      },
    }
  },
}

/**
 * The http connection already keeps the header it sent out of its messages; this also keeps out
 * each credential on its own, should Commerce (or a proxy in front of it) echo one back. The same
 * goes for the `onCall` reports above.
 */
function scrubbed(error: unknown, secrets: string[], scrub: (text: string) => string): unknown {
  if (error instanceof TargetResponseError) {
    if (!secrets.some((secret) => error.message.includes(secret) || error.responseText.includes(secret))) return error
    const { status, retryAfterMs, connection, method, url } = error
    return new TargetResponseError(scrub(error.message), {
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      connection,
      method,
      url,
      responseText: scrub(error.responseText),
    })
  }
  if (error instanceof TargetUnreachableError && secrets.some((secret) => error.message.includes(secret))) {
    const { connection, method, url, reason } = error
    return new TargetUnreachableError(scrub(error.message), { connection, method, url, reason: scrub(reason), cause: error.cause })
  }
  return error
}
