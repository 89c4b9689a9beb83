/**
 * @module
 * Slows down guessing the admin token. Every wrong `STOREHOOK_ADMIN_TOKEN` (a bearer on the admin
 * API, a dashboard login; a request with no token at all is no guess) counts against the address
 * it came from; past `maxFailures` within `windowMs`, that address is refused every token check —
 * right or wrong, or the limit would only tell a guesser when to look closer — until its oldest
 * failure leaves the window.
 *
 * The address is the TCP peer's. Behind a reverse proxy every client shares the proxy's address,
 * so a guesser there locks everyone out for a window: that is the intended trade (refusing is
 * safe, guessing is not), and it is documented in docs/security.md.
 */

export interface TokenGuessLimits {
  /** Wrong tokens an address may send within the window. Default 20. */
  maxFailures: number
  /** Default 10 minutes. */
  windowMs: number
}

export const DEFAULT_TOKEN_GUESS_LIMITS: TokenGuessLimits = { maxFailures: 20, windowMs: 10 * 60_000 }

/** Addresses remembered at most; the stalest are forgotten first, so a flood of addresses costs bounded memory. */
const MAX_ADDRESSES = 10_000

/**
 * @example
 * const guesses = new TokenGuesses({ maxFailures: 3 })
 * guesses.failed('203.0.113.7', Date.now()) // three wrong tokens from one address…
 * guesses.failed('203.0.113.7', Date.now())
 * guesses.failed('203.0.113.7', Date.now())
 * guesses.refusedFor('203.0.113.7', Date.now()) // …and it waits: 600000 ms (answer 429 + Retry-After)
 */
export class TokenGuesses {
  readonly #limits: TokenGuessLimits
  /** Per address, the times of its failures within the window, oldest first. */
  readonly #failures = new Map<string, number[]>()

  constructor(limits: Partial<TokenGuessLimits> = {}) {
    this.#limits = { ...DEFAULT_TOKEN_GUESS_LIMITS, ...limits }
  }

  /** How long (ms) `address` must wait before its token is checked again; 0 when it may try now. */
  refusedFor(address: string | undefined, now: number): number {
    const times = this.#recent(address ?? '', now)
    if (times.length < this.#limits.maxFailures) return 0
    return times[times.length - this.#limits.maxFailures]! + this.#limits.windowMs - now
  }

  failed(address: string | undefined, now: number): void {
    const key = address ?? ''
    const times = this.#recent(key, now)
    times.push(now)
    // Re-inserted so the map's order stays least recently failed first.
    this.#failures.delete(key)
    this.#failures.set(key, times)
    if (this.#failures.size > MAX_ADDRESSES) this.#failures.delete(this.#failures.keys().next().value!)
  }

  #recent(key: string, now: number): number[] {
    const times = this.#failures.get(key)
    if (!times) return []
    while (times.length > 0 && times[0]! <= now - this.#limits.windowMs) times.shift()
    if (times.length === 0) this.#failures.delete(key)
    return times
  }
}
