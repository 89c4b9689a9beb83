/**
 * @module
 * A stand-in for Adobe Commerce's side of synchronous webhooks (shared/reference/adobe-commerce.md
 * §2.3, §7.3; `AdobeDocs/commerce-extensibility` `webhooks/{xml-schema,hooks,responses}.md`), so
 * an endpoint can be tested against what Commerce really does with its answer:
 *
 * - hooks are grouped per webhook method into **batches**, run in ascending `order`, one after the
 *   other; the hooks of a batch are sent **in parallel**;
 * - each request is `POST` (or the hook's `method`) with the payload as JSON (or only its `fields`),
 *   the hook's `headers`, `x-adobe-commerce-request-id`, and when enabled the
 *   `x-adobe-commerce-webhook-signature` (RSA-SHA256 over the base64 of the body, with a key pair
 *   generated here as Commerce generates one) and/or `Authorization: Bearer <token>`;
 * - the hard `timeout` aborts the request (0, the default, means no limit, as in Commerce); a
 *   `softTimeout` only logs a notice;
 * - a **required** hook (the default) that times out, answers non-2xx or answers something that
 *   is not operations aborts the flow with its `fallbackErrorMessage`; an optional one is logged;
 * - the answered operations are applied to the payload (`add`/`replace`/`remove` on `/` paths),
 *   an `exception` aborts the flow with its message (or the `fallbackErrorMessage`), `success`
 *   changes nothing; a batch's results are merged in `priority` order;
 * - a hook with a `ttl` (seconds) reuses its answer for an identical URL, body and headers.
 *
 * UNVERIFIED, and so configurable or documented: the merge direction of `priority` (default:
 * higher priority first), whether later batches see earlier batches' changes (here they do),
 * that the request id is left out of the `ttl` cache key (otherwise nothing would ever hit), that
 * only good answers are cached, and Commerce's own generic error message (a placeholder here).
 * Not simulated: `rules`, field `converter`s, context sources, and TLS (`sslVerification`).
 */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'
import { applyOperation, readOperations, selectFields, type HookField, type ReceivedOperation } from './commerce-webhooks/payload.ts'

export type { HookField, ReceivedOperation } from './commerce-webhooks/payload.ts'

export interface CommerceHook {
  /** Unique within its batch. */
  name: string
  url: string
  /** Default `POST`. */
  method?: string
  /** The batch's name; hooks with the same name run together. Default `default`. */
  batch?: string
  /** The batch's order (ascending); the last hook of a batch that sets it wins, as in the Admin. Default 0. */
  order?: number
  /** Merge priority within the batch. Default 0. */
  priority?: number
  /** Default true: a failure aborts the flow. */
  required?: boolean
  /** Hard timeout in ms; 0 (default) means none. */
  timeout?: number
  /** Logs a notice when the answer takes longer, in ms. */
  softTimeout?: number
  /** Seconds to reuse an answer for the same URL, body and headers; 0 (default) means no cache. */
  ttl?: number
  headers?: Record<string, string>
  /** Send only these fields (default: the whole payload). */
  fields?: HookField[]
  /** The abort message when the hook fails or its exception has none. */
  fallbackErrorMessage?: string
}

export interface CommerceWebhooksSimulatorOptions {
  /**
   * Webhook method (`plugin.magento.out_of_process_shipping_methods.api.shipping_rate_repository.get_rates`)
   * → its hooks. More can be set later with {@link CommerceWebhooksSimulator.setHooks}.
   */
  webhooks?: Record<string, CommerceHook[]>
  /** Sign requests, with a key pair generated at start. Default true. */
  signing?: boolean
  /** Sent as `Authorization: Bearer <token>` (a static token, or one from an IMS simulator). */
  bearerToken?: string | (() => string | Promise<string>)
  /** Which hook's operations are applied first within a batch. UNVERIFIED; default `higher-first`. */
  priorityOrder?: 'higher-first' | 'lower-first'
  /** The clock of the `ttl` cache, in ms. Default `Date.now`. */
  now?: () => number
}

export type HookOutcome = 'ok' | 'hard-timeout' | 'status' | 'network' | 'invalid-response'

export interface HookCall {
  hook: string
  batch: string
  /** Null when no answer came (timeout, network error). */
  status: number | null
  durationMs: number
  cached: boolean
  outcome: HookOutcome
  operations: ReceivedOperation[] | null
  /** What was sent (for a cached answer: what would have been). */
  request: { method: string; url: string; headers: Record<string, string>; body: string }
}

export interface WebhookLogEntry {
  level: 'info' | 'notice' | 'warning' | 'error'
  event: 'request' | 'cache-hit' | 'soft-timeout' | 'hard-timeout' | 'status' | 'network' | 'invalid-response' | 'operation' | 'exception' | 'no-hard-timeout'
  hook?: string
  message: string
}

export interface DispatchResult {
  /** The payload with every applied operation: what the webhook method goes on with. */
  payload: Record<string, any>
  /** Set when the flow was aborted: what Commerce throws. */
  exception?: { message: string; class: string; hook: string; reason: 'exception' | Exclude<HookOutcome, 'ok'> }
  log: WebhookLogEntry[]
  calls: HookCall[]
  requestId: string
}

export interface CommerceWebhooksSimulator {
  /** The public key the Admin would show (PEM), or null without signing. */
  readonly publicKeyPem: string | null
  /** Required hooks without a hard timeout, one sentence each (§7.4 item 9). */
  readonly warnings: string[]
  /**
   * Sets (replaces) the hooks of a webhook method, as editing them in the Admin does; an empty
   * list removes the method. Useful when the endpoint's URL is known only after the key is.
   */
  setHooks(webhookMethod: string, hooks: CommerceHook[]): void
  /** Runs a webhook method's hooks for `payload` (not changed; the result has the new payload). */
  dispatch(webhookMethod: string, payload: Record<string, unknown>, options?: { requestId?: string }): Promise<DispatchResult>
  /** Generates a new key pair, as turning signing on again in the Admin does; returns the new public key. */
  regenerateKeys(): string
  /** Forgets every cached answer. */
  clearCache(): void
  /** Aborts requests still waiting (hooks without a hard timeout). */
  close(): void
}

/** Commerce's own default exception class. */
export const LOCALIZED_EXCEPTION = 'Magento\\Framework\\Exception\\LocalizedException'
/** A placeholder for Commerce's generic message when a hook has no `fallbackErrorMessage` (its real text is UNVERIFIED). */
export const COMMERCE_GENERIC_ERROR = 'The webhook could not be processed. Try again later.'

/**
 * @example
 * const commerce = createCommerceWebhooksSimulator({ webhooks: { [SHIPPING]: [{ name: 'dps', url: `${url}/external/shipping-rates`, timeout: 5000, softTimeout: 1000 }] } })
 * // the project: publicKey: commerce.publicKeyPem
 * const { payload, exception, log } = await commerce.dispatch(SHIPPING, { rateRequest: { dest_postcode: '40000' }, result: [] })
 */
export function createCommerceWebhooksSimulator(options: CommerceWebhooksSimulatorOptions = {}): CommerceWebhooksSimulator {
  const { signing = true, priorityOrder = 'higher-first', now = Date.now } = options
  const webhooks = new Map<string, CommerceHook[]>()
  const setHooks = (method: string, hooks: CommerceHook[]): void => {
    if (!Array.isArray(hooks)) throw new TypeError(`webhooks["${method}"]: expected a list of hooks`)
    if (hooks.length === 0) webhooks.delete(method)
    else webhooks.set(method, hooks.map((hook) => checkHook(method, hook)))
  }
  for (const [method, hooks] of Object.entries(options.webhooks ?? {})) setHooks(method, hooks)
  let privateKey: KeyObject | null = null
  let publicKeyPem: string | null = null
  const regenerateKeys = (): string => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
    privateKey = pair.privateKey
    publicKeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string
    return publicKeyPem
  }
  if (signing) regenerateKeys()
  const cache = new Map<string, { expires: number; status: number; operations: ReceivedOperation[] }>()
  const inFlight = new Set<AbortController>()
  const warnings = (): string[] =>
    [...webhooks].flatMap(([method, hooks]) =>
      hooks
        .filter((hook) => hook.required !== false && !hook.timeout)
        .map((hook) => `${method} / ${hook.batch ?? 'default'} / ${hook.name}: a required hook without a hard timeout; if its endpoint hangs, the shopper waits forever`),
    )

  async function call(hook: CommerceHook, batch: string, payload: Record<string, unknown>, requestId: string, log: WebhookLogEntry[]): Promise<HookCall> {
    const method = (hook.method ?? 'POST').toUpperCase()
    const body = JSON.stringify(selectFields(payload, hook.fields))
    const headers: Record<string, string> = { 'content-type': 'application/json', ...hook.headers }
    if (options.bearerToken !== undefined) {
      headers.authorization = `Bearer ${typeof options.bearerToken === 'function' ? await options.bearerToken() : options.bearerToken}`
    }
    if (privateKey) headers['x-adobe-commerce-webhook-signature'] = sign('sha256', Buffer.from(Buffer.from(body).toString('base64')), privateKey).toString('base64')
    const cacheKey = JSON.stringify([method, hook.url, body, Object.entries(headers).sort()])
    headers['x-adobe-commerce-request-id'] = requestId
    const request = { method, url: hook.url, headers, body }
    const base = { hook: hook.name, batch, request }

    const cached = hook.ttl ? cache.get(cacheKey) : undefined
    if (cached && cached.expires > now()) {
      log.push({ level: 'info', event: 'cache-hit', hook: hook.name, message: `${hook.name}: answered from the cache (ttl ${hook.ttl} s)` })
      return { ...base, status: cached.status, durationMs: 0, cached: true, outcome: 'ok', operations: cached.operations }
    }
    log.push({ level: 'info', event: 'request', hook: hook.name, message: `${hook.name}: ${method} ${hook.url}` })
    const controller = new AbortController()
    inFlight.add(controller)
    let timedOut = false
    const timer = hook.timeout ? setTimeout(() => ((timedOut = true), controller.abort()), hook.timeout) : undefined
    const started = performance.now()
    const result = (outcome: HookOutcome, status: number | null, operations: ReceivedOperation[] | null): HookCall => {
      const durationMs = performance.now() - started
      if (hook.softTimeout && durationMs > hook.softTimeout && outcome !== 'hard-timeout') {
        log.push({ level: 'notice', event: 'soft-timeout', hook: hook.name, message: `${hook.name}: took ${Math.round(durationMs)} ms, over its soft timeout of ${hook.softTimeout} ms` })
      }
      return { ...base, status, durationMs, cached: false, outcome, operations }
    }
    try {
      const response = await fetch(hook.url, { method, headers, signal: controller.signal, ...(method === 'GET' || method === 'HEAD' ? {} : { body }) })
      const text = await response.text()
      if (response.status < 200 || response.status > 299) {
        log.push({ level: 'error', event: 'status', hook: hook.name, message: `${hook.name}: answered ${response.status}` })
        return result('status', response.status, null)
      }
      const operations = readOperations(text)
      if (typeof operations === 'string') {
        log.push({ level: 'error', event: 'invalid-response', hook: hook.name, message: `${hook.name}: ${operations}` })
        return result('invalid-response', response.status, null)
      }
      if (hook.ttl) cache.set(cacheKey, { expires: now() + hook.ttl * 1000, status: response.status, operations })
      return result('ok', response.status, operations)
    } catch (error) {
      if (timedOut) {
        log.push({ level: 'error', event: 'hard-timeout', hook: hook.name, message: `${hook.name}: aborted after its hard timeout of ${hook.timeout} ms` })
        return result('hard-timeout', null, null)
      }
      log.push({ level: 'error', event: 'network', hook: hook.name, message: `${hook.name}: ${(error as Error).message}` })
      return result('network', null, null)
    } finally {
      clearTimeout(timer)
      inFlight.delete(controller)
    }
  }

  async function dispatch(webhookMethod: string, input: Record<string, unknown>, dispatchOptions: { requestId?: string } = {}): Promise<DispatchResult> {
    const hooks = webhooks.get(webhookMethod)
    if (!hooks) throw new Error(`no hooks are configured for the webhook method "${webhookMethod}"; configured: ${[...webhooks.keys()].join(', ') || 'none'}`)
    const requestId = dispatchOptions.requestId ?? randomUUID()
    const payload = structuredClone(input) as Record<string, any>
    const log: WebhookLogEntry[] = []
    const calls: HookCall[] = []
    for (const hook of hooks) {
      if (hook.required !== false && !hook.timeout) {
        log.push({ level: 'warning', event: 'no-hard-timeout', hook: hook.name, message: `${hook.name}: required, and no hard timeout: a hung endpoint blocks the flow` })
      }
    }
    for (const [batch, members] of batches(hooks)) {
      // Sent together; merged only once every answer (or timeout) is in.
      const results = await Promise.all(members.map((hook) => call(hook, batch, payload, requestId, log)))
      calls.push(...results)
      const merged = members.map((hook, i) => ({ hook, result: results[i]! }))
      merged.sort((a, b) => ((a.hook.priority ?? 0) - (b.hook.priority ?? 0)) * (priorityOrder === 'higher-first' ? -1 : 1))
      for (const { hook, result } of merged) {
        if (result.outcome !== 'ok') {
          if (hook.required === false) continue
          const message = hook.fallbackErrorMessage ?? COMMERCE_GENERIC_ERROR
          log.push({ level: 'error', event: 'exception', hook: hook.name, message: `${hook.name}: required hook failed (${result.outcome}); the flow is aborted` })
          return { payload, exception: { message, class: LOCALIZED_EXCEPTION, hook: hook.name, reason: result.outcome }, log, calls, requestId }
        }
        for (const operation of result.operations!) {
          if (operation.op === 'success') continue
          if (operation.op === 'exception') {
            // The class is read from `class` (the SDK's field) or `type` (responses.md): UNVERIFIED which Commerce reads.
            const message = operation.message || hook.fallbackErrorMessage || COMMERCE_GENERIC_ERROR
            log.push({ level: 'error', event: 'exception', hook: hook.name, message: `${hook.name}: exception: ${message}` })
            return { payload, exception: { message, class: operation.class || (operation as { type?: string }).type || LOCALIZED_EXCEPTION, hook: hook.name, reason: 'exception' }, log, calls, requestId }
          }
          const problem = applyOperation(payload, operation)
          log.push(
            problem
              ? { level: problem.level === 'error' ? 'error' : 'notice', event: 'operation', hook: hook.name, message: `${hook.name}: ${problem.message}` }
              : { level: 'info', event: 'operation', hook: hook.name, message: `${hook.name}: ${operation.op} ${operation.path}` },
          )
        }
      }
    }
    return { payload, log, calls, requestId }
  }

  return {
    get publicKeyPem() {
      return publicKeyPem
    },
    get warnings() {
      return warnings()
    },
    setHooks,
    dispatch,
    regenerateKeys,
    clearCache: () => cache.clear(),
    close() {
      for (const controller of inFlight) controller.abort()
    },
  }
}

/** Hooks grouped by batch, batches sorted by order (ties: first seen first). */
function batches(hooks: CommerceHook[]): [string, CommerceHook[]][] {
  const groups = new Map<string, { order: number; hooks: CommerceHook[] }>()
  for (const hook of hooks) {
    const name = hook.batch ?? 'default'
    const group = groups.get(name) ?? { order: 0, hooks: [] }
    if (hook.order !== undefined) group.order = hook.order
    group.hooks.push(hook)
    groups.set(name, group)
  }
  return [...groups].sort((a, b) => a[1].order - b[1].order).map(([name, group]) => [name, group.hooks])
}

function checkHook(method: string, hook: CommerceHook): CommerceHook {
  const where = `webhooks["${method}"] hook "${hook?.name}"`
  if (typeof hook?.name !== 'string' || hook.name === '') throw new TypeError(`webhooks["${method}"]: every hook needs a name`)
  if (typeof hook.url !== 'string' || !/^https?:\/\//.test(hook.url)) throw new TypeError(`${where}: url: expected an http(s) URL`)
  for (const field of ['timeout', 'softTimeout', 'ttl'] as const) {
    const value = hook[field]
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw new TypeError(`${where}: ${field}: expected a non-negative integer`)
  }
  return hook
}
