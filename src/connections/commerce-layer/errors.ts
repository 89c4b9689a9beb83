/**
 * @module
 * What the `commerce-layer` connection throws. Each error carries what `classifyFailure`
 * (core/outcome.ts) reads: a numeric `status` (a permanent 4xx makes the run dead, a 429 or 5xx
 * retries it) and, on a 429, `retryAfterMs` so the worker waits for the rate limit to free up.
 * No message, `responseText` or field ever holds the client secret or an access token.
 */
import { TargetResponseError } from '../http/index.ts'
import type { JsonApiError } from './jsonapi.ts'
import type { RateLimitStatus } from './rate-limit.ts'

/**
 * The API answered with a non-2xx. A {@link TargetResponseError} (so code written for the `http`
 * connection handles it), plus the JSON:API `errors` Commerce Layer sent (e.g. a 422's
 * validation messages with their `source.pointer`) and the rate-limit headers of that answer.
 *
 * @example
 * try {
 *   await cl.post('line_items', { data: { type: 'line_items', attributes: { quantity: 0 } } })
 * } catch (error) {
 *   if (error instanceof CommerceLayerApiError && error.status === 422) console.log(error.errors[0]?.detail)
 *   else throw error
 * }
 */
export class CommerceLayerApiError extends TargetResponseError {
  /** The answer's JSON:API `errors` (empty when the body was not JSON:API). */
  readonly errors: JsonApiError[]
  /** The rate-limit headers of the answer, when it had them. */
  declare readonly rateLimit?: RateLimitStatus

  constructor(
    message: string,
    fields: ConstructorParameters<typeof TargetResponseError>[1] & { errors: JsonApiError[]; rateLimit?: RateLimitStatus },
  ) {
    const { errors, rateLimit, ...rest } = fields
    super(message, rest)
    this.name = 'CommerceLayerApiError'
    this.errors = errors
    if (rateLimit !== undefined) this.rateLimit = rateLimit
  }
}

/**
 * Getting an access token failed. `status` is the token endpoint's answer: 400/401 (a wrong
 * client id or secret, a scope the application may not have) make the run dead at once; a 429
 * (the token endpoint allows 30 requests a minute) or a 5xx is retried, no sooner than
 * `retryAfterMs`. No `status`: the endpoint did not answer, or answered without a usable token;
 * that is retried too.
 *
 * @example
 * try {
 *   await cl.get('orders/xYZkjABcde')
 * } catch (error) {
 *   if (error instanceof CommerceLayerTokenError) ctx.logger.error({ status: error.status, oauthError: error.oauthError }, 'Commerce Layer refused the credentials')
 *   throw error
 * }
 */
export class CommerceLayerTokenError extends Error {
  declare readonly status?: number
  declare readonly retryAfterMs?: number
  /** The OAuth error code (`invalid_client`, `invalid_scope`, …) or JSON:API error code, when one was given. */
  declare readonly oauthError?: string

  constructor(message: string, fields: { status?: number; retryAfterMs?: number; oauthError?: string; cause?: unknown } = {}) {
    super(message, { cause: fields.cause })
    this.name = 'CommerceLayerTokenError'
    if (fields.status !== undefined) this.status = fields.status
    if (fields.retryAfterMs !== undefined) this.retryAfterMs = fields.retryAfterMs
    if (fields.oauthError !== undefined) this.oauthError = fields.oauthError
  }
}
