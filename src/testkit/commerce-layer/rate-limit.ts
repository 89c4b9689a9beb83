/**
 * @module
 * Commerce Layer's rate limits (reference/commerce-layer.md §6): per IP, sliding windows that are
 * never reset (so no `X-Ratelimit-Reset`).
 * - `/oauth/token`: 30 requests a minute, live and test.
 * - `/api/*`, two classes. Cacheable reads (GET of skus, prices, price_lists, markets, promotions,
 *   stock_items, stock_locations, sku_options, bundles, imports): on average 1000/min live, 500/min
 *   test across the class; in bursts 250 (live) or 125 (test) per 10 s per endpoint. Uncacheable
 *   reads and every write: 200/min live, 100/min test; bursts 50 or 25 per 10 s per endpoint.
 * Over a limit: 429. `X-Ratelimit-Limit`, `X-Ratelimit-Interval` (seconds) and
 * `X-Ratelimit-Remaining` describe the average limit only.
 *
 * UNVERIFIED: whether refused requests count toward the windows. They do not here: Commerce Layer
 * blocks "until the frequency … drops below the allowed limit", which a client that keeps
 * retrying could otherwise never reach.
 */

export interface RateLimitRule {
  limit: number
  windowMs: number
}

export interface RateLimits {
  token: RateLimitRule
  cacheable: { average: RateLimitRule; burst: RateLimitRule }
  uncacheable: { average: RateLimitRule; burst: RateLimitRule }
}

const MINUTE = 60_000
const BURST = 10_000

/** The documented limits for `mode`. */
export function documentedRateLimits(mode: 'test' | 'live'): RateLimits {
  const live = mode === 'live'
  return {
    token: { limit: 30, windowMs: MINUTE },
    cacheable: { average: { limit: live ? 1000 : 500, windowMs: MINUTE }, burst: { limit: live ? 250 : 125, windowMs: BURST } },
    uncacheable: { average: { limit: live ? 200 : 100, windowMs: MINUTE }, burst: { limit: live ? 50 : 25, windowMs: BURST } },
  }
}

/** Resource types whose reads are cacheable (reference §6). `*_promotions` counts as `promotions`. */
const CACHEABLE = new Set(['bundles', 'imports', 'markets', 'prices', 'price_lists', 'promotions', 'skus', 'sku_options', 'stock_items', 'stock_locations'])

export function isCacheable(method: string, resourceType: string): boolean {
  return (method === 'GET' || method === 'HEAD') && (CACHEABLE.has(resourceType) || resourceType.endsWith('_promotions'))
}

/** The headers an answer carries, from the average window. */
export interface RateLimitHeaders {
  'X-Ratelimit-Limit': string
  'X-Ratelimit-Interval': string
  'X-Ratelimit-Remaining': string
}

/** A set of sliding-window logs, one per key. */
export class SlidingWindows {
  readonly #hits = new Map<string, number[]>()

  /** Hits in the window ending at `now`, dropping older ones. */
  count(key: string, rule: RateLimitRule, now: number): number {
    const hits = this.#hits.get(key)
    if (!hits) return 0
    while (hits.length > 0 && (hits[0] as number) <= now - rule.windowMs) hits.shift()
    return hits.length
  }

  add(key: string, now: number): void {
    const hits = this.#hits.get(key)
    if (hits) hits.push(now)
    else this.#hits.set(key, [now])
  }

  /**
   * Admits one request under every rule given, or none of them: `allowed` false means a 429 and
   * nothing was counted. `remaining` is for the first rule (the average one).
   *
   * @example
   * windows.admit([['uncacheable', average], ['uncacheable:orders', burst]], Date.now())
   */
  admit(checks: readonly [string, RateLimitRule][], now: number): { allowed: boolean; headers: RateLimitHeaders } {
    const counts = checks.map(([key, rule]) => this.count(key, rule, now))
    const allowed = checks.every(([, rule], index) => (counts[index] as number) < rule.limit)
    if (allowed) for (const [key] of checks) this.add(key, now)
    const [, first] = checks[0] as [string, RateLimitRule]
    const used = (counts[0] as number) + (allowed ? 1 : 0)
    return {
      allowed,
      headers: {
        'X-Ratelimit-Limit': String(first.limit),
        'X-Ratelimit-Interval': String(Math.round(first.windowMs / 1000)),
        'X-Ratelimit-Remaining': String(Math.max(0, first.limit - used)),
      },
    }
  }
}
