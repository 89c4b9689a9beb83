/**
 * @module
 * Adobe IMS OAuth server-to-server credentials for the `adobe-commerce` connection: how Adobe
 * Commerce as a Cloud Service (SaaS) authenticates REST calls, where integrations' OAuth 1.0a
 * does not exist. A token comes from the `client_credentials` grant (Adobe Developer Console,
 * "OAuth Server-to-Server credential API Reference": a form-encoded POST of `client_id`,
 * `client_secret`, `grant_type` and a comma-separated `scope` to `ims/token/v3`, answered with
 * `{access_token, token_type: 'bearer', expires_in}` in seconds). There is no refresh token: a
 * new token is the same request again.
 *
 * The token is cached until `expires_in` minus a skew, and one request is in flight however many
 * calls wait for it. The client secret is only ever written into that one request body, and
 * neither it nor a token appears in an error or an `onCall` report.
 */
import { z } from 'zod'
import type { OutboundCall } from '../connection.ts'
import { TargetResponseError, TargetUnreachableError } from '../http/index.ts'
import { makeTokenCache, parseJson, readAccessToken, refreshAt, tokenEndpoint, type CachedToken } from '../token-cache.ts'

/** Adobe's production IMS endpoint for the `client_credentials` grant. */
export const DEFAULT_IMS_TOKEN_URL = 'https://ims-na1.adobelogin.com/ims/token/v3'

/** IMS reads `scope` as a comma-separated list, so neither a comma nor a space can be part of one scope. */
const SCOPE = /^[^\s,]+$/

export const imsConfigSchema = z.object({
  /** The credential's client ID (Developer Console); also sent as `x-api-key`. */
  clientId: z.string().min(1),
  /** The credential's client secret. Sent to `tokenUrl` only. */
  clientSecret: z.string().min(1),
  /**
   * The scopes to ask for, as a list or one comma-separated string, e.g.
   * `'openid,AdobeID,email,profile,additional_info.roles,additional_info.projectedProductContext,commerce.accs'`
   * (Adobe's ACCS server-to-server guide; it insists on `commerce.accs`).
   */
  scopes: z
    .union([z.string(), z.array(z.string())])
    .transform((value) => (typeof value === 'string' ? value.split(',') : value).map((scope) => scope.trim()).filter((scope) => scope !== ''))
    .pipe(z.array(z.string().regex(SCOPE, 'a scope has no spaces or commas; give a list or a comma-separated string')).min(1, 'give at least one scope')),
  /** The IMS organization (`…@AdobeOrg`); when set, sent as `x-gw-ims-org-id` with every call. */
  orgId: z.string().min(1).optional(),
  /** Where tokens come from. Default {@link DEFAULT_IMS_TOKEN_URL}. */
  tokenUrl: z
    .url({ protocol: /^https?$/, error: 'tokenUrl must be an http:// or https:// URL' })
    .refine((value) => !/[?#]/.test(value), 'tokenUrl must not contain a query string or a fragment')
    .default(DEFAULT_IMS_TOKEN_URL),
  /**
   * A token is replaced this long before IMS says it expires, so a call never leaves with a token
   * that dies on the way (at most half the token's lifetime, so a short-lived token is still reused).
   * Default 300.
   */
  refreshSkewSeconds: z.number().int().nonnegative().default(300),
  /**
   * UNVERIFIED how long IMS tokens live for every credential (the docs' sample says 86399 s;
   * other Adobe pages say 24 h): a token is trusted at most this long whatever `expires_in` says,
   * and this long when an answer carries no usable `expires_in`. Default 86400.
   */
  maxTokenLifetimeSeconds: z.number().int().positive().default(86_400),
  /**
   * Send `x-api-key: <clientId>` with every call, as Adobe's ACCS samples do. UNVERIFIED whether
   * the SaaS REST API requires it; turn it off only if your gateway rejects it. Default true.
   */
  sendApiKey: z.boolean().default(true),
})

/** The `ims` options as the user writes them. */
export type ImsConfig = z.input<typeof imsConfigSchema>

/**
 * Getting a token failed. `status` is IMS's answer, read by `classifyFailure` like any
 * connection's: a 400/401 (`invalid_client`: a wrong id or secret; `invalid_scope`) makes the run
 * dead at once, a 429 or 5xx is retried (no sooner than `retryAfterMs`). No `status`: IMS did not
 * answer (or answered nonsense), which is retried too.
 *
 * @example
 * try {
 *   await ctx.connections.commerce.getOrder(entityId, { signal: ctx.signal })
 * } catch (error) {
 *   if (error instanceof ImsTokenError) ctx.logger.error({ status: error.status, oauthError: error.oauthError }, 'IMS refused the credentials')
 *   throw error
 * }
 */
export class ImsTokenError extends Error {
  declare readonly status?: number
  declare readonly retryAfterMs?: number
  /** IMS's OAuth error code (`invalid_client`, `invalid_scope`, …) when it gave one. */
  declare readonly oauthError?: string

  constructor(message: string, fields: { status?: number; retryAfterMs?: number; oauthError?: string; cause?: unknown } = {}) {
    super(message, { cause: fields.cause })
    this.name = 'ImsTokenError'
    if (fields.status !== undefined) this.status = fields.status
    if (fields.retryAfterMs !== undefined) this.retryAfterMs = fields.retryAfterMs
    if (fields.oauthError !== undefined) this.oauthError = fields.oauthError
  }
}

export interface ImsAuthOptions {
  /** How long the token request may take. */
  timeoutMs: number
  /** Reports the token request like any other outbound call (messages already scrubbed). */
  onCall?: (call: OutboundCall) => void
  /** The clock the cache reads, in ms; default `Date.now`. */
  now?: () => number
}

/**
 * Bearer tokens for one IMS credential, shared by every call of one connection.
 *
 * @example
 * const ims = createImsAuth('commerce', imsConfigSchema.parse({ clientId, clientSecret, scopes: 'commerce.accs' }), { timeoutMs: 10_000 })
 * const { headers, token } = await ims.authorize()
 * // headers: { authorization: 'Bearer eyJ…', 'x-api-key': clientId }
 * // on a 401 from Commerce: ims.invalidate(token), then authorize() again, once
 */
export interface ImsAuth {
  /** The headers one call carries; fetches a token first when none is cached or it is about to expire. */
  authorize(signal?: AbortSignal): Promise<{ headers: Record<string, string>; token: string }>
  /** Drops `token` from the cache if it is still the cached one (Commerce refused it). */
  invalidate(token: string): void
  /** The values no message may show: the client secret and the tokens handed out lately. */
  secrets(): string[]
}

export function createImsAuth(name: string, config: z.output<typeof imsConfigSchema>, options: ImsAuthOptions): ImsAuth {
  const now = options.now ?? Date.now
  const endpoint = tokenEndpoint(name, { tokenUrl: config.tokenUrl, clientSecret: config.clientSecret, timeoutMs: options.timeoutMs, onCall: options.onCall })
  async function fetchToken(): Promise<CachedToken> {
    const startedAt = now() // the lifetime counts from before the request: never trust a token longer than IMS does
    const body = new URLSearchParams({
      client_id: config.clientId,
      client_secret: config.clientSecret,
      grant_type: 'client_credentials',
      scope: config.scopes.join(','),
    }).toString()
    let text: string
    try {
      const response = await endpoint.client.post('', {
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      })
      text = response.text
    } catch (error) {
      throw tokenError(name, config.tokenUrl, error, endpoint.scrub)
    }
    const token = readAccessToken(text)
    if (token === undefined) {
      // No excerpt: whatever IMS put there may be a token.
      throw new ImsTokenError(`${name}: could not get an IMS access token: ${config.tokenUrl} answered 200 without a usable access_token`)
    }
    const { value, expiresInSeconds } = token
    endpoint.remember(value)
    const lifetimeS = Math.min(expiresInSeconds ?? Infinity, config.maxTokenLifetimeSeconds)
    return { value, refreshAt: refreshAt(startedAt, lifetimeS * 1000, config.refreshSkewSeconds * 1000) }
  }
  const cache = makeTokenCache(fetchToken, now)

  return {
    async authorize(signal) {
      const value = await cache.token(signal)
      const headers: Record<string, string> = { authorization: `Bearer ${value}` }
      if (config.sendApiKey) headers['x-api-key'] = config.clientId
      if (config.orgId !== undefined) headers['x-gw-ims-org-id'] = config.orgId
      return { headers, token: value }
    },
    invalidate: cache.invalidate,
    secrets: endpoint.secrets,
  }
}

/** Turns the token endpoint's failure into an {@link ImsTokenError} the worker classifies. */
function tokenError(name: string, tokenUrl: string, error: unknown, scrub: (text: string) => string): unknown {
  const prefix = `${name}: could not get an IMS access token`
  if (error instanceof TargetResponseError) {
    const body = parseJson(error.responseText) as { error?: unknown; error_description?: unknown } | undefined
    const oauthError = typeof body?.error === 'string' ? body.error : undefined
    const description = typeof body?.error_description === 'string' ? body.error_description : undefined
    const detail = oauthError === undefined ? scrub(error.responseText).slice(0, 200).trim() : `${oauthError}${description ? ` (${description})` : ''}`
    const hint =
      oauthError === 'invalid_client' ? '; check ims.clientId and ims.clientSecret'
      : oauthError === 'invalid_scope' ? '; check ims.scopes against the credential in the Developer Console'
      : ''
    return new ImsTokenError(scrub(`${prefix}: ${tokenUrl} answered ${error.status}${detail ? `: ${detail}` : ''}${hint}`), {
      status: error.status,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      ...(oauthError === undefined ? {} : { oauthError }),
    })
  }
  if (error instanceof TargetUnreachableError) {
    return new ImsTokenError(scrub(`${prefix}: ${tokenUrl} did not answer: ${error.reason}`), { cause: error.cause })
  }
  return error // the caller's abort, as it was
}
