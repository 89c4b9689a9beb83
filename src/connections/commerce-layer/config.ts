/**
 * @module
 * The `commerce-layer` connection's options, validated when the project loads.
 */
import { z } from 'zod'
import { flowConfigFields } from '../flow/config.ts'

/**
 * Commerce Layer's token endpoint for every organization (reference/commerce-layer.md §6). The
 * per-organization `https://<slug>.commercelayer.io/oauth/token` was deprecated at the end of
 * October 2024; set `tokenUrl` to it only for an organization that still needs it.
 */
export const DEFAULT_TOKEN_URL = 'https://auth.commercelayer.io/oauth/token'

/** A scope is `market:id:xYZ`, `market:code:europe`, `store:…`, `stock_location:…`: no spaces. */
const SCOPE = /^\S+$/

function isOriginWithOptionalApi(value: string): boolean {
  const url = URL.parse(value)
  return url !== null && /^\/(api\/?)?$/.test(url.pathname) && url.search === '' && url.hash === '' && url.username === '' && url.password === ''
}

export const commerceLayerConfigSchema = z.object({
  /**
   * The organization's API domain, `https://<slug>.commercelayer.io` (a trailing `/api` is
   * accepted and ignored). Calls go to `<baseUrl>/api/<path>`. `http://` is accepted for local
   * simulators.
   */
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'baseUrl must be an http:// or https:// URL' })
    .refine(isOriginWithOptionalApi, 'baseUrl is the organization domain, e.g. https://my-org.commercelayer.io, without a path, query or credentials'),
  /** The integration application's client ID. */
  clientId: z.string().min(1),
  /** The integration application's client secret. Sent to `tokenUrl` only, never logged. */
  clientSecret: z.string().min(1),
  /**
   * Restricts the token, e.g. `'market:id:xYZkjABcde'` or `['market:code:europe', 'stock_location:id:…']`.
   * Several scopes are sent space-separated, as RFC 6749 §3.3 has it (UNVERIFIED: the reference
   * shows single scopes only).
   */
  scope: z
    .union([z.string(), z.array(z.string())])
    .transform((value) => (typeof value === 'string' ? value.split(/\s+/) : value).map((scope) => scope.trim()).filter((scope) => scope !== ''))
    .pipe(z.array(z.string().regex(SCOPE, 'a scope has no spaces')))
    .optional(),
  /** Where tokens come from. Default {@link DEFAULT_TOKEN_URL}. */
  tokenUrl: z
    .url({ protocol: /^https?$/, error: 'tokenUrl must be an http:// or https:// URL' })
    .refine((value) => !/[?#]/.test(value), 'tokenUrl must not contain a query string or a fragment')
    .default(DEFAULT_TOKEN_URL),
  /**
   * A token is replaced this long before it expires, so no call leaves with a token that dies on
   * the way; at most half the token's lifetime, so a short-lived token is still reused. Default 300.
   */
  refreshSkewSeconds: z.number().int().nonnegative().default(300),
  /**
   * How long a token is trusted when the answer has no usable `expires_in`. Default 7200: an
   * integration token's default lifetime (reference §6; organizations can change it).
   */
  defaultTokenLifetimeSeconds: z.number().int().positive().default(7200),
  /** How long one request may take, from sending it to reading the whole body. Default 30000. */
  timeoutMs: z.number().int().positive().default(30_000),
  ...flowConfigFields,
  /**
   * The wait reported (`retryAfterMs`) for a 429 that the rate-limit headers do not explain: the
   * burst limit, which no header describes. Default 10000, the burst window (see ./rate-limit.ts).
   */
  burstBackoffMs: z.number().int().nonnegative().default(10_000),
})

/** The config as the user writes it. */
export type CommerceLayerConnectionConfig = z.input<typeof commerceLayerConfigSchema>
/** The config once validated, defaults filled in. */
export type CommerceLayerConfig = z.output<typeof commerceLayerConfigSchema>

/** `<origin>/api/`: where every path is resolved. */
export function apiRoot(baseUrl: string): string {
  return `${new URL(baseUrl).origin}/api/`
}
