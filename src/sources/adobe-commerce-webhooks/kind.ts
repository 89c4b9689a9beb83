/**
 * @module
 * Adobe Commerce webhooks as an external resource kind: Commerce calls `POST /external/<name>`
 * synchronously in the middle of a shopper's flow (shipping rates, tax, payment validation) and
 * waits for a list of operations (shared/reference/adobe-commerce.md §2.2, §2.3, §7.4 item 9).
 *
 * What differs from Commerce Layer's kinds, and why:
 * - **Authentication** is an RSA public key and/or a static bearer token (`./auth.ts`), not a
 *   shared secret; at least one is required, since an unauthenticated endpoint could be fed
 *   invented carts and would answer them.
 * - **Every answer Commerce gets from a handler or a policy is HTTP 200** with operations: a
 *   required hook turns any non-2xx into an aborted flow with a generic message, so an error
 *   status would only lose the message. Deliberate refusals are `exception` operations. Only a
 *   call that is not Commerce's (bad signature: 401) or is broken (not a JSON object: 400) gets
 *   an error status.
 * - **Failure policy** instead of fallback envelopes: when the handler hangs past its deadline,
 *   throws, or answers invalid operations, `fail-closed` (the default) answers
 *   `[{op:'exception'}]` and `fail-open` answers `[{op:'success'}]`. Both are static answers to
 *   the shared fallback machinery, after the optional last good answer.
 * - **No circuit breaker** to mirror: Commerce has none for webhooks.
 */
import { MalformedRequestError } from '../../core/errors.ts'
import { defineExternal, ExternalResourceError, type ExternalHandler, type ExternalKind, type ExternalResourceDefinition, type ExternalResourceOptions, type FallbackOptions, type LoadedKindSetup } from '../external.ts'
import type { SourceRequest } from '../source.ts'
import { bearerCheck, commerceWebhookPublicKeys, REQUEST_ID_HEADER, verifyCommerceWebhookSignature } from './auth.ts'
import { checkOperations, exception, success, type WebhookOperation } from './operations.ts'

/**
 * What Commerce sends: by default `{eventName, data}` for observers, with `subject` and `result`
 * for plugin methods; plugin payloads seen in Adobe's docs and starter kits also carry the
 * method's arguments at the top level (`rateRequest`, `cartId`, `address`), and a hook's `fields`
 * reshape it entirely. So it is typed loosely: a JSON object.
 */
export interface CommerceWebhookPayload {
  eventName?: string
  data?: Record<string, any>
  subject?: any
  result?: any
  [argument: string]: any
}

/** What a Commerce webhook handler's context carries besides the runtime's. */
export interface CommerceWebhookContext {
  /** `x-adobe-commerce-request-id`, to correlate with Commerce's webhook log; null when absent. */
  requestId: string | null
}

/** What a handler returns: one operation or a list, built with `adobeCommerce.add(…)` and siblings. */
export type CommerceWebhookAnswer = WebhookOperation | WebhookOperation[]

export type FailurePolicy = 'fail-open' | 'fail-closed'

export interface CommerceWebhookOptions {
  /**
   * The public key(s) the Commerce Admin shows once webhook signing is enabled (PEM):
   * `env('COMMERCE_WEBHOOK_PUBLIC_KEY')`. Several (a list, or PEMs in one string) during a rotation.
   */
  publicKey?: string | string[]
  /**
   * Static token(s) expected as `Authorization: Bearer <token>` (a header set on the hook). With
   * `publicKey` too, a call needs both.
   */
  bearerToken?: string | string[]
  /**
   * How long the handler may take from the call's arrival before the failure policy answers.
   * Default: `hookTimeoutMs` less 10 %, or 4500 ms without it (the shortest hard timeout in
   * Adobe's checkout starter kit, 5000 ms for shipping rates, less the same 10 % margin).
   */
  deadlineMs?: number
  /** Where the handler runs: `thread` (default: a handler blocking its event loop is cut off) or `inline` (the main thread). */
  isolation?: 'thread' | 'inline'
  /**
   * The hook's hard `timeout` as configured in Commerce, in ms: `deadlineMs` must then be below it
   * (a ConfigError otherwise). 0 (Commerce's default: no limit) is accepted with a warning.
   */
  hookTimeoutMs?: number
  /** What answers a hang, a throw or an invalid answer: default `fail-closed`. */
  onFailure?: FailurePolicy
  /**
   * The `fail-closed` exception's message, shown to the shopper. Default: none, so Commerce shows
   * the hook's `fallbackErrorMessage` (then its own generic message).
   */
  failureMessage?: string
  /** `lastGood`: answer with the last good operations for the same payload before the policy. */
  fallback?: Pick<FallbackOptions<CommerceWebhookPayload, CommerceWebhookAnswer>, 'lastGood'>
}

/** Without `hookTimeoutMs`: the shipping-rates hook's 5000 ms in Adobe's checkout starter kit, less 10 %. */
export const DEFAULT_WEBHOOK_DEADLINE_MS = 4500
/** The deadline keeps this share of the hook's hard timeout; the rest is for the network and the reply. */
export const DEADLINE_SHARE = 0.9
export const DEFAULT_FAILURE_POLICY: FailurePolicy = 'fail-closed'
const OWN_OPTIONS = ['publicKey', 'bearerToken', 'hookTimeoutMs', 'onFailure', 'failureMessage'] as const
const EXCEPTION_CODE = 'WEBHOOK_EXCEPTION'

/**
 * Thrown by a handler to abort the shopper's flow on purpose (the product is out of stock, the
 * address cannot be served): Commerce gets `{op:'exception', message, class?}` with status 200,
 * recorded as `refused`, and the failure policy is not involved. Returning
 * `adobeCommerce.exception(message)` does the same.
 *
 * @example
 * throw new adobeCommerce.WebhookException('We do not ship to PO boxes')
 */
export class WebhookException extends ExternalResourceError {
  readonly exceptionClass: string | undefined
  constructor(message: string, exceptionClass?: string) {
    super(EXCEPTION_CODE, message, { status: 422, ...(exceptionClass ? { data: { class: exceptionClass } } : {}) })
    this.name = 'WebhookException'
    this.exceptionClass = exceptionClass
  }
}

export const commerceWebhookKind: ExternalKind<CommerceWebhookPayload, WebhookOperation[], CommerceWebhookContext> = {
  platform: 'adobe-commerce',
  kind: 'webhook',
  setup: { options: OWN_OPTIONS, breaker: false, load: loadWebhookOptions },
  parse(body: Uint8Array, request?: SourceRequest) {
    let payload: unknown
    try {
      payload = JSON.parse(Buffer.from(body).toString('utf8'))
    } catch (error) {
      throw new MalformedRequestError(`the body is not JSON: ${(error as Error).message}`)
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw new MalformedRequestError(`expected a JSON object such as {"eventName": …, "data": {…}}, got ${Array.isArray(payload) ? 'an array' : String(payload === null ? 'null' : typeof payload)}`)
    }
    return { input: payload as CommerceWebhookPayload, context: { requestId: request?.headers.get(REQUEST_ID_HEADER) ?? null } }
  },
  check: (answer) => checkOperations(answer),
  success: (operations) => ({ status: 200, body: operations }),
  refusal(refusal, input) {
    // Parsed (input known): a deliberate exception, sent as Commerce expects it, with 200.
    if (input !== undefined) {
      const exceptionClass = typeof refusal.data?.class === 'string' ? refusal.data.class : undefined
      return { status: 200, body: [exception(refusal.message, exceptionClass)] }
    }
    // Not Commerce, or broken (bad signature, not JSON, too large): the status says so.
    return { status: refusal.status, body: [exception(refusal.message)] }
  },
  // The payload is all Commerce sends about the call: the same payload, the same answer.
  sameInput: (payload) => payload,
}

function loadWebhookOptions(options: Record<string, unknown>, fail: (field: string, expected: string) => never): LoadedKindSetup {
  const { publicKey, bearerToken, hookTimeoutMs, onFailure = DEFAULT_FAILURE_POLICY, failureMessage } = options
  const fallback = (options.fallback ?? {}) as Record<string, unknown>
  for (const field of ['answer', 'error']) {
    if (typeof fallback === 'object' && fallback !== null && fallback[field] !== undefined) {
      fail(`fallback.${field}`, "not for Commerce webhooks: onFailure: 'fail-open' | 'fail-closed' (and failureMessage) decide what answers a failure")
    }
  }

  const checks: ((request: SourceRequest) => void)[] = []
  const describe: Record<string, unknown> = {}
  if (publicKey !== undefined) {
    if (!isStrings(publicKey)) fail('publicKey', "expected the PEM public key from the Commerce Admin: publicKey: env('COMMERCE_WEBHOOK_PUBLIC_KEY')")
    let keys: ReturnType<typeof commerceWebhookPublicKeys> = []
    try {
      keys = commerceWebhookPublicKeys(publicKey as string | string[])
    } catch (error) {
      fail('publicKey', (error as Error).message)
    }
    if (keys.length === 0) fail('publicKey', 'expected at least one PEM public key; it is empty')
    checks.push((request) => verifyCommerceWebhookSignature({ headers: request.headers, body: request.body, publicKeys: keys }))
    describe.publicKeys = keys.length
  }
  if (bearerToken !== undefined) {
    const tokens = isStrings(bearerToken) ? (Array.isArray(bearerToken) ? bearerToken : [bearerToken]).filter((t) => t !== '') : []
    if (tokens.length === 0) fail('bearerToken', "expected the token the hook sends as Authorization: Bearer <token>: bearerToken: env('COMMERCE_WEBHOOK_TOKEN')")
    const check = bearerCheck(tokens)
    checks.push((request) => check(request.headers))
    describe.bearerTokens = tokens.length
  }
  if (checks.length === 0) {
    fail('publicKey', "a Commerce webhook needs publicKey (the Admin's webhook signature key), bearerToken, or both: an unauthenticated call is never answered")
  }

  const warnings: string[] = []
  let defaultDeadlineMs = DEFAULT_WEBHOOK_DEADLINE_MS
  let deadlineBelowMs: number | undefined
  if (hookTimeoutMs !== undefined) {
    if (typeof hookTimeoutMs !== 'number' || !Number.isInteger(hookTimeoutMs) || hookTimeoutMs < 0) {
      fail('hookTimeoutMs', "expected the hook's hard timeout in Commerce, a non-negative integer of milliseconds (0: none)")
    }
    if (hookTimeoutMs === 0) {
      warnings.push(
        'hookTimeoutMs is 0: the hook has no hard timeout in Commerce, so if storehook cannot be reached a required hook blocks the shopper until the connection fails; set a timeout on the hook (e.g. 5000) and hookTimeoutMs to match',
      )
    } else {
      deadlineBelowMs = hookTimeoutMs
      defaultDeadlineMs = Math.max(1, Math.floor(hookTimeoutMs * DEADLINE_SHARE))
    }
    describe.hookTimeoutMs = hookTimeoutMs
  }
  if (onFailure !== 'fail-open' && onFailure !== 'fail-closed') fail('onFailure', "expected 'fail-open' or 'fail-closed'")
  if (failureMessage !== undefined && (typeof failureMessage !== 'string' || failureMessage === '')) fail('failureMessage', 'expected a non-empty string, shown to the shopper')
  if (failureMessage !== undefined && onFailure === 'fail-open') fail('failureMessage', "only used with onFailure: 'fail-closed' (fail-open answers success)")
  const value = onFailure === 'fail-open' ? [success()] : [exception(failureMessage as string | undefined)]

  return {
    verify: (request) => {
      for (const check of checks) check(request)
    },
    defaultDeadlineMs,
    ...(deadlineBelowMs !== undefined ? { deadlineBelowMs } : {}),
    fallbackAnswer: { value },
    describe: { ...describe, onFailure },
    warnings,
  }
}

function isStrings(value: unknown): value is string | string[] {
  return typeof value === 'string' || (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string'))
}

/**
 * An Adobe Commerce webhook: `external/<name>.ts` answers `POST /external/<name>`, the URL to set
 * on the hook in Commerce.
 *
 * @example
 * // external/shipping-rates.ts  →  POST /external/shipping-rates
 * import { adobeCommerce, env } from 'storehook'
 * export default adobeCommerce.webhook(
 *   (payload) => [adobeCommerce.add('result', { carrier_code: 'DPS', method: 'dps_one', method_title: 'DPS', price: 17, cost: 17 })],
 *   { publicKey: env('COMMERCE_WEBHOOK_PUBLIC_KEY'), hookTimeoutMs: 5000, onFailure: 'fail-open' },
 * )
 */
export function webhook(
  handler: ExternalHandler<CommerceWebhookPayload, CommerceWebhookAnswer, CommerceWebhookContext>,
  options: CommerceWebhookOptions,
): ExternalResourceDefinition<CommerceWebhookPayload, CommerceWebhookAnswer, CommerceWebhookContext> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError("adobeCommerce.webhook: options are required, at least { publicKey: env('COMMERCE_WEBHOOK_PUBLIC_KEY') } or { bearerToken: env('…') }")
  }
  return defineExternal(commerceWebhookKind, handler, options as unknown as ExternalResourceOptions<CommerceWebhookPayload, CommerceWebhookAnswer>)
}
