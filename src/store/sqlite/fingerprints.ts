/**
 * @module
 * Fingerprints for loop suppression (see `Fingerprint` in ../store.ts): written in the same
 * transaction as the run's success, read by the action that wants to know an echo.
 */
import type { DatabaseSync } from 'node:sqlite'
import type { Fingerprint } from '../store.ts'

export function makeFingerprints(db: DatabaseSync) {
  const upsert = db.prepare(/* sql */ `
    INSERT INTO fingerprints (key, digest, expires_at) VALUES (?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET digest = excluded.digest, expires_at = excluded.expires_at`)
  // A bounded sweep per write keeps the table to the keys still in use, without a timer.
  const sweep = db.prepare(/* sql */ `
    DELETE FROM fingerprints WHERE key IN (SELECT key FROM fingerprints WHERE expires_at <= ? LIMIT 100)`)
  const select = db.prepare('SELECT 1 FROM fingerprints WHERE key = ? AND digest = ? AND expires_at > ?')

  return {
    /** Inside a write transaction (the run's success). */
    record(fingerprints: Fingerprint[], now: number): void {
      for (const { key, digest, expiresAt } of fingerprints) upsert.run(key, digest, expiresAt)
      sweep.run(now)
    },
    async fingerprintMatches(key: string, digest: string, now: number): Promise<boolean> {
      return select.get(key, digest, now) !== undefined
    },
  }
}
