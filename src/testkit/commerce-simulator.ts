/**
 * @module
 * A stand-in for an Adobe Commerce shop's REST API: a real HTTP server on 127.0.0.1 that checks
 * OAuth 1.0a exactly as Magento does (./magento-oauth.ts: parameter order, nonce replay,
 * timestamp skew, its 400/401 messages), serves orders with their `extension_attributes`, and
 * can be told to fail (5xx, 429 with `Retry-After`, slow answers), so tests can prove what an
 * action does with a real shop's answers, and read back every request it received.
 *
 * Paths, as a shop serves them (reference/adobe-commerce.md §1.2, §2.1):
 * `/rest/V1/…` (default store view), `/rest/<store>/V1/…` (`default`, `all`, or `storeCodes`),
 * and the SaaS form `/<tenant>/V1/…`. Resources: `GET orders/{id}`, `GET orders?searchCriteria…`.
 * Given an IMS simulator (`ims`), the SaaS form is Adobe Commerce as a Cloud Service: it takes
 * that IMS's bearer tokens instead of OAuth 1.0a, which SaaS does not offer.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CommerceOrder } from '../connections/adobe-commerce/order.ts'
import type { OAuth1Credentials, SignatureMethod } from '../connections/adobe-commerce/oauth1.ts'
import { phpNestedQuery, search, SearchCriteriaError } from './commerce-search.ts'
import type { ImsSimulator } from './ims-simulator.ts'
import { MagentoOAuthVerifier, type MagentoErrorBody, type MagentoIntegration, type MagentoSignatureHelper } from './magento-oauth.ts'

export interface CommerceSimulatorOptions {
  port?: number
  /**
   * Signature methods the shop accepts. Default both `HMAC-SHA256` and `HMAC-SHA1`, as Magento
   * 2.4's `Oauth::getSupportedSignatureMethods()`; some later builds accept `HMAC-SHA256` only.
   */
  signatureMethods?: SignatureMethod[]
  /**
   * Which of Magento's signature helpers checks signatures: `laminas` (default; Laminas OAuth and
   * Magento `Hmac256`: `strnatcmp` over encoded names, reference §1.4) or `hmac` (Magento's newer
   * `Helper\Signature\Hmac`: `ksort` over decoded names). Match it with the connection's
   * `oauth1.parameterOrder` (`natural` or `bytes`).
   */
  signatureHelper?: MagentoSignatureHelper
  /** Magento's `oauth/consumer/enable_integration_as_bearer` (off by default since 2.4.4). */
  integrationAsBearer?: boolean
  /** Store view codes besides `default` and `all`. */
  storeCodes?: string[]
  /** The shop's clock in ms (the timestamp check reads it); default `Date.now`. */
  now?: () => number
  /**
   * Makes the SaaS form (`/<tenant>/V1/…`) take bearer tokens from this IMS, and nothing else.
   * UNVERIFIED, from Adobe's API gateway on its other APIs rather than from a captured SaaS
   * answer: a missing, expired or revoked token is 401 `{"error_code":"401013","message":"Oauth
   * token is not valid"}`, a missing or foreign `x-api-key` 403 (`403000`/`403003`), and the
   * gateway checks before Commerce routes (an unknown path with no token is 401, not 404).
   */
  ims?: Pick<ImsSimulator, 'validate'>
  /** With `ims`: insist on `x-api-key` naming the token's client id. Default true, as Adobe's gateway does elsewhere. */
  requireApiKey?: boolean
}

/** A scripted answer: a status, a status with details, or a normal answer given late. */
export type CommerceAnswer =
  | number
  | { status: number; retryAfter?: number | string; body?: unknown; delayMs?: number }
  | { delayMs: number }

export interface CommerceRequest {
  method: string
  /** The request-target as received: path and query. */
  url: string
  /** Which base form it came in by, and the store view it addressed. */
  form: 'rest' | 'rest-store' | 'saas' | null
  store: string | null
  /** The path after `V1/`, e.g. `orders/42`. */
  resource: string | null
  headers: IncomingHttpHeaders
  body: string
  /** `ims`: an IMS bearer token on the SaaS form; `bearer`: the integration's access token as a bearer. */
  auth: 'oauth1' | 'bearer' | 'ims' | 'none' | 'rejected'
  status: number
  response: unknown
  at: number
}

export interface CommerceSimulator {
  /** e.g. `http://127.0.0.1:41234`; `${url}/` is the seed's `COMMERCE_BASE_URL`. */
  url: string
  /** The activated integration's four values (32-character key and token, as Magento makes them). */
  credentials: OAuth1Credentials
  orders: Map<number, CommerceOrder>
  /** Adds (or replaces) an order; unset fields get realistic values, `extension_attributes` included. */
  seedOrder(order: Partial<CommerceOrder> & { entity_id: number }): CommerceOrder
  /** The next answers, in order, before any check (as a CDN or a crashed PHP would answer); then normal. */
  respondWith(...answers: CommerceAnswer[]): void
  /** Every request received, in order, including rejected ones. */
  requests: CommerceRequest[]
  /** Revokes the access token: every request then gets 401 "Access token has been revoked". */
  revokeAccessToken(): void
  close(): Promise<void>
}

/** Magento ACL resource of the order endpoints, quoted in its "not authorized" 401. */
const ORDERS_ACL = 'Magento_Sales::actions_view'

/**
 * Starts a shop with one activated integration; point an `adobe-commerce` connection at it
 * through the same environment variables the seed uses.
 *
 * @example
 * const commerce = await startCommerceSimulator()
 * commerce.seedOrder({ entity_id: 42, extension_attributes: { gift_registry_id: 7 } })
 * Object.assign(process.env, {
 *   COMMERCE_BASE_URL: `${commerce.url}/`, // → ${url}/rest/V1/orders/42, the seed's URL form
 *   COMMERCE_CONSUMER_KEY: commerce.credentials.consumerKey,
 *   COMMERCE_CONSUMER_SECRET: commerce.credentials.consumerSecret,
 *   COMMERCE_ACCESS_TOKEN: commerce.credentials.accessToken,
 *   COMMERCE_ACCESS_TOKEN_SECRET: commerce.credentials.accessTokenSecret,
 * })
 * commerce.respondWith({ status: 429, retryAfter: 2 }) // the first callback is throttled
 * // … start storehook on your project and publish an order event to it …
 * commerce.requests.map((r) => [r.resource, r.status]) // [['orders/42', 429], ['orders/42', 200]]
 * await commerce.close()
 */
export async function startCommerceSimulator(options: CommerceSimulatorOptions = {}): Promise<CommerceSimulator> {
  const now = options.now ?? Date.now
  const integration: MagentoIntegration = {
    consumerId: 1,
    consumerKey: randomKey(),
    consumerSecret: randomKey(),
    accessToken: randomKey(),
    accessTokenSecret: randomKey(),
  }
  const verifier = new MagentoOAuthVerifier({
    integrations: [integration],
    signatureMethods: options.signatureMethods ?? ['HMAC-SHA256', 'HMAC-SHA1'],
    now,
    helper: options.signatureHelper ?? 'laminas',
  })
  const stores = new Set(['default', 'all', ...(options.storeCodes ?? [])])
  const orders = new Map<number, CommerceOrder>()
  const requests: CommerceRequest[] = []
  const script: Exclude<CommerceAnswer, number>[] = []
  const timers = new Set<NodeJS.Timeout>()

  const later = (ms: number, run: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      run()
    }, ms)
    timers.add(timer)
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const url = req.url ?? '/'
      const route = parseRoute(url, stores)
      const record: CommerceRequest = {
        method: req.method ?? 'GET',
        url,
        form: route?.form ?? null,
        store: route?.store ?? null,
        resource: route?.resource ?? null,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        auth: 'none',
        status: 0,
        response: undefined,
        at: Date.now(),
      }
      requests.push(record)
      const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
        record.status = status
        record.response = body
        if (res.destroyed) return // the client gave up (its timeout) while we were slow
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
        res.end(JSON.stringify(body))
      }

      const answer = script.shift()
      if (answer && 'status' in answer) {
        const headers: Record<string, string> = answer.retryAfter === undefined ? {} : { 'retry-after': String(answer.retryAfter) }
        const reply = () => send(answer.status, answer.body ?? scriptedBody(answer.status), headers)
        return answer.delayMs ? later(answer.delayMs, reply) : reply()
      }
      const respond = () => handle(record, route, req.headers, send)
      return answer ? later(answer.delayMs, respond) : respond()
    })
  })

  function handle(
    record: CommerceRequest,
    route: Route | undefined,
    headers: IncomingHttpHeaders,
    send: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ): void {
    const authorization = headers.authorization
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1]
    const ims = route?.form === 'saas' ? options.ims : undefined
    if (ims) {
      const refused = imsRefusal(ims, bearer, headers['x-api-key'], options.requireApiKey ?? true)
      if (refused) {
        record.auth = bearer === undefined ? 'none' : 'rejected'
        return send(refused.status, refused.body)
      }
      record.auth = 'ims'
    }
    // Magento matches the route before it authenticates: an unknown path is 404 whatever the credentials.
    const match = route && matchResource(record.method, route.resource)
    if (!match) return send(404, { message: 'Request does not match any route.' })

    if (ims) {
      // The gateway has let it through: Commerce trusts it.
    } else if (bearer !== undefined) {
      // An integration's access token is a bearer token only where the shop allows it (2.4.4+).
      const ok = options.integrationAsBearer === true && bearer === integration.accessToken && !integration.revoked
      if (!ok) return send(401, notAuthorized())
      record.auth = 'bearer'
    } else {
      const outcome = verifier.verify({ method: record.method, url: `http://${headers.host ?? ''}${record.url}`, authorization })
      if (outcome.result === 'error') {
        record.auth = 'rejected'
        return send(outcome.status, outcome.body)
      }
      if (outcome.result === 'anonymous') return send(401, notAuthorized())
      record.auth = 'oauth1'
    }

    if (match.id !== undefined) {
      const order = /^\d+$/.test(match.id) ? orders.get(Number(match.id)) : undefined
      if (!order) return send(404, { message: "The entity that was requested doesn't exist. Verify the entity and try again." })
      return send(200, order)
    }
    try {
      const criteria = phpNestedQuery(new URLSearchParams(record.url.split('?')[1] ?? '')).searchCriteria
      return send(200, search([...orders.values()], criteria))
    } catch (error) {
      if (!(error instanceof SearchCriteriaError)) throw error
      const required = error.message.startsWith('"%fieldName"')
      return send(400, required ? { message: error.message, parameters: { fieldName: 'searchCriteria' } } : { message: error.message })
    }
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    credentials: {
      consumerKey: integration.consumerKey,
      consumerSecret: integration.consumerSecret,
      accessToken: integration.accessToken,
      accessTokenSecret: integration.accessTokenSecret,
    },
    orders,
    seedOrder(order) {
      const full = { ...sampleOrder(order.entity_id), ...order }
      orders.set(order.entity_id, full)
      return full
    },
    respondWith(...answers) {
      script.push(...answers.map((answer) => (typeof answer === 'number' ? { status: answer } : answer)))
    },
    requests,
    revokeAccessToken() {
      integration.revoked = true
    },
    close() {
      for (const timer of timers) clearTimeout(timer)
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

interface Route {
  form: 'rest' | 'rest-store' | 'saas'
  store: string
  resource: string
}

/**
 * The three base forms. An unknown store code is not an error of its own in Magento: the code is
 * then read as part of the path, which matches no route (404).
 */
function parseRoute(url: string, stores: Set<string>): Route | undefined {
  const path = url.split('?')[0] as string
  let m = /^\/rest\/V1\/(.*)$/.exec(path)
  if (m) return { form: 'rest', store: 'default', resource: m[1] as string }
  m = /^\/rest\/([^/]+)\/V1\/(.*)$/.exec(path)
  if (m) return stores.has(m[1] as string) ? { form: 'rest-store', store: m[1] as string, resource: m[2] as string } : undefined
  m = /^\/(?:[^/]+\/)?V1\/(.*)$/.exec(path)
  if (m && !path.startsWith('/rest/')) return { form: 'saas', store: 'default', resource: m[1] as string }
  return undefined
}

function matchResource(method: string, resource: string): { id?: string } | undefined {
  if (method !== 'GET') return undefined
  if (resource === 'orders') return {}
  const m = /^orders\/([^/]+)$/.exec(resource)
  return m ? { id: m[1] as string } : undefined
}

/** The gateway's answer to an IMS-authenticated call it refuses, or `undefined` to let it through. */
function imsRefusal(
  ims: Pick<ImsSimulator, 'validate'>,
  bearer: string | undefined,
  apiKey: string | string[] | undefined,
  requireApiKey: boolean,
): { status: number; body: { error_code: string; message: string } } | undefined {
  const check = bearer === undefined ? undefined : ims.validate(bearer)
  if (!check?.valid) return { status: 401, body: { error_code: '401013', message: 'Oauth token is not valid' } }
  if (!requireApiKey) return undefined
  if (apiKey === undefined) return { status: 403, body: { error_code: '403000', message: 'Api Key is required' } }
  if (apiKey !== check.clientId) return { status: 403, body: { error_code: '403003', message: 'Api Key is invalid' } }
  return undefined
}

function notAuthorized(): MagentoErrorBody {
  return { message: "The consumer isn't authorized to access %resources.", parameters: { resources: ORDERS_ACL } }
}

function scriptedBody(status: number): MagentoErrorBody {
  if (status === 429) return { message: 'Too Many Requests' }
  if (status >= 500) return { message: `Internal Error. Details are available in Magento log file. Report ID: webapi-${randomBytes(6).toString('hex')}` }
  return { message: `simulated ${status}` }
}

/** 32 characters of `[a-z0-9]`, the length and alphabet of Magento's integration keys and tokens. */
function randomKey(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  return [...randomBytes(32)].map((byte) => alphabet[byte % alphabet.length]).join('')
}

/** An order as `GET /V1/orders/{id}` returns one for a simple checkout (fields trimmed to the usual ones). */
function sampleOrder(id: number): CommerceOrder {
  const at = '2026-03-02 10:15:00'
  const item = { item_id: id * 10, sku: 'MJ01-M-Blue', name: 'Beaumont Summit Kit', product_id: 1, qty_ordered: 1, price: 42, row_total: 42 }
  const address = { address_type: 'shipping', firstname: 'Ann', lastname: 'Lee', street: ['1 Main St'], city: 'Austin', region: 'Texas', postcode: '78701', country_id: 'US', telephone: '5125550100' }
  return {
    entity_id: id,
    increment_id: String(id).padStart(9, '0'),
    state: 'new',
    status: 'pending',
    created_at: at,
    updated_at: at,
    store_id: 1,
    customer_email: 'ann.lee@example.com',
    customer_firstname: 'Ann',
    customer_lastname: 'Lee',
    grand_total: 47,
    subtotal: 42,
    order_currency_code: 'USD',
    items: [item],
    billing_address: { ...address, address_type: 'billing' },
    payment: { method: 'checkmo', amount_ordered: 47 },
    extension_attributes: {
      shipping_assignments: [{ shipping: { address, method: 'flatrate_flatrate', total: { shipping_amount: 5 } }, items: [item] }],
      payment_additional_info: [{ key: 'method_title', value: 'Check / Money order' }],
      applied_taxes: [],
      item_applied_taxes: [],
      converting_from_quote: true,
    },
  }
}
