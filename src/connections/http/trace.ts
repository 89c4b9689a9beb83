/**
 * @module
 * The OpenTelemetry CLIENT span of one outbound HTTP request, with the stable HTTP client
 * semantic conventions (`http.request.method`, `url.full`, `server.address`, `server.port`,
 * `http.response.status_code`, `error.type`), and the W3C trace context (`traceparent`) put in the
 * request's headers so the target can continue the trace. Through `@opentelemetry/api` only: a
 * no-op (no attributes built, no header added) until the application registers an SDK
 * (docs/tracing.md). Every connection kind sends through it.
 */
import { context, isSpanContextValid, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { redactUrl } from './redact-url.ts'

const tracer = trace.getTracer('storehook')

const HEADERS_SETTER = { set: (headers: Headers, key: string, value: string) => headers.set(key, value) }

export interface OutboundSpan {
  /**
   * Ends the span with the answer's status (null: none came) and, for a failed call, why:
   * `errorType` is short and of low cardinality (`timeout`, `aborted`, `unreachable`, the status).
   */
  end(result: { status: number | null; error?: string; errorType?: string }): void
}

/**
 * Starts the span of a request about to be sent (a child of the active span) and injects its
 * trace context into `headers`. Call once per request sent, after any signing of the headers.
 *
 * @example
 * const span = traceOutbound('erp', 'POST', url, headers)
 * const response = await fetch(url, { method: 'POST', headers })
 * span.end({ status: response.status })
 */
export function traceOutbound(connection: string, method: string, url: URL, headers: Headers): OutboundSpan {
  const span = tracer.startSpan(method, { kind: SpanKind.CLIENT })
  if (span.isRecording()) {
    span.setAttributes({
      'http.request.method': method,
      'url.full': redactUrl(url),
      'server.address': url.hostname,
      'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
      'storehook.connection': connection,
    })
  }
  if (isSpanContextValid(span.spanContext())) propagation.inject(trace.setSpan(context.active(), span), headers, HEADERS_SETTER)
  return {
    end({ status, error, errorType }) {
      if (span.isRecording()) {
        if (status !== null) span.setAttribute('http.response.status_code', status)
        // A client span fails on any 4xx or 5xx, and when no answer came.
        const failed = error !== undefined || (status !== null && status >= 400)
        if (failed) {
          span.setAttribute('error.type', errorType ?? (status !== null && status >= 400 ? String(status) : 'unreachable'))
          span.setStatus({ code: SpanStatusCode.ERROR, ...(error !== undefined ? { message: error } : {}) })
        }
      }
      span.end()
    },
  }
}
