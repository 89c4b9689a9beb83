/**
 * @module
 * The last good answer per input digest, in this process's memory: bounded (least recently used
 * entries go first) and aged. Not shared between processes, and empty after a restart: a fallback,
 * not a cache the handler can rely on.
 */

export interface LastGoodOptions {
  /** Most entries kept (default 10 000). */
  maxEntries: number
  /** An answer older than this is not reused (default 24 h). */
  maxAgeMs: number
}

export class LastGoodCache<Answer> {
  readonly #entries = new Map<string, { answer: Answer; at: number }>()
  readonly #options: LastGoodOptions

  constructor(options: LastGoodOptions) {
    this.#options = options
  }

  /**
   * @example
   * cache.set(digest, answer, Date.now())
   * cache.get(digest, Date.now()) // answer, while fresh
   */
  set(digest: string, answer: Answer, now: number): void {
    this.#entries.delete(digest)
    this.#entries.set(digest, { answer, at: now })
    if (this.#entries.size > this.#options.maxEntries) this.#entries.delete(this.#entries.keys().next().value!)
  }

  get(digest: string, now: number): { answer: Answer; ageMs: number } | undefined {
    const entry = this.#entries.get(digest)
    if (!entry) return undefined
    const ageMs = now - entry.at
    if (ageMs > this.#options.maxAgeMs) {
      this.#entries.delete(digest)
      return undefined
    }
    // Used: moves to the most recent end, so a hot answer outlives cold ones.
    this.#entries.delete(digest)
    this.#entries.set(digest, entry)
    return { answer: entry.answer, ageMs }
  }

  get size(): number {
    return this.#entries.size
  }
}
