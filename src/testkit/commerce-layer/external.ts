/**
 * @module
 * One call to an external resource, as Commerce Layer makes it (reference/commerce-layer.md §2–§4):
 * skipped when the owner's breaker is open; otherwise the payload (the `data` resource with its
 * `included`) serialized compactly, signed, POSTed under the timeout (3 s, the seed's figure; the
 * reference marks the value UNVERIFIED), the answer judged, the breaker counted, and the kind's
 * outcome applied (./outcomes.ts).
 *
 * What counts toward the breaker: a timeout, no connection, a 5xx, and a skipped call. A 4xx
 * business error does not by default (UNVERIFIED, `countBusinessErrors`); a 2xx that is not a
 * usable answer (not JSON, or breaking the kind's rules) does by default (UNVERIFIED,
 * `countInvalidResponses`).
 */
import { EXTERNAL_RESOURCE_BREAKER, failureCount, isOpen, recordFailure, recordSuccess, type BreakerNotification } from './breaker.ts'
import { includesFor, resolveTarget, type CallTarget, type ExternalKind, type PaymentAction } from './kinds.ts'
import { applyOutcome, invalidSuccess, type ApiAnswer, type Failure, type Verdict } from './outcomes.ts'
import { deliver, type DeliveryResult, type SentRequest } from './send.ts'
import type { Ref, ResourceStore, StoredResource } from './store.ts'

/** Everything about one external call, for tests to assert on. */
export interface ExternalCallRecord {
  kind: ExternalKind
  action?: PaymentAction
  /** The resource sent as `data`. */
  data: Ref
  /** The resource whose breaker counted this call. */
  owner: Ref
  url: string
  /** The breaker was open: nothing was sent. */
  skipped: boolean
  request?: SentRequest
  /** The endpoint's answer, when it gave one in time. */
  response?: { status: number; body: string }
  /** Why the call failed; absent on success. */
  failure?: Failure
  message?: string
  /** Whether this call added to `circuit_failure_count`. */
  countedAsFailure: boolean
  /** The owner's breaker after this call. */
  circuit: { state: 'closed' | 'open'; failureCount: number }
  durationMs: number
  /** What Commerce Layer's API answers the call that triggered this one. */
  api: ApiAnswer
  /** What the answer changed (see ./outcomes.ts). */
  effect: Record<string, unknown>
  at: number
}

export interface ExternalCallOptions {
  /** Payment gateways: which call. Default `authorize`. */
  action?: PaymentAction
  /** The `data` resource's id (an order, line item, shipment, payment, authorization or capture); default the sample's. */
  id?: string
  /** Promotions: which external promotion; default the sample's. */
  ownerId?: string
}

export interface ExternalEngine {
  store: ResourceStore
  timeoutMs: number
  contentType: string
  countBusinessErrors: boolean
  countInvalidResponses: boolean
  sample: Parameters<typeof resolveTarget>[2]['sample']
  /** The REST API's document for a resource (absolute links). */
  document(resource: StoredResource): unknown
  notify(notification: BreakerNotification): void
  record(call: ExternalCallRecord): void
  now(): number
}

export class NotConfiguredError extends Error {}

/**
 * Makes one call of `kind` and applies its outcome.
 *
 * @example
 * const call = await callExternal(engine, 'price', { id: lineItemId })
 * call.api.status // 200, or 422 when the price endpoint failed
 */
export async function callExternal(engine: ExternalEngine, kind: ExternalKind, options: ExternalCallOptions = {}): Promise<ExternalCallRecord> {
  const action = kind === 'payment' ? (options.action ?? 'authorize') : undefined
  const target = resolveTarget(engine.store, kind, { ...options, ...(action ? { action } : {}), sample: engine.sample })
  const url = target.config.attributes[target.urlAttribute]
  if (typeof url !== 'string' || url === '') {
    throw new NotConfiguredError(`${kind}${action ? ` ${action}` : ''}: ${target.config.type} ${target.config.id} has no ${target.urlAttribute}; configure it first`)
  }
  const owner = target.owner.attributes
  const at = engine.now()
  let verdict: Verdict
  let request: SentRequest | undefined
  let response: ExternalCallRecord['response']
  let durationMs = 0
  if (isOpen(owner)) {
    verdict = { ok: false, failure: 'circuit-open', message: 'circuit breaker open: call skipped' }
  } else {
    // Prices: the line item's payload shows `_external_price: true` (reference §3.2), which then sticks to it.
    if (kind === 'price') target.data.attributes._external_price = true
    const include = includesFor(kind, target.config)
    const body = JSON.stringify(engine.store.serialize(target.data, { include, linkBase: '' }))
    const result = await deliver({ url, body, sharedSecret: String(target.config.attributes.shared_secret), timeoutMs: engine.timeoutMs, contentType: engine.contentType })
    request = result.request
    durationMs = result.durationMs
    if (result.answered) response = { status: result.status, body: result.body }
    verdict = judge(kind, action, result)
  }

  const counted = !verdict.ok && counts(engine, verdict.failure)
  if (verdict.ok) recordSuccess(owner)
  else if (counted) {
    const event = recordFailure(owner, EXTERNAL_RESOURCE_BREAKER, verdict.failure === 'circuit-open')
    if (event) engine.notify({ ...event, owner: ref(target.owner), at: engine.now() })
  }
  const outcome = applyOutcome({ store: engine.store, kind, action, target, document: engine.document }, verdict)
  const call: ExternalCallRecord = {
    kind,
    ...(action ? { action } : {}),
    data: ref(target.data),
    owner: ref(target.owner),
    url,
    skipped: verdict.ok === false && verdict.failure === 'circuit-open',
    ...(request ? { request } : {}),
    ...(response ? { response } : {}),
    ...(verdict.ok ? {} : { failure: verdict.failure, message: verdict.message }),
    countedAsFailure: counted,
    circuit: circuitOf(target),
    durationMs,
    api: outcome.api,
    effect: outcome.effect,
    at,
  }
  engine.record(call)
  return call
}

function counts(engine: ExternalEngine, failure: Failure): boolean {
  if (failure === 'business-error') return engine.countBusinessErrors
  if (failure === 'invalid-response') return engine.countInvalidResponses
  return true
}

/** Success, business error, or failure, from what came back. */
function judge(kind: ExternalKind, action: PaymentAction | undefined, result: DeliveryResult): Verdict {
  if (!result.answered) return { ok: false, failure: result.reason, message: result.message }
  const { status } = result
  const json = parseObject(result.body)
  const base = json ? { status, json } : { status }
  if (status >= 500) return { ok: false, failure: 'server-error', message: errorMessage(json) ?? `HTTP ${status}`, ...base }
  if (status < 200 || status >= 300 && status < 400) return { ok: false, failure: 'invalid-response', message: `HTTP ${status}`, ...base }
  if (status >= 400) return { ok: false, failure: 'business-error', message: errorMessage(json) ?? `HTTP ${status}`, ...base }
  if (!json) return { ok: false, failure: 'invalid-response', message: 'the answer is not a JSON object', status }
  // The old docs showed `"success": "true"` as a string; Commerce Layer accepts both (reference §2).
  if (json.success !== true && json.success !== 'true') return { ok: false, failure: 'business-error', message: errorMessage(json) ?? 'success is not true', ...base }
  const invalid = invalidSuccess(kind, action, json)
  if (invalid) return { ok: false, failure: 'invalid-response', message: invalid, ...base }
  return { ok: true, status, json }
}

/** `error.message`, or the payment gateways' `data.error.message`. */
function errorMessage(json: Record<string, unknown> | undefined): string | undefined {
  const nested = (json?.data as { error?: { message?: unknown } } | undefined)?.error?.message
  const top = (json?.error as { message?: unknown } | undefined)?.message
  const message = typeof top === 'string' ? top : nested
  return typeof message === 'string' && message !== '' ? message : undefined
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function circuitOf(target: CallTarget): ExternalCallRecord['circuit'] {
  return { state: isOpen(target.owner.attributes) ? 'open' : 'closed', failureCount: failureCount(target.owner.attributes) }
}

function ref(resource: StoredResource): Ref {
  return { type: resource.type, id: resource.id }
}
