/**
 * @module
 * The token cache behind every OAuth2 client-credentials connection (`adobe-commerce` with `ims`,
 * `commerce-layer`). Each connection knows how to ask its token endpoint; this knows when to:
 * one request in flight however many calls wait, a token reused until shortly before it expires,
 * and a token the API refused dropped once, so that fifty calls refused together cost one refresh.
 * {@link tokenEndpoint} and {@link readAccessToken} are the rest both connections share: the
 * endpoint's client with every secret scrubbed from what it reports, and the answer's reading.
 */
import type { OutboundCall } from './connection.ts'
import { httpConnection, type HttpClient } from './http/index.ts'

export interface CachedToken {
  value: string
  /** Epoch ms from which the next call asks for a new token. */
  refreshAt: number
}

/**
 * When to replace a token: `skewMs` before it expires, but never later than halfway through its
 * life, so a short-lived token is still reused. The lifetime counts from before the request, so
 * we never trust a token longer than its issuer does.
 *
 * @example
 * refreshAt(Date.now(), 3600_000, 300_000) // 55 minutes from now
 */
export function refreshAt(requestedAt: number, lifetimeMs: number, skewMs: number): number {
  return requestedAt + lifetimeMs - Math.min(skewMs, lifetimeMs / 2)
}

export interface TokenCache {
  /** A valid token, fetched if needed; the caller's `signal` ends its own wait, never the shared request. */
  token(signal?: AbortSignal): Promise<string>
  /** Drops `value` if it is still the cached token (the API refused it). */
  invalidate(value: string): void
}

/**
 * @example
 * const cache = makeTokenCache(async () => ({ value: await askEndpoint(), refreshAt: Date.now() + 60_000 }), Date.now)
 * const headers = { authorization: `Bearer ${await cache.token(signal)}` }
 */
export function makeTokenCache(fetchToken: () => Promise<CachedToken>, now: () => number): TokenCache {
  let current: CachedToken | undefined
  let pending: Promise<CachedToken> | undefined
  return {
    async token(signal) {
      signal?.throwIfAborted()
      if (current !== undefined && now() < current.refreshAt) return current.value
      if (pending === undefined) {
        // One request for every waiting call. A failure is not cached: the next call asks again.
        const request = fetchToken()
          .then((fresh) => (current = fresh))
          .finally(() => {
            pending = undefined
          })
        request.catch(() => undefined) // every waiter may have given up; the rejection is theirs to see, not the process's
        pending = request
      }
      return (await (signal === undefined ? pending : untilAborted(pending, signal))).value
    },
    invalidate(value) {
      if (current?.value === value) current = undefined
    },
  }
}

/**
 * Replaces every secret of 4 characters or more in `text` with `[redacted]`: what a token
 * endpoint or an API echoes back (the client secret, recent tokens) must reach no message.
 */
export function scrubAll(text: string, secrets: readonly string[]): string {
  return secrets.reduce((result, secret) => (secret.length >= 4 ? result.replaceAll(secret, '[redacted]') : result), text)
}

export interface TokenEndpoint {
  /** Posts to the token URL; the outbound calls it reports carry no secret. */
  client: HttpClient
  /** The values no message may show: the client secret and the last few tokens handed out. */
  secrets(): string[]
  /** `text` with every secret replaced by `[redacted]`. */
  scrub(text: string): string
  /** Adds a token just handed out to the secrets (the newest few are kept). */
  remember(token: string): void
}

/**
 * @example
 * const endpoint = tokenEndpoint('commerce', { tokenUrl, clientSecret, timeoutMs: 10_000 })
 * const { text } = await endpoint.client.post('', { body })
 */
export function tokenEndpoint(
  name: string,
  options: { tokenUrl: string; clientSecret: string; timeoutMs: number; onCall?: ((call: OutboundCall) => void) | undefined },
): TokenEndpoint {
  const recent: string[] = [] // tokens still possibly echoed back somewhere; a few suffice
  const secrets = (): string[] => [options.clientSecret, ...recent]
  const scrub = (text: string): string => scrubAll(text, secrets())
  const { onCall } = options
  const client = httpConnection.create(
    name,
    { baseUrl: options.tokenUrl, timeoutMs: options.timeoutMs },
    onCall ? { onCall: (call) => onCall(call.error === undefined ? call : { ...call, error: scrub(call.error) }) } : {},
  )
  return {
    client,
    secrets,
    scrub,
    remember(token) {
      recent.unshift(token)
      recent.length = Math.min(recent.length, 4)
    },
  }
}

/**
 * The access token and its announced lifetime from a token endpoint's 200 answer; undefined when
 * it holds no usable token (not JSON, missing, empty, or with whitespace or NUL in it).
 */
export function readAccessToken(text: string): { value: string; expiresInSeconds: number | undefined } | undefined {
  const answer = parseJson(text) as { access_token?: unknown; expires_in?: unknown } | undefined
  const value = answer?.access_token
  if (typeof value !== 'string' || value === '' || /[\s\0]/.test(value)) return undefined
  const announced = Number(answer?.expires_in)
  return { value, expiresInSeconds: Number.isFinite(announced) && announced > 0 ? announced : undefined }
}

/** Parses a token endpoint's answer, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
