/**
 * @module
 * Answers `POST /external/<name>`: the synchronous half of storehook. For one call, in order:
 * verify the signature (401, nothing run), parse (400), run the handler under its deadline with an
 * AbortSignal — on a handler thread (`isolation: 'thread'`, handler-threads.ts), where a handler
 * that blocks its event loop stalls nothing else and is cut off, or on this thread — check its
 * answer against the kind's schema, and when it hangs, throws or answers
 * wrongly, answer with the configured fallback instead — the last good answer for the same input,
 * a static answer, or a clean error envelope (≥ 400, 422 by default) — so the platform always gets
 * a well-formed envelope before its timeout. Then, without delaying the answer: the breaker
 * mirror, metrics, and a record queued for the store.
 */
import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { HttpError, VerificationError, coerceError } from '../../core/errors.ts'
import { ExternalResourceError, type ExternalReply } from '../../sources/external.ts'
import type { SourceRequest } from '../../sources/source.ts'
import type { ExternalCallOutcome, ExternalFallback, NewExternalCall, Store } from '../../store/store.ts'
import { BatchWriter, type BatchWriterOptions } from '../batch-writer.ts'
import { inSpan, requestContext } from '../tracing.ts'
import type { BreakerStatus, BreakerTransition } from './breaker.ts'
import { runUnderDeadline, type DeadlineOutcome } from './deadline.ts'
import { inputDigest } from './digest.ts'
import { HandlerThreads } from './handler-threads.ts'
import { DEFAULT_EXTERNAL_SETTINGS, ExternalHandlerContext, type ExternalSettings, type Isolation, type LoadedExternal } from './load.ts'
import { createExternalMetrics, type ExternalMetrics, type ExternalRejectReason } from './metrics.ts'

/** What the server sends: the status and the exact JSON text (also what is recorded). */
export interface ExternalAnswer {
  status: number
  body: string
  outcome: ExternalCallOutcome
  fallback: ExternalFallback
}

type Failure = { outcome: 'timeout' | 'error' | 'invalid'; detail: string }

/** One call as the handler sees it, whichever thread it runs on. */
interface HandlerCall {
  input: unknown
  context: object
  /** The raw request: a handler thread parses it again (a parsed input cannot cross threads). */
  request: SourceRequest
  digest: string
  /** Epoch ms. */
  deadline: number
  /** The call's logger, made on first use. */
  logger: () => Logger
}

const FAILURE_CODES = { timeout: 'TIMEOUT', error: 'HANDLER_ERROR', invalid: 'INVALID_ANSWER' } as const

export interface ExternalResourcesOptions {
  resources: LoadedExternal[]
  store: Store
  logger: Logger
  registry: Registry
  connections: Record<string, unknown>
  /** How calls are recorded: off the response path, in batches; the oldest dropped (and counted) if the store falls behind. */
  recorder?: BatchWriterOptions
  /**
   * The project's directory: handler threads load the project from it. Without it every handler
   * runs inline (resources built in memory, as unit tests do).
   */
  projectDir?: string
  settings?: ExternalSettings
}

export class ExternalResources {
  readonly #resources = new Map<string, LoadedExternal>()
  readonly #logger: Logger
  readonly #connections: Record<string, unknown>
  /** Where each resource's handler runs. */
  readonly #isolation = new Map<string, Isolation>()
  /** Null when no resource runs on a thread. */
  readonly #threads: HandlerThreads | null
  readonly metrics: ExternalMetrics
  /** Null when the store cannot record calls. */
  readonly #records: BatchWriter<NewExternalCall> | null

  constructor(options: ExternalResourcesOptions) {
    for (const resource of options.resources) this.#resources.set(resource.name, resource)
    this.#logger = options.logger
    for (const resource of options.resources) {
      for (const warning of resource.warnings) this.#logger.warn({ resource: resource.name, file: resource.file }, warning)
    }
    this.#connections = options.connections
    this.metrics = createExternalMetrics(options.registry, () => this.#breakers(), async () => (await this.#threads?.heapUsedBytes()) ?? [])
    const { store } = options
    this.#records = store.recordExternalCalls
      ? new BatchWriter((batch) => store.recordExternalCalls!(batch), options.logger, 'external resource calls', {
          ...options.recorder,
          onDropped: (count) => this.metrics.recordsDropped.inc(count),
        })
      : null
    const settings = options.settings ?? DEFAULT_EXTERNAL_SETTINGS
    for (const resource of options.resources) {
      this.#isolation.set(resource.name, options.projectDir ? (resource.isolation ?? settings.isolation) : 'inline')
    }
    this.#threads =
      options.projectDir && [...this.#isolation.values()].includes('thread')
        ? new HandlerThreads({
            projectDir: options.projectDir,
            size: settings.threads,
            memoryMb: settings.threadMemoryMb,
            graceMs: settings.graceMs,
            lateAnswerMs: settings.lateAnswerMs,
            logger: options.logger,
            onReplaced: (reason) => this.metrics.threadsReplaced.inc({ reason }),
          })
        : null
  }

  /**
   * Resolves once the handler threads have loaded the project (at once without threads): serve
   * after it, or the first calls spend their deadline waiting for a thread to start.
   * @throws ConfigError when the project cannot be loaded in a thread
   */
  ready(): Promise<void> {
    return this.#threads ? this.#threads.ready() : Promise.resolve()
  }

  has(name: string): boolean {
    return this.#resources.has(name)
  }

  list(): LoadedExternal[] {
    return [...this.#resources.values()]
  }

  /** Counts a call refused before `answer` could run (unknown resource, oversized body). */
  reject(name: string, reason: ExternalRejectReason): void {
    this.metrics.rejected.inc({ resource: this.#resources.has(name) ? name : '(unknown)', reason })
  }

  /**
   * Answers one call. Resolves before the resource's deadline whatever the handler does.
   *
   * @param arrivedAt `performance.now()` when the request arrived: the deadline counts from there
   * @throws HttpError 404 (unknown resource), VerificationError 401, MalformedRequestError 400 —
   *   all before any user code runs
   * @example
   * const answer = await runtime.external.answer('price', { method: 'POST', url, headers, body }, performance.now())
   */
  async answer(name: string, request: SourceRequest, arrivedAt: number): Promise<ExternalAnswer> {
    const resource = this.#resources.get(name)
    if (!resource) {
      this.reject(name, 'unknown_resource')
      throw new HttpError(404, `no external resource named "${name}" (its file would be external/${name}.ts)`)
    }
    let parsed: ReturnType<LoadedExternal['kind']['parse']>
    try {
      resource.verify(request)
      parsed = resource.kind.parse(request.body, request)
    } catch (error) {
      const reason = error instanceof VerificationError ? 'signature' : 'malformed'
      this.reject(name, reason)
      this.#logger.warn({ resource: name, reason, message: (error as Error).message }, 'refused an external resource call')
      throw error
    }
    const { input, context } = parsed
    const digest = this.#digest(resource, input, request.body)
    // Made on first use: a child logger costs about 10 µs, and a call that goes well logs nothing.
    let callLogger: Logger | undefined
    const logger = () => (callLogger ??= this.#logger.child({ resource: name, inputDigest: digest }))
    const startedAt = Date.now() - (performance.now() - arrivedAt)
    const msLeft = resource.deadlineMs - (performance.now() - arrivedAt)

    const deadline = startedAt + resource.deadlineMs
    // A span around the handler, continuing the caller's trace when its request carries one.
    const span = { parent: requestContext(request.headers), attributes: () => ({ 'storehook.external.resource': name, 'storehook.external.kind': resource.kindName }) }
    const invoke = (signal: AbortSignal) => inSpan(`external ${name}`, span, () => this.#invoke(resource, { input, context, request, digest, deadline, logger }, signal))
    const run = runUnderDeadline(invoke, msLeft)
    const result = await run.outcome

    let reply: ExternalReply | null = null
    let outcome: ExternalCallOutcome = 'answered'
    let failure: Failure | null = null
    if (result.kind === 'value') {
      const checked = resource.kind.check(result.value, input)
      if (checked.ok) {
        reply = resource.kind.success(checked.answer, input)
        if (reply.status < 400) resource.fallback.lastGood?.set(digest, checked.answer, Date.now())
      } else {
        failure = { outcome: 'invalid', detail: checked.problem }
      }
    } else if (result.kind === 'threw' && result.error instanceof ExternalResourceError) {
      const { code, message, status, data } = result.error
      reply = resource.kind.refusal({ code, message, status, ...(data ? { data } : {}) }, input)
      outcome = 'refused'
    } else if (result.kind === 'threw') {
      const error = coerceError(result.error)
      logger().warn({ err: error }, 'the external resource handler threw; the fallback answers')
      failure = { outcome: 'error', detail: error.message }
    } else {
      failure = { outcome: 'timeout', detail: `still running after the deadline of ${resource.deadlineMs} ms` }
      this.#keepLateAnswer(resource, run.late, input, digest, logger)
    }

    let fallback: ExternalFallback = 'none'
    if (failure) {
      if (failure.outcome !== 'error') logger().warn({ outcome: failure.outcome, detail: failure.detail }, 'the external resource handler did not answer well; the fallback answers')
      outcome = failure.outcome
      ;({ reply, fallback } = this.#fallback(resource, input, digest, failure, logger))
    }
    return this.#finish(resource, reply!, { startedAt, arrivedAt, digest, outcome, fallback, error: failure?.detail ?? null }, logger)
  }

  /**
   * The one place a handler is invoked, on its thread or on this one. What it returns or throws
   * means the same either way: the thread's answer, its ExternalResourceError, its other errors.
   */
  #invoke(resource: LoadedExternal, call: HandlerCall, signal: AbortSignal): unknown {
    if (this.#threads && this.#isolation.get(resource.name) === 'thread') {
      const { request, deadline, digest: inputDigest } = call
      return this.#threads.call(request, { resource: resource.name, deadline, deadlineMs: resource.deadlineMs, inputDigest }, signal)
    }
    return resource.handler(
      call.input,
      new ExternalHandlerContext(resource, call.context, { signal, deadline: call.deadline, inputDigest: call.digest, logger: call.logger, connections: this.#connections }),
    )
  }

  /** Whether calls are recorded (the store can keep them). */
  get recording(): boolean {
    return this.#records !== null
  }

  /** Each resource's options, where its handler runs and its breaker mirror, for the admin API. */
  status(): Record<string, unknown>[] {
    return this.list().map((resource) => ({
      ...resource.describe(),
      isolation: this.#isolation.get(resource.name),
      breaker: resource.breaker ? isoTimes(resource.breaker.status()) : null,
    }))
  }

  /** The handler threads (null when every handler runs inline), for the admin API. */
  async threads(): Promise<Awaited<ReturnType<HandlerThreads['status']>> | null> {
    return (await this.#threads?.status()) ?? null
  }

  /** Forgets a resource's run of failures, after its circuit was reset on the platform. */
  resetBreaker(name: string): boolean {
    const resource = this.#resources.get(name)
    resource?.breaker?.reset()
    return resource !== undefined
  }

  /** Ends the handler threads and writes the records still queued; call before the store closes. */
  async close(): Promise<void> {
    await Promise.all([this.#threads?.close(), this.#records?.close()])
  }

  #digest(resource: LoadedExternal, input: unknown, body: Uint8Array): string {
    try {
      return inputDigest(resource.fallback.key ? resource.fallback.key(input) : resource.kind.sameInput(input))
    } catch (error) {
      // A key function that throws still leaves a usable identity: the exact bytes.
      this.#logger.warn({ err: error, resource: resource.name }, 'could not compute the input digest; using the body digest')
      return createHash('sha256').update(body).digest('hex')
    }
  }

  #fallback(resource: LoadedExternal, input: unknown, digest: string, failure: Failure, logger: () => Logger): { reply: ExternalReply; fallback: ExternalFallback } {
    const remembered = resource.fallback.lastGood?.get(digest, Date.now())
    if (remembered) {
      const reply = resource.kind.success(remembered.answer, input)
      return { reply, fallback: 'last-good' }
    }
    if (resource.fallback.answer) {
      try {
        const given = resource.fallback.answer.value
        const value = typeof given === 'function' ? given(input) : given
        const checked = resource.kind.check(value, input)
        if (checked.ok) return { reply: resource.kind.success(checked.answer, input), fallback: 'static' }
        logger().error({ problem: checked.problem }, 'the fallback answer is itself invalid; answering with the error envelope')
      } catch (error) {
        logger().error({ err: error }, 'the fallback answer function threw; answering with the error envelope')
      }
    }
    const { status, code, message } = resource.fallback.error
    // The message reaches the platform (and its API caller): never the handler's own error text.
    const defaultMessage =
      failure.outcome === 'invalid'
        ? `the ${resource.kind.kind} handler returned an invalid answer: ${failure.detail}`
        : failure.outcome === 'timeout'
          ? `the ${resource.kind.kind} could not be computed within ${resource.deadlineMs} ms`
          : `the ${resource.kind.kind} could not be computed`
    const reply = resource.kind.refusal({ status, code: code ?? FAILURE_CODES[failure.outcome], message: message ?? defaultMessage }, input)
    return { reply, fallback: 'error' }
  }

  #keepLateAnswer(resource: LoadedExternal, late: Promise<DeadlineOutcome<unknown>>, input: unknown, digest: string, logger: () => Logger): void {
    void late.then((result) => {
      if (result.kind !== 'value' || !resource.fallback.lastGood) return
      const checked = resource.kind.check(result.value, input)
      if (!checked.ok || resource.kind.success(checked.answer, input).status >= 400) return
      // Too late for this call, still good for the next one with the same input.
      resource.fallback.lastGood.set(digest, checked.answer, Date.now())
      logger().info('a late answer was kept as the last good answer for this input')
    })
  }

  #finish(
    resource: LoadedExternal,
    reply: ExternalReply,
    call: { startedAt: number; arrivedAt: number; digest: string; outcome: ExternalCallOutcome; fallback: ExternalFallback; error: string | null },
    logger: () => Logger,
  ): ExternalAnswer {
    const body = JSON.stringify(reply.body)
    const durationMs = performance.now() - call.arrivedAt
    const now = Date.now()
    const transition = resource.breaker?.record(reply.status, durationMs, now)
    if (transition) this.#logBreaker(resource, transition, logger)
    this.metrics.calls.inc({ resource: resource.name, outcome: call.outcome, fallback: call.fallback })
    this.metrics.duration.observe({ resource: resource.name, outcome: call.outcome }, durationMs / 1000)
    this.#records?.push({
      resource: resource.name,
      kind: resource.kindName,
      startedAt: Math.round(call.startedAt),
      durationMs,
      inputDigest: call.digest,
      status: reply.status,
      outcome: call.outcome,
      fallback: call.fallback,
      answer: body,
      error: call.error,
    })
    return { status: reply.status, body, outcome: call.outcome, fallback: call.fallback }
  }

  #logBreaker(resource: LoadedExternal, transition: NonNullable<BreakerTransition>, logger: () => Logger): void {
    const status = resource.breaker!.status()
    const fields = { consecutiveFailures: status.consecutiveFailures, breaker: status.state }
    if (transition === 'warned') logger().warn(fields, `${status.warnAt} failures in a row: the platform warns now and opens its circuit above ${status.openAbove}`)
    else if (transition === 'opened') {
      logger().error(fields, `more than ${status.openAbove} failures in a row: the platform's circuit is presumably open and stays open until reset (_reset_circuit)`)
    } else if (transition === 'recovered') logger().info(fields, 'answered well again: the failure count is back to 0')
    else logger().info(fields, "a call arrived while the circuit was presumed open: it was reset on the platform's side")
  }

  *#breakers(): Iterable<[string, BreakerStatus]> {
    for (const resource of this.#resources.values()) if (resource.breaker) yield [resource.name, resource.breaker.status()]
  }
}

function isoTimes(status: BreakerStatus): Record<string, unknown> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
  return { ...status, lastFailureAt: iso(status.lastFailureAt), lastSuccessAt: iso(status.lastSuccessAt), warnedAt: iso(status.warnedAt), openedAt: iso(status.openedAt) }
}
