/**
 * @module
 * Loop suppression for two-way sync. When an action writes to a system (the ERP's stock level
 * into Commerce), that system emits an event for the change, and the action syncing the other way
 * would send it straight back: an endless loop. The writing action remembers a fingerprint of what
 * it wrote; the other action asks whether an incoming event is that echo and skips it.
 *
 * A fingerprint is recorded only if the remembering run succeeds (in the same transaction), so a
 * failed write never hides a real change. It is a SHA-256 of the value's JSON with object keys
 * sorted, so key order does not matter, and it expires after `ttlMs` (default 60 s, as Adobe's
 * starter kit's breaker).
 */
import { createHash } from 'node:crypto'
import type { Fingerprint, Store } from '../store/store.ts'

export const DEFAULT_FINGERPRINT_TTL_MS = 60_000

export interface LoopGuard {
  /**
   * Whether `value` is what a run of this project recorded under `key` and that has not expired:
   * an echo of our own write.
   */
  isEcho(key: string, value: unknown): Promise<boolean>
  /** Records `value` under `key` for `ttlMs` — when, and only if, this run succeeds. */
  remember(key: string, value: unknown, options?: { ttlMs?: number }): void
}

/**
 * The fingerprint of a value: SHA-256 (hex) of its JSON with object keys sorted, so the same data
 * in another key order has the same fingerprint.
 *
 * @example
 * fingerprintOf({ sku: 'WS12-M', qty: 5 }) === fingerprintOf({ qty: 5, sku: 'WS12-M' }) // true
 */
export function fingerprintOf(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex')
}

/** A guard for one attempt; `remembered` collects what it asked to record. */
export function makeLoopGuard(store: Store, remembered: Fingerprint[]): LoopGuard {
  return {
    isEcho(key, value) {
      return store.fingerprintMatches(key, fingerprintOf(value), Date.now())
    },
    remember(key, value, { ttlMs = DEFAULT_FINGERPRINT_TTL_MS } = {}) {
      remembered.push({ key, digest: fingerprintOf(value), expiresAt: Date.now() + ttlMs })
    },
  }
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  ) ?? 'undefined'
}
