/**
 * @module
 * The `adobe-commerce` connection: Commerce REST calls for an action that needs more of an order
 * than the event carries, authenticated one of two ways:
 * - `oauth1`: an integration's four values, each call signed with OAuth 1.0a the way Magento
 *   verifies it (./oauth1.ts); Adobe Commerce on cloud infrastructure and on premises (PaaS);
 * - `ims`: an Adobe IMS OAuth server-to-server credential, each call carrying a bearer token
 *   (./ims.ts); Adobe Commerce as a Cloud Service (SaaS), where integrations do not exist.
 * Transport, timeouts, flow control (`rateLimit`, `maxConcurrency`, `breaker`: ../flow/),
 * `onCall` reports and errors are the `http` connection's: a non-2xx answer throws {@link TargetResponseError} (404 → the run goes dead,
 * 429/5xx → retried, no sooner than `Retry-After`), no answer throws {@link TargetUnreachableError},
 * a failed IMS token request throws {@link ImsTokenError}. Secrets and tokens never leave this
 * process except as the protocol sends them, and never appear in an error or a report.
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
 *   saas: {
 *     kind: 'adobe-commerce',
 *     baseUrl: env('COMMERCE_BASE_URL'), // https://na1.api.commerce.adobe.com/<tenant>/ → …/<tenant>/V1/
 *     ims: { clientId: env('OAUTH_CLIENT_ID'), clientSecret: env('OAUTH_CLIENT_SECRET'), scopes: env('OAUTH_SCOPES'), orgId: env('OAUTH_ORG_ID') },
 *   },
 * }
 * // an action
 * const order = await commerce.getOrder(event.payload.data.value.entity_id, { signal })
 * const page = await commerce.get('orders', { searchCriteria: { pageSize: 10 }, signal })
 */
import { z } from 'zod'
import { PermanentError } from '../../core/errors.ts'
import type { ConnectionKind, OutboundCall } from '../connection.ts'
import { bindFlow, connectionFlow, flowConfigFields } from '../flow/index.ts'
import { createHttpClient, httpConfigSchema, TargetResponseError, TargetUnreachableError, type HttpResponse } from '../http/index.ts'
import { createImsAuth, imsConfigSchema, type ImsAuth, type ImsTokenError } from './ims.ts'
import { authorize, normalizePath } from './oauth1.ts'
import type { CommerceOrder } from './order.ts'
import { canonicalQuery, type QueryValue, type SearchCriteria } from './query.ts'

export type { CommerceOrder, CommerceOrderExtensionAttributes, CommerceOrderItem } from './order.ts'
export { DEFAULT_IMS_TOKEN_URL, ImsTokenError } from './ims.ts'
export type { ImsConfig } from './ims.ts'
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
      }, 'baseUrl must not contain credentials; they go in `oauth1` or `ims`'),
    /**
     * A store view code put in the path (`rest/<storeCode>/V1`). Unset, calls go to `rest/V1`
     * as in Adobe's samples (Magento's default store view); `all` addresses every store view,
     * which is what Adobe's newer `aio-commerce-lib-api` uses.
     */
    storeCode: z
      .string()
      .regex(/^[a-z0-9_]+$/i, 'storeCode is a store view code: letters, digits and _')
      .optional(),
    /**
     * The four values of an activated integration (Commerce Admin › System › Integrations).
     * Give exactly one of `oauth1` and `ims`.
     */
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
    }).optional(),
    /**
     * An Adobe IMS OAuth server-to-server credential (Developer Console), for Adobe Commerce as a
     * Cloud Service: `clientId`, `clientSecret`, `scopes`, and optionally `orgId` and `tokenUrl`
     * (see ./ims.ts). Give exactly one of `oauth1` and `ims`.
     */
    ims: imsConfigSchema.optional(),
    /** How long one request may take, from sending it to reading the whole body. Default 30000. */
    timeoutMs: z.number().int().positive().default(30_000),
    ...flowConfigFields,
  })
  .superRefine((config, ctx) => {
    if ((config.oauth1 === undefined) === (config.ims === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [config.oauth1 === undefined ? 'oauth1' : 'ims'],
        message:
          config.oauth1 === undefined
            ? 'give `oauth1` (an integration\'s OAuth 1.0a credentials) or `ims` (an IMS OAuth server-to-server credential)'
            : 'give either `oauth1` or `ims`, not both',
      })
    }
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
  /**
   * Extra headers, e.g. `Store` on SaaS. `Authorization` is always the connection's own (and with
   * `ims`, so are `x-api-key` and `x-gw-ims-org-id`).
   */
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
   * `GET orders/{id}`, with `extension_attributes`. Takes an event's `entity_id` as it comes
   * (typed `number | string | undefined`: Commerce sends only the subscribed fields); an id that is
   * not a positive integer (the seed's `orders/undefined` when the event lacks `entity_id`) throws
   * a {@link PermanentError} before any request: retrying cannot give the event an id.
   */
  getOrder(id: number | string | undefined, options?: Pick<CommerceRequestOptions, 'signal' | 'headers'>): Promise<CommerceOrder>
}

export const adobeCommerceConnection: ConnectionKind<typeof adobeCommerceConfigSchema, AdobeCommerceClient> = {
  kind: 'adobe-commerce',
  configSchema: adobeCommerceConfigSchema,
  create(name, config, deps) {
    const root = restRoot(config.baseUrl, config.storeCode)
    const onCall = deps.onCall
    if ((config.ims === undefined) === (config.oauth1 === undefined)) {
      throw new TypeError(`${name}: give exactly one of \`oauth1\` and \`ims\``) // the schema already refuses such a config
    }
    // Read at every use: with `ims` the list grows as tokens are handed out.
    let secrets = (): string[] => []
    const scrub = (text: string): string =>
      secrets().reduce((result, secret) => (secret.length >= 4 ? result.replaceAll(secret, '[redacted]') : result), text)
    const report = onCall && ((call: OutboundCall) => onCall(call.error === undefined ? call : { ...call, error: scrub(call.error) }))
    const flow = connectionFlow(name, 'adobe-commerce', config, deps)
    const http = createHttpClient(name, httpConfigSchema.parse({ baseUrl: root, timeoutMs: config.timeoutMs }), report ? { onCall: report } : {}, flow)
    const oauth1 = config.oauth1 && oauth1Signer(config.oauth1)
    const ims = config.ims && createImsAuth(name, config.ims, { timeoutMs: config.timeoutMs, ...(report ? { onCall: report } : {}) })
    if (oauth1) secrets = () => oauth1.secrets
    if (ims) secrets = ims.secrets

    async function request<T>(method: string, path: string, options: CommerceRequestOptions = {}): Promise<T> {
      method = method.toUpperCase()
      const [rawPath = '', pathQuery = ''] = path.replace(/^\/+/, '').split(/\?(.*)/s)
      // The path goes out already as Magento normalises it, so every Magento build signs what we signed.
      const relative = normalizePath(rawPath) + canonicalQuery(pathQuery, options.query, options.searchCriteria)
      const send = (auth: Record<string, string>) =>
        http.request(method, relative, {
          headers: { accept: 'application/json', ...options.headers, ...auth },
          ...(options.json === undefined ? {} : { json: options.json }),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        })
      try {
        const response = oauth1
          ? // The http client sends to `root + relative`; sign exactly that URL.
            await send({ authorization: oauth1.sign(method, new URL(root + relative)) })
          : await sendWithToken(ims as ImsAuth, send, options.signal)
        return (response.text === '' ? undefined : response.json<T>()) as T
      } catch (error) {
        throw scrubbed(error, secrets().filter((secret) => secret.length >= 4), scrub)
      }
    }

    return bindFlow({
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
            new PermanentError(
              `${name}: getOrder needs the order's entity_id (a positive integer), got ${JSON.stringify(id) ?? 'undefined'}` +
                (id === undefined ? "; add entity_id to the Commerce event subscription's fields" : ''),
            ),
          )
        }
        return request<CommerceOrder>('GET', `orders/${text}`, options)
      },
    }, flow)
  },
}

/**
 * A call with the cached IMS token. On a 401 the token may have been revoked or expired early:
 * one new token, one more try (safe for writes too: a 401 means Commerce did nothing). A second
 * 401 is Commerce's answer (the credential lacks access) and is thrown as it is: no loop.
 */
async function sendWithToken(
  ims: ImsAuth,
  send: (headers: Record<string, string>) => Promise<HttpResponse>,
  signal: AbortSignal | undefined,
): Promise<HttpResponse> {
  const first = await ims.authorize(signal)
  try {
    return await send(first.headers)
  } catch (error) {
    if (!(error instanceof TargetResponseError && error.status === 401)) throw error
    ims.invalidate(first.token)
    return send((await ims.authorize(signal)).headers)
  }
}

/** OAuth 1.0a: each call signed on its own; the four values key the HMAC and go nowhere else. */
function oauth1Signer(config: NonNullable<z.output<typeof adobeCommerceConfigSchema>['oauth1']>) {
  const { signatureMethod, parameterOrder, ...credentials } = config
  return {
    secrets: Object.values(credentials),
    sign: (method: string, url: URL): string => authorize(method, url, credentials, { signatureMethod, parameterOrder }),
  }
}

/**
 * The http connection already keeps the header it sent out of its messages; this also keeps out
 * each credential (and IMS token) on its own, should Commerce (or a proxy in front of it) echo one
 * back. The same goes for the `onCall` reports above.
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
  // `json()`'s "not JSON" error quotes the body, which only had the sent header values taken out.
  if (error instanceof Error && error.constructor === Error && secrets.some((secret) => error.message.includes(secret))) {
    return new Error(scrub(error.message))
  }
  return error
}
