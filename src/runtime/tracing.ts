/**
 * @module
 * OpenTelemetry spans through `@opentelemetry/api` only: ingest, run attempt, step, external
 * resource call (outbound calls are traced by the HTTP client, `connections/http/trace.ts`).
 * Until the application registers an SDK (docs/tracing.md) every span is the API's no-op: no
 * attribute object is built for it (attributes are passed as functions, called only for a span
 * that records), and no context is entered for a span that carries no trace.
 */
import { context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api'
import type { Run, StoredEvent } from '../core/types.ts'

const tracer = trace.getTracer('storehook')

export interface StartSpanOptions {
  kind?: SpanKind
  /** The parent: default the active context; `ROOT_CONTEXT` for a new trace. */
  parent?: Context
  /** Called only when the span records. */
  attributes?: () => Attributes
}

/**
 * Starts a span without making it active (see {@link withSpan}).
 *
 * @example
 * const span = startSpan('run order-to-erp', { kind: SpanKind.CONSUMER, parent: ROOT_CONTEXT, attributes: () => ({ 'storehook.run.id': 7 }) })
 */
export function startSpan(name: string, options: StartSpanOptions = {}): Span {
  const span = tracer.startSpan(name, options.kind === undefined ? {} : { kind: options.kind }, options.parent ?? context.active())
  if (options.attributes && span.isRecording()) span.setAttributes(options.attributes())
  return span
}

/**
 * The span of one attempt of a run (its outcome is set when known: `storehook.run.outcome`).
 *
 * @example
 * const span = startAttemptSpan(run, event, ROOT_CONTEXT)
 */
export function startAttemptSpan(run: Run, event: StoredEvent, parent: Context): Span {
  return startSpan(`run ${run.action}`, {
    kind: SpanKind.CONSUMER,
    parent,
    attributes: () => ({
      'storehook.action': run.action,
      'storehook.run.id': run.id,
      'storehook.run.attempt': run.attempts,
      'storehook.event.id': event.id,
      'storehook.event.type': event.type,
      'storehook.source': run.source,
    }),
  })
}

/** Runs `fn` with `span` as the active span (its parent's context otherwise kept). */
export function withSpan<T>(span: Span, fn: () => T, parent: Context = context.active()): T {
  if (!isSpanContextValid(span.spanContext())) return fn()
  return context.with(trace.setSpan(parent, span), fn)
}

/** Ends a span, as failed when `error` is given. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined && span.isRecording()) {
    const exception = error instanceof Error ? error : new Error(String(error))
    span.recordException(exception)
    span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message })
  }
  span.end()
}

/**
 * Runs `fn` in a new active span, ended when `fn` settles (as failed when it throws).
 *
 * @example
 * const order = await inSpan('step fetch order', { attributes: () => ({ 'storehook.step.name': 'fetch order' }) }, () => commerce.getOrder(42))
 */
export async function inSpan<T>(name: string, options: StartSpanOptions, fn: (span: Span) => T | Promise<T>): Promise<Awaited<T>> {
  const span = startSpan(name, options)
  try {
    const result = await withSpan(span, () => fn(span), options.parent)
    endSpan(span)
    return result
  } catch (error) {
    endSpan(span, error)
    throw error
  }
}

/** The trace context a request carries (`traceparent`), on top of a new trace. */
export function requestContext(headers: Headers): Context {
  return propagation.extract(ROOT_CONTEXT, headers, HEADERS_GETTER)
}

const HEADERS_GETTER = {
  keys: (headers: Headers) => [...headers.keys()],
  get: (headers: Headers, key: string) => headers.get(key) ?? undefined,
}

/** The id of the trace the active span belongs to, or null when there is none (tracing off). */
export function activeTraceId(): string | null {
  const spanContext = trace.getActiveSpan()?.spanContext()
  return spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : null
}
