/**
 * @module
 * What an external resource is, seen from its platform's side: a synchronous endpoint
 * (`POST /external/<name>`) whose caller waits for the answer. A platform's kinds (Commerce
 * Layer's `price`, `tax`, …, Adobe Commerce's `webhook`) each say how to verify a call, parse it,
 * check a handler's answer and write the exact reply envelope; the runtime (`runtime/external/`)
 * adds what every kind needs: the deadline, the fallback, breaker awareness and recording. A kind
 * authenticates with shared secrets through `verifier`, or reads options of its own through
 * `setup` (RSA public keys, bearer tokens, a failure policy). Like a source, this layer
 * never runs user code and never touches the store.
 */
import type { Logger } from 'pino'
import type { SourceRequest } from './source.ts'

const EXTERNAL = Symbol.for('storehook.external')

/** What is sent back: an HTTP status and a JSON body. */
export interface ExternalReply {
  status: number
  body: unknown
}

/** A deliberate "no" (an invalid order, a declined card) or a fallback error, before formatting. */
export interface Refusal {
  code: string
  message: string
  /** ≥ 400. */
  status: number
  /** Kind-specific extra data (attribute errors for order validation, the token for payments). */
  data?: Record<string, unknown>
}

/** The result of checking a handler's answer against its kind's schema. */
export type AnswerCheck<Answer> = { ok: true; answer: Answer } | { ok: false; problem: string }

/**
 * One kind of external resource of one platform.
 *
 * `Input` is what the handler receives (a denormalized line item, order, …), `Answer` what it
 * returns, `Extra` what its context carries besides the runtime's ({@link ExternalContext}).
 */
export interface ExternalKind<Input = any, Answer = any, Extra extends object = object> {
  /** `commerce-layer`. */
  readonly platform: string
  /** `price`, `tax`, `payment.authorize`, … */
  readonly kind: string
  /**
   * Builds the signature check for these secrets (called once, at load). The check throws a
   * VerificationError (401) for a missing or wrong signature; it must run before anything else.
   * A kind that authenticates otherwise than with shared secrets gives {@link setup} instead.
   */
  verifier?(secrets: string[]): (request: SourceRequest) => void
  /**
   * For a kind that reads options of its own instead of `secrets` (Adobe Commerce webhooks: RSA
   * public keys, bearer tokens, a failure policy). Without it, `secrets` is required and goes to
   * {@link verifier}.
   */
  readonly setup?: ExternalKindSetup
  /**
   * Parses an authentic body; `request` (always given by the runtime) is there for headers that
   * carry context, such as a request id.
   * @throws MalformedRequestError (400)
   */
  parse(body: Uint8Array, request?: SourceRequest): { input: Input; context: Extra }
  /** Checks (and normalizes) a handler's or a fallback's answer. Never throws. */
  check(answer: unknown, input: Input): AnswerCheck<Answer>
  /** The success envelope for a checked answer. */
  success(answer: Answer, input: Input): ExternalReply
  /** The error envelope (status ≥ 400). `input` is undefined when the call could not be parsed. */
  refusal(refusal: Refusal, input: Input | undefined): ExternalReply
  /**
   * What makes two calls "the same input" for the last-good fallback: the parts of the input the
   * answer depends on, never volatile fields such as `updated_at`. Hashed by the runtime.
   */
  sameInput(input: Input): unknown
}

/**
 * The options a kind reads itself, and how it turns them into its call check: checked once, when
 * the project loads, after `env()` references are resolved.
 */
export interface ExternalKindSetup {
  /** The option names it reads, besides the shared `deadlineMs` and `fallback` (and `breaker`). */
  readonly options: readonly string[]
  /** False when the platform has no circuit breaker to mirror (the `breaker` option is then refused). */
  readonly breaker: boolean
  /**
   * @param options all of the resource's options (the kind may refuse some shared ones)
   * @param fail throws the ConfigError that names the file and the field
   */
  load(options: Record<string, unknown>, fail: (field: string, expected: string) => never): LoadedKindSetup
}

/** What a kind's {@link ExternalKindSetup.load} gives the runtime. */
export interface LoadedKindSetup {
  /** Throws VerificationError (401) for a call that is not authentic; runs before anything else. */
  verify(request: SourceRequest): void
  /** The deadline when `deadlineMs` is not given. */
  defaultDeadlineMs: number
  /** A `deadlineMs` must be below this (the platform's own timeout for the call), when known. */
  deadlineBelowMs?: number
  /** The static answer the fallback gives when the last good one is missing (a failure policy). */
  fallbackAnswer?: { value: unknown }
  /** Shown by the admin API beside the shared options: never a secret. */
  describe: Record<string, unknown>
  /** Logged once, at start: settings that work but are probably a mistake. */
  warnings: string[]
}

/** What every handler's context carries, whatever the platform. */
export interface ExternalContext {
  /** Aborted when the deadline passes: pass it to every outbound call. */
  signal: AbortSignal
  /** Epoch ms by which the answer must be ready; after it the fallback answers instead. */
  deadline: number
  /** This resource's name: `price` for `external/price.ts`. */
  resource: string
  /** The hex SHA-256 that identifies "the same input" (see {@link ExternalKind.sameInput}). */
  inputDigest: string
  /** Logs with the resource and input digest attached. */
  logger: Logger
  /** The project's connections, by name. */
  connections: Record<string, any>
}

export type ExternalHandler<Input, Answer, Extra extends object> = (
  input: Input,
  ctx: ExternalContext & Extra,
) => Answer | Promise<Answer>

export interface FallbackOptions<Input, Answer> {
  /**
   * Answer with the last good answer given for the same input (same {@link ExternalKind.sameInput}
   * digest, or `key(input)`), kept in memory by this process. Off by default.
   */
  lastGood?: boolean | { maxAgeMs?: number; maxEntries?: number; key?: (input: Input) => unknown }
  /** A static answer, or a synchronous function of the input, checked like the handler's. */
  answer?: Answer | ((input: Input) => Answer)
  /** The error envelope sent when nothing else answers: default 422 with a code naming the failure. */
  error?: { status?: number; code?: string; message?: string }
}

export interface ExternalResourceOptions<Input = any, Answer = any> {
  /**
   * The platform's shared secret(s) for this resource: `env('CL_SHARED_SECRET')`; one string may
   * hold several separated by spaces (rotation). Required for kinds that authenticate with shared
   * secrets (Commerce Layer's): an unsigned call is never answered.
   */
  secrets: string | string[]
  /**
   * How long the handler may take, from the request's arrival, before the fallback answers.
   * Default 2700: the platform's 3000 ms timeout less a 300 ms margin for the network and the reply.
   */
  deadlineMs?: number
  /**
   * Where the handler runs. `thread` (the default, from the project's `external.isolation`): on
   * one of the process's handler threads, so a handler that blocks its event loop stalls nothing
   * else and is cut off. `inline`: on the main thread, a few tens of microseconds quicker.
   */
  isolation?: 'thread' | 'inline'
  fallback?: FallbackOptions<Input, Answer>
  breaker?: {
    /** Consecutive failures at which to warn (Commerce Layer e-mails at 10). */
    warnAt?: number
    /** The platform opens its breaker above this many consecutive failures (30). */
    openAbove?: number
    /**
     * Which answers count as failures: `errors` (every status ≥ 400, the default: whether Commerce
     * Layer counts 4xx is UNVERIFIED, so assume the worst) or `server-errors` (5xx and answers
     * later than the platform timeout only, as documented).
     */
    counts?: 'errors' | 'server-errors'
  }
}

/** What `commerceLayer.price(handler, options)` and its siblings return. */
export interface ExternalResourceDefinition<Input = any, Answer = any, Extra extends object = any> {
  readonly [EXTERNAL]: true
  /** The kind checks the handler's answer and may normalize it (its own Answer type may differ). */
  readonly kind: ExternalKind<Input, any, Extra>
  readonly handler: ExternalHandler<Input, Answer, Extra>
  readonly options: ExternalResourceOptions<Input, Answer>
}

/**
 * Declares an external resource of a given kind; platform modules wrap it in their own helpers.
 *
 * @example
 * export default defineExternal(priceKind, async (lineItem) => ({ unit_amount_cents: 100 }), { secrets: env('CL_SHARED_SECRET') })
 */
export function defineExternal<Input, Answer, Extra extends object>(
  kind: ExternalKind<Input, any, Extra>,
  handler: ExternalHandler<Input, Answer, Extra>,
  options: ExternalResourceOptions<Input, Answer>,
): ExternalResourceDefinition<Input, Answer, Extra> {
  if (typeof handler !== 'function') throw new TypeError(`${kind.platform} ${kind.kind}: the handler must be a function`)
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${kind.platform} ${kind.kind}: options are required, at least { secrets: env('…') }`)
  }
  return { [EXTERNAL]: true, kind, handler, options }
}

export function isExternalDefinition(value: unknown): value is ExternalResourceDefinition {
  return typeof value === 'object' && value !== null && (value as Partial<ExternalResourceDefinition>)[EXTERNAL] === true
}

/**
 * Thrown by a handler to refuse deliberately — the order is invalid, the card was declined: the
 * caller gets this error envelope (status ≥ 400, default 422) and no fallback is tried. Anything
 * else thrown is a failure, answered by the fallback.
 *
 * @example
 * throw new ExternalResourceError('OUT_OF_STOCK', 'TSHIRTMM is sold out', { status: 422 })
 */
export class ExternalResourceError extends Error {
  readonly code: string
  readonly status: number
  readonly data: Record<string, unknown> | undefined
  constructor(code: string, message: string, options: { status?: number; data?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ExternalResourceError'
    this.code = code
    const status = options.status ?? 422
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`ExternalResourceError status must be an HTTP error status (400–599), got ${status}`)
    }
    this.status = status
    this.data = options.data
  }
}
