/**
 * @module
 * Input digests: the hex SHA-256 of a value written as canonical JSON (object keys sorted at
 * every depth, `toJSON` honoured, so denormalized JSON:API resources write their relationships as
 * identifiers), so the same input gives the same digest whatever order its fields came in.
 */
import { createHash } from 'node:crypto'

/**
 * @example
 * inputDigest({ b: 1, a: [2, { d: 3, c: 4 }] }) === inputDigest({ a: [2, { c: 4, d: 3 }], b: 1 }) // true
 */
export function inputDigest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex')
}

/** JSON with sorted keys; `undefined` members are left out as JSON.stringify does. */
export function canonicalJson(value: unknown, depth = 0): string {
  // A user's key function could return something cyclic or absurdly deep: stop rather than hang.
  if (depth > 64) throw new RangeError('input digest: the value is nested more than 64 levels deep')
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON()
  }
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value)
    return text === undefined ? 'null' : text
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item, depth + 1)).join(',')}]`
  const entries = Object.keys(value)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined && typeof (value as Record<string, unknown>)[key] !== 'function')
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key], depth + 1)}`)
  return `{${entries.join(',')}}`
}
