/**
 * @module
 * OAuth2 client credentials for an integration application (reference/commerce-layer.md §6,
 * reference/stack.md §7): a JSON `POST` of `grant_type`, `client_id`, `client_secret` (and
 * `scope`) to the token endpoint, answered with `{access_token, token_type: 'bearer',
 * expires_in, scope, created_at}`. There is no refresh token for this grant: a new token is the
 * same request again.
 *
 * The same approach as the `adobe-commerce` connection's IMS tokens (../adobe-commerce/ims.ts):
 * the token is cached until `expires_in` minus a skew, one request is in flight however many calls
 * wait for it (the token endpoint allows only 30 requests a minute per IP), a failure is not
 * cached, and a call that gives up waiting does not cancel the request others wait on. The client
 * secret is only ever written into that one request body; neither it nor a token appears in an
 * error or an `onCall` report.
 */
import type { OutboundCall } from '../connection.ts'
import { TargetResponseError, TargetUnreachableError } from '../http/index.ts'
import { makeTokenCache, parseJson, readAccessToken, refreshAt, tokenEndpoint, type CachedToken } from '../token-cache.ts'
import type { CommerceLayerConfig } from './config.ts'
import { CommerceLayerTokenError } from './errors.ts'
import { describeJsonApiErrors, parseJsonApiErrors } from './jsonapi.ts'

export interface TokenSourceOptions {
  /** How long the token request may take. */
  timeoutMs: number
  /** Reports the token request like any other outbound call (messages already scrubbed). */
  onCall?: (call: OutboundCall) => void
  /** The clock the cache reads, in ms; default `Date.now`. */
  now?: () => number
}

/**
 * Bearer tokens for one integration application, shared by every call of one connection.
 *
 * @example
 * const tokens = createTokenSource('cl', commerceLayerConfigSchema.parse({ baseUrl, clientId, clientSecret }), { timeoutMs: 10_000 })
 * const token = await tokens.token()
 * // on a 401 from the API: tokens.invalidate(token), then token() again, once
 */
export interface TokenSource {
  /** A valid token: the cached one, or a new one when none is cached or it is about to expire. */
  token(signal?: AbortSignal): Promise<string>
  /** Drops `token` from the cache if it is still the cached one (the API refused it). */
  invalidate(token: string): void
  /** The values no message may show: the client secret and the tokens handed out lately. */
  secrets(): string[]
}

export function createTokenSource(name: string, config: CommerceLayerConfig, options: TokenSourceOptions): TokenSource {
  const now = options.now ?? Date.now
  const endpoint = tokenEndpoint(name, { tokenUrl: config.tokenUrl, clientSecret: config.clientSecret, timeoutMs: options.timeoutMs, onCall: options.onCall })
  async function fetchToken(): Promise<CachedToken> {
    const startedAt = now() // the lifetime counts from before the request: never trust a token longer than the server does
    const body: Record<string, string> = {
      grant_type: 'client_credentials',
      client_id: config.clientId,
      client_secret: config.clientSecret,
    }
    if (config.scope !== undefined && config.scope.length > 0) body.scope = config.scope.join(' ')
    let text: string
    try {
      const response = await endpoint.client.post('', { json: body, headers: { accept: 'application/json' } })
      text = response.text
    } catch (error) {
      throw tokenError(name, config.tokenUrl, error, endpoint.scrub)
    }
    const token = readAccessToken(text)
    if (token === undefined) {
      // No excerpt: whatever the endpoint put there may be a token.
      throw new CommerceLayerTokenError(`${name}: could not get a Commerce Layer access token: ${config.tokenUrl} answered 200 without a usable access_token`)
    }
    const { value, expiresInSeconds } = token
    endpoint.remember(value)
    const lifetimeMs = (expiresInSeconds ?? config.defaultTokenLifetimeSeconds) * 1000
    return { value, refreshAt: refreshAt(startedAt, lifetimeMs, config.refreshSkewSeconds * 1000) }
  }
  const cache = makeTokenCache(fetchToken, now)

  return {
    token: cache.token,
    invalidate: cache.invalidate,
    secrets: endpoint.secrets,
  }
}

/** The token endpoint allows 30 requests in any one minute (reference §6). */
const TOKEN_WINDOW_MS = 60_000

/** Turns the token endpoint's failure into a {@link CommerceLayerTokenError} the worker classifies. */
function tokenError(name: string, tokenUrl: string, error: unknown, scrub: (text: string) => string): unknown {
  const prefix = `${name}: could not get a Commerce Layer access token`
  if (error instanceof TargetResponseError) {
    // OAuth's `{error, error_description}` (RFC 6749 §5.2) or the API's JSON:API `errors`: UNVERIFIED which one the endpoint sends.
    const body = parseJson(error.responseText) as { error?: unknown; error_description?: unknown } | undefined
    const jsonApi = parseJsonApiErrors(error.responseText)
    const oauthError = typeof body?.error === 'string' ? body.error : jsonApi[0]?.code
    const description = typeof body?.error_description === 'string' ? body.error_description : describeJsonApiErrors(jsonApi)
    const detail =
      oauthError === undefined && description === '' ? error.responseText.slice(0, 200).trim()
      : [oauthError, description && `(${description})`].filter(Boolean).join(' ')
    const hint = error.status === 401 || oauthError === 'invalid_client' ? '; check clientId and clientSecret' : oauthError === 'invalid_scope' ? '; check scope' : ''
    // The token endpoint's window is one minute and slides: after a minute without requests a slot is certain.
    const retryAfterMs = error.retryAfterMs ?? (error.status === 429 ? TOKEN_WINDOW_MS : undefined)
    return new CommerceLayerTokenError(scrub(`${prefix}: ${tokenUrl} answered ${error.status}${detail ? `: ${detail}` : ''}${hint}`), {
      status: error.status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(oauthError === undefined ? {} : { oauthError }),
    })
  }
  if (error instanceof TargetUnreachableError) {
    return new CommerceLayerTokenError(scrub(`${prefix}: ${tokenUrl} did not answer: ${error.reason}`), { cause: error.cause })
  }
  return error // the caller's abort, as it was
}
