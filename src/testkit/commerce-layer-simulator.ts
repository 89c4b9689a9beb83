/**
 * @module
 * A stand-in for Commerce Layer (reference/commerce-layer.md): a real HTTP server on 127.0.0.1
 * that plays both of its roles.
 * - **Caller.** It calls external resources (order validation, prices, shipping costs, promotions,
 *   taxes, payment gateways) with each kind's documented payload and default includes, signed
 *   exactly as Commerce Layer signs (./commerce-layer/sign.ts), under the 3 s timeout, and applies
 *   the per-kind outcomes (price → 422, payment → failed transaction with 200, others skipped);
 *   it keeps each owner's `circuit_state` / `circuit_failure_count` (open above 30 consecutive
 *   failures, no half-open, closed only by `_reset_circuit`); it sends webhooks with
 *   `X-CommerceLayer-Topic`, a 5 s timeout and up to 10 retries.
 * - **API.** It serves `POST /oauth/token` (client credentials) and `/api/*` (orders, line items,
 *   SKUs, prices, external resources with `_reset_circuit`, events with `_trigger`, …) with the
 *   documented rate limits, `X-Ratelimit-*` headers and 429s, and the asynchronous-payment
 *   `webhook_endpoint_url` of its gateway.
 * Both sides share one sample organization (./commerce-layer/seed.ts), so a price an endpoint
 * returns shows up on the line item the API serves.
 */
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { apiError, handleApi, JSON_API, type ApiContext } from './commerce-layer/api.ts'
import { asyncPaymentUpdate } from './commerce-layer/async-payments.ts'
import { failureCount, isOpen, resetCircuit, type BreakerNotification } from './commerce-layer/breaker.ts'
import { handleControl } from './commerce-layer/controls.ts'
import { callExternal, type ExternalCallOptions, type ExternalCallRecord, type ExternalEngine } from './commerce-layer/external.ts'
import { PAYMENT_ACTIONS, type ExternalKind, type PaymentAction } from './commerce-layer/kinds.ts'
import { TokenIssuer, type TokenRequest } from './commerce-layer/oauth.ts'
import { documentedRateLimits, SlidingWindows, type RateLimits } from './commerce-layer/rate-limit.ts'
import { seedSample, type SampleData } from './commerce-layer/seed.ts'
import { newSharedSecret } from './commerce-layer/sign.ts'
import { newId, ResourceStore, type Ref } from './commerce-layer/store.ts'
import { eventFor, fireTopic, type EventCallback, type WebhookDelivery, type WebhookEngine } from './commerce-layer/webhooks.ts'

export type { BreakerNotification } from './commerce-layer/breaker.ts'
export type { ExternalCallOptions, ExternalCallRecord } from './commerce-layer/external.ts'
export type { ExternalKind, PaymentAction } from './commerce-layer/kinds.ts'
export type { TokenRequest } from './commerce-layer/oauth.ts'
export type { RateLimitRule, RateLimits } from './commerce-layer/rate-limit.ts'
export type { SampleData } from './commerce-layer/seed.ts'
export type { Ref, ResourceStore, StoredResource } from './commerce-layer/store.ts'
export type { EventCallback, WebhookDelivery } from './commerce-layer/webhooks.ts'
export { DEFAULT_INCLUDES, EXTERNAL_KINDS, PAYMENT_ACTIONS } from './commerce-layer/kinds.ts'
export { signCommerceLayer } from './commerce-layer/sign.ts'

export interface CommerceLayerSimulatorOptions {
  port?: number
  /** `meta.mode` of payloads and which rate limits apply. Default `test`. */
  mode?: 'test' | 'live'
  /** The organization's slug, shown in tokens. Default `storehook-sim`. */
  slug?: string
  /** The integration application's credentials; random ones by default. */
  clientId?: string
  clientSecret?: string
  /** One `shared_secret` for every external resource and webhook (a project's `CL_SHARED_SECRET`); default a random one each. */
  sharedSecret?: string
  /** `expires_in` of new tokens, in seconds. Default 7200, an integration token's default lifetime. */
  tokenExpiresIn?: number
  /** External resources' timeout. Default 3000 (the seed's figure; UNVERIFIED in the reference). */
  externalTimeoutMs?: number
  /** Webhooks' timeout. Default 5000 (documented). */
  webhookTimeoutMs?: number
  /** Retries after a failed webhook delivery. Default 10 (documented). */
  webhookRetries?: number
  /** The wait before retry n (1-based). UNVERIFIED, the intervals are undocumented. Default 2^(n-1) s, at most 60 s. */
  webhookRetryDelayMs?: (retry: number) => number
  /** Whether a 4xx business error counts toward the breaker. UNVERIFIED; default false, as the reference suggests. */
  countBusinessErrors?: boolean
  /** Whether a 2xx that is not a usable answer counts toward the breaker. UNVERIFIED; default true. */
  countInvalidResponses?: boolean
  /** `Content-Type` of outgoing calls. UNVERIFIED; default `application/json`. */
  contentType?: string
  /** Overrides the documented rate limits (e.g. small ones for a test). */
  rateLimits?: { token?: RateLimits['token']; cacheable?: Partial<RateLimits['cacheable']>; uncacheable?: Partial<RateLimits['uncacheable']> }
  /** The clock tokens and rate limits read, in ms; default `Date.now`. */
  now?: () => number
  /** Called after every external call and every webhook attempt (the CLI prints them). */
  onExternalCall?: (call: ExternalCallRecord) => void
  onEventCallback?: (callback: EventCallback) => void
}

/** A scripted answer of `/api/*` or `/oauth/token`: a status, a status with details, or the normal answer given late. */
export type CommerceLayerAnswer = number | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number } | { delayMs: number }

/** One `/api/*` request as received. */
export interface ApiRequestRecord {
  method: string
  /** Path and query, e.g. `/api/orders/xYZ?include=line_items`. */
  url: string
  authorization: string | undefined
  body: string
  status: number
  at: number
}

export interface CommerceLayerSimulator {
  /** e.g. `http://127.0.0.1:41234`: a `commerce-layer` connection's `baseUrl`. */
  url: string
  /** `${url}/oauth/token`: the connection's `tokenUrl`. */
  tokenUrl: string
  credentials: { clientId: string; clientSecret: string }
  organization: { id: string; slug: string; mode: 'test' | 'live' }
  /** The seeded resources (a market with a cart, gateway, promotion, tax calculator…). */
  sample: SampleData
  /** Every resource, to read or change directly. */
  store: ResourceStore
  /**
   * Points a kind at an endpoint: sets the URL where Commerce Layer keeps it (the market for
   * prices and order validation, else the owner), and its `shared_secret` and `external_includes`.
   * For `payment`, `url` is used for every action unless `urls` names one per action.
   */
  configure(
    kind: ExternalKind,
    options: { url?: string; urls?: Partial<Record<PaymentAction, string>>; sharedSecret?: string; externalIncludes?: string[] },
  ): { resource: Ref; sharedSecret: string }
  /** Makes one call of `kind` as Commerce Layer would, and applies its outcome. */
  call(kind: ExternalKind, options?: ExternalCallOptions): Promise<ExternalCallRecord>
  /** Every external call made, in order. */
  externalCalls: ExternalCallRecord[]
  /** A breaker owner's state, e.g. `circuit(sim.configure('tax', …).resource)`. */
  circuit(resource: Ref): { state: 'closed' | 'open'; failureCount: number }
  /** What `PATCH … {_reset_circuit: true}` does. */
  resetCircuit(resource: Ref): void
  /** The e-mails Commerce Layer would send: at 10 (webhooks 5) consecutive failures, and when a breaker opens. */
  notifications: BreakerNotification[]
  /** Adds a webhook on `topic`; its `shared_secret` is returned. */
  createWebhook(options: { topic: string; callbackUrl: string; includeResources?: string[]; sharedSecret?: string; name?: string }): { resource: Ref; sharedSecret: string }
  /** Sends `resource` to every webhook on `topic`; resolves when each delivered or gave up. */
  fire(topic: string, resource: Ref): Promise<WebhookDelivery[]>
  /** Every webhook attempt, in order (each is also an `event_callbacks` resource). */
  eventCallbacks: EventCallback[]
  /** Resolves when no background delivery (from `_trigger`) is under way. */
  idle(): Promise<void>
  /** Every token request received, in order. */
  tokenRequests: TokenRequest[]
  /** Every `/api/*` request received, in order. */
  apiRequests: ApiRequestRecord[]
  /** `expires_in` of tokens issued from now on, in seconds. */
  tokenExpiresIn: number
  /** Every token issued so far, oldest first. */
  tokens(): string[]
  /** Every token issued so far is expired from now. */
  expireTokens(): void
  /** Every token issued so far is revoked. */
  revokeTokens(): void
  /** The next `/api/*` answers, in order, before any check; then normal. */
  respondWith(...answers: CommerceLayerAnswer[]): void
  /** The next `/oauth/token` answers, in order, before any check; then normal. */
  respondToTokenWith(...answers: CommerceLayerAnswer[]): void
  close(): Promise<void>
}

/**
 * Starts a simulated Commerce Layer organization.
 *
 * @example
 * const cl = await startCommerceLayerSimulator({ sharedSecret: process.env.CL_SHARED_SECRET })
 * cl.configure('price', { url: 'http://127.0.0.1:3000/external/price' })
 * const call = await cl.call('price') // reprices the sample line item
 * call.api.status // 200, or 422 if the endpoint failed, timed out or the breaker is open
 * call.circuit // { state: 'closed', failureCount: 0 }
 * // a `commerce-layer` connection for the same organization:
 * const connection = { kind: 'commerce-layer', baseUrl: cl.url, tokenUrl: cl.tokenUrl, ...cl.credentials }
 * await cl.close()
 */
export async function startCommerceLayerSimulator(options: CommerceLayerSimulatorOptions = {}): Promise<CommerceLayerSimulator> {
  const now = options.now ?? Date.now
  const mode = options.mode ?? 'test'
  const organization = { id: newId(), slug: options.slug ?? 'storehook-sim', mode }
  const credentials = { clientId: options.clientId ?? randomBytes(24).toString('base64url'), clientSecret: options.clientSecret ?? randomBytes(32).toString('base64url') }
  const secret = () => options.sharedSecret ?? newSharedSecret()
  const documented = documentedRateLimits(mode)
  const limits: RateLimits = {
    token: options.rateLimits?.token ?? documented.token,
    cacheable: { ...documented.cacheable, ...options.rateLimits?.cacheable },
    uncacheable: { ...documented.uncacheable, ...options.rateLimits?.uncacheable },
  }
  const windows = new SlidingWindows()
  const store = new ResourceStore({ mode, organization_id: organization.id }, now)
  const issuer = new TokenIssuer({ credentials, organization, expiresIn: options.tokenExpiresIn ?? 7200, now })
  const externalCalls: ExternalCallRecord[] = []
  const eventCallbacks: EventCallback[] = []
  const notifications: BreakerNotification[] = []
  const tokenRequests: TokenRequest[] = []
  const apiRequests: ApiRequestRecord[] = []
  const apiScript: Exclude<CommerceLayerAnswer, number>[] = []
  const tokenScript: Exclude<CommerceLayerAnswer, number>[] = []
  const timers = new Map<NodeJS.Timeout, () => void>()
  const background = new Set<Promise<unknown>>()
  let closed = false

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve, reject) => {
      if (closed) return reject(new Error('simulator closed'))
      const timer = setTimeout(() => {
        timers.delete(timer)
        resolve()
      }, ms)
      timers.set(timer, () => reject(new Error('simulator closed')))
    })

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
        if (res.destroyed) return
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
        res.end(body === undefined ? undefined : JSON.stringify(body))
      }
      route(req, raw, send).catch((error: unknown) => send(500, apiError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error', String(error))))
    })
  })

  /** Applies a scripted answer, or runs `normal`, late if the script says so. */
  async function scripted(script: Exclude<CommerceLayerAnswer, number>[], normal: () => Promise<[number, unknown, Record<string, string>?]>): Promise<[number, unknown, Record<string, string>?]> {
    const answer = script.shift()
    if (answer?.delayMs) await sleep(answer.delayMs)
    if (answer && 'status' in answer) return [answer.status, answer.body ?? apiError(answer.status, 'SIMULATED', `simulated ${answer.status}`, `a scripted ${answer.status}`), answer.headers]
    return normal()
  }

  async function route(req: IncomingMessage, raw: string, send: (status: number, body: unknown, headers?: Record<string, string>) => void): Promise<void> {
    const [path = '/', search = ''] = (req.url ?? '/').split(/\?(.*)/s)
    const method = req.method ?? 'GET'
    if (path === '/oauth/token') {
      const record: TokenRequest = { contentType: req.headers['content-type'], grantType: null, clientId: null, scope: null, secretMatched: false, status: 0, at: Date.now() }
      tokenRequests.push(record)
      const [status, body, headers] = await scripted(tokenScript, async () => {
        if (method !== 'POST') return [405, { error: 'invalid_request', error_description: 'use POST' }]
        const admitted = windows.admit([['token', limits.token]], now())
        if (!admitted.allowed) return [429, { error: 'too_many_requests', error_description: 'Too many requests' }, { ...admitted.headers }]
        return [...issuer.answer(raw, req.headers['content-type'], record), { ...admitted.headers }]
      })
      record.status = status
      return send(status, body, { 'cache-control': 'no-store', ...headers })
    }
    if (path.startsWith('/api/')) {
      const record: ApiRequestRecord = { method, url: req.url ?? path, authorization: req.headers.authorization, body: raw, status: 0, at: Date.now() }
      apiRequests.push(record)
      const [status, body, headers] = await scripted(apiScript, async () => {
        const answer = await handleApi(api, {
          method,
          path: path.slice('/api/'.length),
          query: new URLSearchParams(search),
          accept: req.headers.accept,
          contentType: req.headers['content-type'],
          authorization: req.headers.authorization,
          body: raw,
        })
        return [answer.status, answer.body, answer.headers]
      })
      record.status = status
      return send(status, body, { 'content-type': JSON_API, ...headers })
    }
    const gateway = /^\/webhook_callbacks\/external_gateways\/([^/]+)$/.exec(path)
    if (gateway && method === 'POST') {
      const signature = req.headers['x-commercelayer-signature']
      return send(...asyncPaymentUpdate(store, gateway[1] as string, raw, Array.isArray(signature) ? signature[0] : signature))
    }
    const controlled = await handleControl({ call: simulator.call, fire: simulator.fire, defaultOrderId: simulator.sample.order.id }, method, path, new URLSearchParams(search))
    if (controlled) return send(...controlled)
    return send(404, apiError(404, 'NOT_FOUND', 'Not found', `nothing at ${path}`))
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const sample = seedSample(store, secret, url)
  const document = (resource: Parameters<ResourceStore['serialize']>[0]) => store.serialize(resource, { linkBase: url })

  const engine: ExternalEngine = {
    store,
    timeoutMs: options.externalTimeoutMs ?? 3000,
    contentType: options.contentType ?? 'application/json',
    countBusinessErrors: options.countBusinessErrors ?? false,
    countInvalidResponses: options.countInvalidResponses ?? true,
    sample: { order: sample.order, lineItem: sample.lineItems[0] as SampleData['order'], shipment: sample.shipment, promotion: sample.externalPromotion, authorization: sample.authorization, capture: sample.capture },
    document,
    notify: (notification) => notifications.push(notification),
    record(call) {
      externalCalls.push(call)
      options.onExternalCall?.(call)
    },
    now,
  }
  const webhooks: WebhookEngine = {
    store,
    timeoutMs: options.webhookTimeoutMs ?? 5000,
    retries: options.webhookRetries ?? 10,
    retryDelayMs: options.webhookRetryDelayMs ?? ((retry) => Math.min(60_000, 1000 * 2 ** (retry - 1))),
    contentType: options.contentType ?? 'application/json',
    notify: (notification) => notifications.push(notification),
    record(callback) {
      eventCallbacks.push(callback)
      options.onEventCallback?.(callback)
    },
    sleep,
    now,
  }
  const api: ApiContext = {
    store,
    origin: url,
    issuer,
    windows,
    limits,
    now,
    callExternal: (kind, callOptions) => callExternal(engine, kind, callOptions),
    retrigger(event) {
      const last = event.attributes.last_resource as Ref | undefined
      if (!last) return
      const delivery = fireTopic(webhooks, String(event.attributes.name), last).catch(() => undefined)
      background.add(delivery)
      void delivery.finally(() => background.delete(delivery))
    },
  }

  const simulator: CommerceLayerSimulator = {
    url,
    tokenUrl: `${url}/oauth/token`,
    credentials,
    organization,
    sample,
    store,
    configure(kind, settings) {
      const owner = {
        'order-validation': sample.market,
        price: sample.market,
        shipping: sample.shippingMethod,
        promotion: sample.externalPromotion,
        tax: sample.externalTaxCalculator,
        payment: sample.externalGateway,
      }[kind]
      const urls: Record<string, string | undefined> =
        kind === 'payment' ? Object.fromEntries(PAYMENT_ACTIONS.map((action) => [`${action}_url`, settings.urls?.[action] ?? settings.url]))
        : { [{ 'order-validation': 'external_order_validation_url', price: 'external_prices_url', shipping: 'external_prices_url', promotion: 'promotion_url', tax: 'tax_calculator_url' }[kind]]: settings.url }
      const changes: Record<string, unknown> = Object.fromEntries(Object.entries(urls).filter(([, value]) => value !== undefined))
      if (settings.sharedSecret !== undefined) changes.shared_secret = settings.sharedSecret
      if (settings.externalIncludes !== undefined) changes.external_includes = settings.externalIncludes
      store.update(owner, changes)
      return { resource: { type: owner.type, id: owner.id }, sharedSecret: String(owner.attributes.shared_secret) }
    },
    call: (kind, callOptions) => callExternal(engine, kind, callOptions),
    externalCalls,
    circuit(resource) {
      const found = store.get(resource.type, resource.id)
      if (!found) throw new Error(`no ${resource.type} ${resource.id}`)
      return { state: isOpen(found.attributes) ? 'open' : 'closed', failureCount: failureCount(found.attributes) }
    },
    resetCircuit(resource) {
      const found = store.get(resource.type, resource.id)
      if (!found) throw new Error(`no ${resource.type} ${resource.id}`)
      resetCircuit(found.attributes)
    },
    notifications,
    createWebhook(settings) {
      const webhook = store.add(
        'webhooks',
        { name: settings.name ?? settings.topic, topic: settings.topic, callback_url: settings.callbackUrl, include_resources: settings.includeResources ?? [], disabled_at: null, shared_secret: settings.sharedSecret ?? secret(), circuit_state: 'closed', circuit_failure_count: 0 },
        { last_event_callbacks: [] },
      )
      store.link(eventFor(store, settings.topic), 'webhooks', { type: 'webhooks', id: webhook.id })
      return { resource: { type: 'webhooks', id: webhook.id }, sharedSecret: String(webhook.attributes.shared_secret) }
    },
    fire: (topic, resource) => fireTopic(webhooks, topic, resource),
    eventCallbacks,
    async idle() {
      while (background.size > 0) await Promise.all([...background])
    },
    tokenRequests,
    apiRequests,
    get tokenExpiresIn() {
      return issuer.expiresIn
    },
    set tokenExpiresIn(seconds: number) {
      issuer.expiresIn = seconds
    },
    tokens: () => issuer.tokens(),
    expireTokens: () => issuer.expireAll(),
    revokeTokens: () => issuer.revokeAll(),
    respondWith(...answers) {
      apiScript.push(...answers.map((answer) => (typeof answer === 'number' ? { status: answer } : answer)))
    },
    respondToTokenWith(...answers) {
      tokenScript.push(...answers.map((answer) => (typeof answer === 'number' ? { status: answer } : answer)))
    },
    close() {
      closed = true
      for (const [timer, abort] of timers) {
        clearTimeout(timer)
        abort()
      }
      timers.clear()
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
  return simulator
}
