/**
 * @module
 * The public keys Adobe I/O Events signs deliveries with. A delivery names its keys by path
 * (`x-adobe-public-key1-path: /prod/keys/pub-key-<uuid>.pem`); the keys themselves live under one
 * fixed base URL. The path comes from the request, so it is untrusted: it may only ever select a
 * file under the configured base URL, never another host (otherwise a forger would point us at a
 * key of their own and sign with it). Keys are cached for at most 24 h, as Adobe's docs require,
 * and fetched once however many deliveries ask for the same key at once.
 */
import { createPublicKey, type KeyObject } from 'node:crypto'
import { HttpError, VerificationError } from '../../core/errors.ts'

export const DEFAULT_PUBLIC_KEY_BASE_URL = 'https://static.adobeioevents.com'
export const MAX_KEY_CACHE_MS = 24 * 60 * 60 * 1000

/** A key path as Adobe writes them: segments of safe characters, ending in `.pem`; no `..`. */
const KEY_PATH = /^(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+\.pem$/

export interface PublicKeysOptions {
  baseUrl: string
  /** At most {@link MAX_KEY_CACHE_MS}. */
  cacheMs: number
  fetchTimeoutMs: number
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch
}

interface CachedKey {
  key: Promise<KeyObject>
  fetchedAt: number
}

export class PublicKeys {
  readonly #options: PublicKeysOptions
  readonly #base: URL
  readonly #cache = new Map<string, CachedKey>()

  constructor(options: PublicKeysOptions) {
    this.#options = { ...options, cacheMs: Math.min(options.cacheMs, MAX_KEY_CACHE_MS) }
    this.#base = new URL(options.baseUrl.replace(/\/*$/, '/'))
  }

  /**
   * The key a delivery names by `path`.
   * @throws VerificationError (401) for a path that is not a key path under the base URL.
   * @throws HttpError 503 when the key cannot be fetched: not the sender's fault, so the platform
   *   should retry (I/O Events drops a delivery answered with any 4xx).
   */
  get(path: string, now: number): Promise<KeyObject> {
    const url = this.#keyUrl(path)
    const cached = this.#cache.get(url)
    if (cached && now - cached.fetchedAt < this.#options.cacheMs) return cached.key
    const key = this.#fetch(url)
    this.#cache.set(url, { key, fetchedAt: now })
    // A failed fetch is not cached: the next delivery tries again.
    key.catch(() => {
      if (this.#cache.get(url)?.key === key) this.#cache.delete(url)
    })
    return key
  }

  #keyUrl(path: string): string {
    if (!KEY_PATH.test(path)) throw new VerificationError('public key path is not a key path (expected /…/name.pem)')
    const url = new URL(path.slice(1), this.#base)
    // Belt and braces: the pattern already rules out other hosts and climbing out of the base path.
    if (url.origin !== this.#base.origin || !url.pathname.startsWith(this.#base.pathname)) {
      throw new VerificationError('public key path leaves the configured publicKeyBaseUrl')
    }
    return url.href
  }

  async #fetch(url: string): Promise<KeyObject> {
    const doFetch = this.#options.fetch ?? fetch
    let pem: string
    try {
      const response = await doFetch(url, { redirect: 'error', signal: AbortSignal.timeout(this.#options.fetchTimeoutMs) })
      if (!response.ok) throw new Error(`answered ${response.status}`)
      pem = await response.text()
    } catch (error) {
      throw new HttpError(503, 'could not fetch the public key to verify this delivery; retry later', { cause: error })
    }
    try {
      return createPublicKey({ key: pem, format: 'pem', type: 'spki' })
    } catch (error) {
      throw new HttpError(503, 'the public key fetched to verify this delivery is not a PEM public key; retry later', { cause: error })
    }
  }
}
