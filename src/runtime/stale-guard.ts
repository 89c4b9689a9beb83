/**
 * @module
 * The stale-update guard for per-entity sync. An action declares where its events carry the
 * entity's version (`version: 'product.updated_at'`); a run whose event is older than the version
 * its action last delivered for the same ordering key is skipped, so a late retry or a replayed
 * old event never overwrites newer data in the target. Runs of one key never overlap, so reading
 * the last version before the handler and writing it with the success cannot race.
 */
import type { Store } from '../store/store.ts'
import type { ActionEvent } from './action.ts'

/** A version as read from an event: numbers, ISO or SQL-style timestamps, or any string. */
export type VersionOption<Payload = any> =
  | string
  | ((event: ActionEvent<Payload>) => string | number | Date | null | undefined)

/** Reads an event's version as the text stored; null when the event carries none (never skipped). */
export function makeVersionReader(option: VersionOption): (event: ActionEvent) => string | null {
  const read =
    typeof option === 'function'
      ? option
      : (event: ActionEvent) => option.split('.').reduce<any>((value, key) => (value == null ? undefined : value[key]), event.payload)
  return (event) => {
    const value = read(event)
    if (value === undefined || value === null || value === '') return null
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
    return String(value)
  }
}

const NUMBER = /^-?\d+(\.\d+)?$/

/**
 * Compares two versions: numerically when both are numbers, as instants when both parse as
 * dates (`2026-11-22 10:00:00` and `2026-11-22T10:00:00Z` alike), else as strings.
 *
 * @example
 * compareVersions('9', '10') // < 0
 * compareVersions('2026-11-22 10:00:00', '2026-11-21T23:00:00Z') // > 0
 */
export function compareVersions(a: string, b: string): number {
  if (NUMBER.test(a) && NUMBER.test(b)) return Number(a) - Number(b)
  const [ta, tb] = [Date.parse(a), Date.parse(b)]
  if (!Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb
  return a < b ? -1 : a > b ? 1 : 0
}

/** Why a run with this event version must be skipped, or null when it may run. */
export async function staleReason(store: Store, action: string, orderingKey: string, version: string): Promise<string | null> {
  const latest = await store.latestVersion(action, orderingKey)
  if (latest === null || compareVersions(version, latest) >= 0) return null
  return `stale: the event's version ${version} is older than ${latest}, already delivered for "${orderingKey}"`
}
