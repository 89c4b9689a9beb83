/**
 * @module
 * One HTTP exchange with the Commerce Layer API, with the `http` connection's rules: a timeout
 * that covers reading the whole body, no redirects followed (the bearer token must never reach
 * another host), and no answer turned into {@link TargetUnreachableError}. It exists apart from
 * the `http` connection because a 429 must be read together with its rate-limit headers, which
 * that connection's errors do not keep.
 */
import { describeNetworkError, TargetUnreachableError } from '../http/index.ts'
import { traceOutbound } from '../http/trace.ts'

export interface Exchange {
  connection: string
  method: string
  url: URL
  headers: Headers
  body?: string
  timeoutMs: number
  /** The caller's signal: aborting it rejects with its reason, not with an unreachable error. */
  signal?: AbortSignal
}

/** An answer of any status, body read in full. */
export interface Answer {
  status: number
  headers: Headers
  text: string
  durationMs: number
}

/** What the exchange became when it has no answer, for the `onCall` report. */
export type NoAnswer = { error: unknown; durationMs: number; reason: string; aborted: boolean }

/**
 * Sends the request. Resolves with any answer; rejects with the caller's abort reason, or with a
 * {@link TargetUnreachableError} whose `reason` is short and holds nothing but the failure.
 *
 * @example
 * const answer = await exchange({ connection: 'cl', method: 'GET', url: new URL('https://x.commercelayer.io/api/skus'), headers, timeoutMs: 30_000 }, () => {})
 */
export async function exchange(request: Exchange, onNoAnswer: (failure: NoAnswer) => void): Promise<Answer> {
  const { connection, method, url, headers, body, timeoutMs } = request
  const caller = request.signal
  caller?.throwIfAborted()
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = caller ? AbortSignal.any([timeout, caller]) : timeout
  const span = traceOutbound(connection, method, url, headers)
  const started = performance.now()
  try {
    const response = await fetch(url, { method, headers, body: body ?? null, signal, redirect: 'manual' })
    const text = await response.text()
    span.end({ status: response.status })
    return { status: response.status, headers: response.headers, text, durationMs: performance.now() - started }
  } catch (error) {
    const durationMs = performance.now() - started
    if (caller?.aborted) {
      span.end({ status: null, error: 'aborted by caller', errorType: 'aborted' })
      onNoAnswer({ error, durationMs, reason: 'aborted by caller', aborted: true })
      throw caller.reason
    }
    const reason = timeout.aborted ? `timed out after ${timeoutMs} ms` : describeNetworkError(error)
    span.end({ status: null, error: reason, errorType: timeout.aborted ? 'timeout' : 'unreachable' })
    onNoAnswer({ error, durationMs, reason, aborted: false })
    throw new TargetUnreachableError(`${connection} did not answer ${method} ${url.pathname}: ${reason}`, {
      connection,
      method,
      url: url.origin + url.pathname,
      reason,
      cause: error,
    })
  }
}

