/**
 * @module
 * Checks one external resource's options when the project loads and turns them into what the
 * runtime runs. A mistake is the project author's to fix, so each error names the file, the
 * field and what was expected; secret values never appear in one. The shared options
 * (`deadlineMs`, `isolation`, `fallback`, `breaker`) are checked here; how a call is authenticated is the
 * kind's: `secrets` for a kind with a `verifier`, its own options for a kind with a `setup`.
 */
import type { Logger } from 'pino'
import { ConfigError } from '../../core/errors.ts'
import type { ExternalContext, ExternalHandler, ExternalKind, ExternalResourceDefinition, ExternalResourceOptions, LoadedKindSetup } from '../../sources/external.ts'
import type { SourceRequest } from '../../sources/source.ts'
import { MAX_TIMER_MS } from '../subscriptions.ts'
import { BreakerMirror } from './breaker.ts'
import { LastGoodCache } from './last-good.ts'

/** The platform's timeout for an external call: Commerce Layer's 3 s (the seed's figure; UNVERIFIED in its docs). */
export const PLATFORM_TIMEOUT_MS = 3000
/** Left for the network and for writing the reply. */
export const SAFETY_MARGIN_MS = 300
export const DEFAULT_DEADLINE_MS = PLATFORM_TIMEOUT_MS - SAFETY_MARGIN_MS
export const DEFAULT_FALLBACK_STATUS = 422
export const DEFAULT_LAST_GOOD = { maxEntries: 10_000, maxAgeMs: 24 * 60 * 60 * 1000 }
export const DEFAULT_BREAKER = { warnAt: 10, openAbove: 30, counts: 'errors' as const }

/** Where a handler runs: on a handler thread (a blocked event loop can be cut off) or on the main thread. */
export const ISOLATIONS = ['thread', 'inline'] as const
export type Isolation = (typeof ISOLATIONS)[number]

/** The project's `external` settings (storehook.config): how handlers are isolated. */
export interface ExternalSettings {
  /** For every resource that does not set its own `isolation`. */
  isolation: Isolation
  /** Handler threads per process: one blocked thread leaves the others answering. */
  threads: number
  /** Each thread's V8 heap cap (old generation): a handler leaking memory ends its thread, not the process. */
  threadMemoryMb: number
  /** How long after a deadline a thread whose event loop does not answer has before it is terminated. */
  graceMs: number
  /** How long after a deadline a handler thread's late answer is still awaited (for the last-good cache). */
  lateAnswerMs: number
}

export const DEFAULT_EXTERNAL_SETTINGS: ExternalSettings = { isolation: 'thread', threads: 2, threadMemoryMb: 256, graceMs: 1000, lateAnswerMs: 60_000 }

/** A resource name is a path under `external/`: letters, digits, `-`, `_`, `.`, and `/` between parts. */
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/

/** An external resource as the runtime holds it: options checked, state (cache, breaker) created. */
export interface LoadedExternal {
  name: string
  /** Where it was defined, for the admin API and error messages. */
  file: string
  kind: ExternalKind
  /** `commerce-layer/price`. */
  kindName: string
  handler: ExternalHandler<any, any, any>
  /** Throws VerificationError for a call that is not authentic (not signed with one of the secrets, …). */
  verify: (request: SourceRequest) => void
  deadlineMs: number
  /** The resource's own `isolation`; null follows the project's `external.isolation`. */
  isolation: Isolation | null
  fallback: {
    lastGood: LastGoodCache<unknown> | null
    key: ((input: any) => unknown) | null
    answer: { value: unknown } | null
    error: { status: number; code?: string; message?: string }
  }
  /** Null when the platform has no circuit breaker to mirror (Adobe Commerce webhooks). */
  breaker: BreakerMirror | null
  /** Settings that work but are probably a mistake, logged once when the runtime starts. */
  warnings: string[]
  /** For the admin API: the options in force, without secrets. */
  describe(): Record<string, unknown>
}

/**
 * @param options the definition's options with `env()` references already resolved
 * @example
 * const loaded = loadExternal('price', 'external/price.ts', definition, resolvedOptions)
 */
export function loadExternal(name: string, file: string, definition: ExternalResourceDefinition, options: ExternalResourceOptions): LoadedExternal {
  const where = `${file} (external resource "${name}")`
  const fail = (field: string, expected: string): never => {
    throw new ConfigError(`${where}: ${field}: ${expected}`)
  }
  if (!NAME.test(name)) fail('(file name)', 'expected letters, digits, "-", "_" or "." in each part of the path under external/')
  if (typeof options !== 'object' || options === null) fail('(options)', "expected an options object, at least { secrets: env('…') }")
  const kind = definition.kind
  // A kind with a setup authenticates its own way (and may have no breaker); the others use `secrets`.
  const hasBreaker = kind.setup ? kind.setup.breaker : true
  const known = [...(kind.setup ? [] : ['secrets']), 'deadlineMs', 'isolation', 'fallback', ...(hasBreaker ? ['breaker'] : []), ...(kind.setup?.options ?? [])]
  for (const key of Object.keys(options)) if (!known.includes(key)) fail(key, `unknown option; expected one of ${known.join(', ')}`)
  const setup: LoadedKindSetup = kind.setup ? kind.setup.load(options as unknown as Record<string, unknown>, fail) : secretsSetup(kind, options, fail)

  const deadlineMs = options.deadlineMs ?? setup.defaultDeadlineMs
  if (!Number.isInteger(deadlineMs) || deadlineMs < 1 || deadlineMs > MAX_TIMER_MS) fail('deadlineMs', 'expected a positive integer of milliseconds')
  if (setup.deadlineBelowMs !== undefined && deadlineMs >= setup.deadlineBelowMs) {
    fail('deadlineMs', `expected less than ${setup.deadlineBelowMs} ms, the platform's own timeout for this call, or the platform gives up before the fallback answers`)
  }

  const isolation = options.isolation ?? null
  if (isolation !== null && !ISOLATIONS.includes(isolation)) fail('isolation', `expected ${ISOLATIONS.map((i) => `'${i}'`).join(' or ')}`)

  const fallback = options.fallback ?? {}
  if (typeof fallback !== 'object' || fallback === null) fail('fallback', 'expected an object: { lastGood?, answer?, error? }')
  for (const key of Object.keys(fallback)) if (!['lastGood', 'answer', 'error'].includes(key)) fail(`fallback.${key}`, 'unknown option; expected lastGood, answer or error')
  let lastGood: LastGoodCache<unknown> | null = null
  let key: ((input: unknown) => unknown) | null = null
  if (fallback.lastGood) {
    const given = fallback.lastGood === true ? {} : fallback.lastGood
    if (typeof given !== 'object') fail('fallback.lastGood', 'expected true or { maxAgeMs?, maxEntries?, key? }')
    const maxAgeMs = given.maxAgeMs ?? DEFAULT_LAST_GOOD.maxAgeMs
    const maxEntries = given.maxEntries ?? DEFAULT_LAST_GOOD.maxEntries
    if (!Number.isInteger(maxAgeMs) || maxAgeMs < 1) fail('fallback.lastGood.maxAgeMs', 'expected a positive integer of milliseconds')
    if (!Number.isInteger(maxEntries) || maxEntries < 1) fail('fallback.lastGood.maxEntries', 'expected a positive integer')
    if (given.key !== undefined && typeof given.key !== 'function') fail('fallback.lastGood.key', 'expected a function of the input')
    lastGood = new LastGoodCache({ maxAgeMs, maxEntries })
    key = given.key ?? null
  } else if (fallback.lastGood !== undefined && fallback.lastGood !== false) {
    fail('fallback.lastGood', 'expected true or { maxAgeMs?, maxEntries?, key? }')
  }
  const error = fallback.error ?? {}
  if (typeof error !== 'object' || error === null) fail('fallback.error', 'expected { status?, code?, message? }')
  const status = error.status ?? DEFAULT_FALLBACK_STATUS
  if (!Number.isInteger(status) || status < 400 || status > 599) fail('fallback.error.status', 'expected an HTTP error status from 400 to 599 (a 4xx: timeouts and 5xx count toward the breaker)')
  for (const field of ['code', 'message'] as const) {
    if (error[field] !== undefined && (typeof error[field] !== 'string' || error[field] === '')) fail(`fallback.error.${field}`, 'expected a non-empty string')
  }

  const breakerOptions = { ...DEFAULT_BREAKER, ...options.breaker }
  for (const field of ['warnAt', 'openAbove'] as const) {
    if (!Number.isInteger(breakerOptions[field]) || breakerOptions[field] < 1) fail(`breaker.${field}`, 'expected a positive integer')
  }
  if (!['errors', 'server-errors'].includes(breakerOptions.counts)) fail('breaker.counts', "expected 'errors' or 'server-errors'")

  const answer = fallback.answer !== undefined ? { value: fallback.answer } : (setup.fallbackAnswer ?? null)
  const loaded: LoadedExternal = {
    name,
    file,
    kind,
    kindName: `${kind.platform}/${kind.kind}`,
    handler: definition.handler,
    verify: setup.verify,
    deadlineMs,
    isolation,
    fallback: {
      lastGood,
      key,
      answer,
      error: { status, ...(error.code ? { code: error.code } : {}), ...(error.message ? { message: error.message } : {}) },
    },
    breaker: hasBreaker ? new BreakerMirror({ ...breakerOptions, platformTimeoutMs: PLATFORM_TIMEOUT_MS }) : null,
    warnings: setup.warnings,
    describe: () => ({
      name,
      file,
      kind: loaded.kindName,
      path: `/external/${name}`,
      ...setup.describe,
      deadlineMs,
      fallback: {
        lastGood: lastGood ? { entries: lastGood.size, customKey: key !== null } : false,
        answer: answer === null ? false : typeof answer.value === 'function' ? 'function' : 'static',
        error: loaded.fallback.error,
      },
    }),
  }
  return loaded
}

/** The shared-secret scheme (Commerce Layer): `secrets` required, handed to the kind's verifier. */
function secretsSetup(kind: ExternalKind, options: ExternalResourceOptions, fail: (field: string, expected: string) => never): LoadedKindSetup {
  const rawSecrets = options.secrets
  const secrets = (Array.isArray(rawSecrets) ? rawSecrets : [rawSecrets]).flatMap((s) => (typeof s === 'string' ? s.split(/\s+/) : [s])).filter((s) => s !== '')
  if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string')) {
    fail('secrets', "expected the platform's shared secret(s): secrets: env('CL_SHARED_SECRET'); an unsigned call is never answered")
  }
  if (!kind.verifier) throw new TypeError(`${kind.platform} ${kind.kind}: an external resource kind needs a verifier or a setup`)
  return {
    verify: kind.verifier(secrets as string[]),
    defaultDeadlineMs: DEFAULT_DEADLINE_MS,
    describe: { secrets: secrets.length },
    warnings: [],
  }
}

/**
 * What a handler gets besides its input, the same on a handler thread and inline: the kind's
 * context, the deadline's signal, and a logger made on first use (a child logger costs about
 * 10 µs, and most handlers never log). A class for the reason given in runtime/attempt-context.ts:
 * an object literal with a `get logger()` closure kept every call's input alive through V8's
 * young-generation GCs, and under load those took 10–50 ms each.
 *
 * @example
 * resource.handler(input, new ExternalHandlerContext(resource, context, { signal, deadline, inputDigest, logger, connections }))
 */
export class ExternalHandlerContext implements ExternalContext {
  readonly signal: AbortSignal
  readonly deadline: number
  readonly resource: string
  readonly inputDigest: string
  readonly connections: Record<string, unknown>
  readonly #logger: () => Logger

  constructor(
    resource: LoadedExternal,
    context: object,
    call: { signal: AbortSignal; deadline: number; inputDigest: string; logger: () => Logger; connections: Record<string, unknown> },
  ) {
    // The kind's fields (a Commerce Layer call's `document` and `meta`) as own properties; the
    // runtime's, assigned after, win if a kind ever used the same name.
    Object.assign(this, context)
    this.signal = call.signal
    this.deadline = call.deadline
    this.resource = resource.name
    this.inputDigest = call.inputDigest
    this.connections = call.connections
    this.#logger = call.logger
  }

  get logger(): Logger {
    return this.#logger()
  }
}
