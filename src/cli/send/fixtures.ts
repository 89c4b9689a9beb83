/**
 * @module
 * The payloads `storehook send` starts from. Bundled fixtures live in `src/cli/fixtures/<platform>/`
 * (shipped in the npm package, and found from the compiled `dist/` too); a user's own is any JSON
 * file of the same shape:
 *
 * ```json
 * { "platform": "adobe-io-events", "type": "com.adobe.commerce.observer.sales_order_save_after",
 *   "description": "…", "payload": { "entity_id": 42 } }
 * ```
 *
 * `payload` is the part a developer edits, per platform: the Commerce fields (`data.value` of the
 * CloudEvent), a Standard Webhook's `data`, or Commerce Layer's whole JSON:API document. Commerce
 * Layer fixtures also say `"call": "webhook"` (type = topic) or `"call": "external"` (type = the
 * external resource's kind).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../../core/errors.ts'
import type { Platform } from './target.ts'

/** Two levels below the package root from `src/cli/send/` and from `dist/cli/send/` alike. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../src/cli/fixtures/', import.meta.url))

const PLATFORMS: readonly Platform[] = ['adobe-io-events', 'commerce-layer', 'standard-webhooks']

export interface Fixture {
  /** The bundled name, the file it came from, or '' for a payload made from `--type` and `--data` alone. */
  name: string
  platform: Platform
  /** `event` for a source, `external` for an external resource call. */
  call: 'event' | 'external'
  /** Event code, type or topic; for an external call, the resource's kind (`price`). */
  type: string
  description: string
  payload: Record<string, unknown>
}

/** What each platform sends when no fixture and no `--type` is given. */
export const DEFAULT_FIXTURES: Record<Platform, string> = {
  'adobe-io-events': 'observer.sales_order_save_after',
  'commerce-layer': 'orders.place',
  'standard-webhooks': 'order.created',
}

/**
 * The bundled fixtures for a platform and kind of call, by name.
 *
 * @example
 * listFixtures('commerce-layer', 'external') // [{ name: 'order-validation', … }, { name: 'price', … }, …]
 */
export function listFixtures(platform: Platform, call: 'event' | 'external'): Fixture[] {
  const dir = join(FIXTURES_DIR, platform)
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => readFixture(join(dir, file), file.slice(0, -'.json'.length)))
    .filter((fixture) => fixture.call === call)
}

/**
 * A bundled fixture by name (`observer.sales_order_save_after`; the `com.adobe.commerce.` prefix
 * may be left out), or a JSON file by path (anything with a `/` or ending in `.json`). Either
 * must suit the platform and kind of call of the target.
 *
 * @throws ConfigError naming the fixture and what is wrong with it, or listing the bundled ones
 * @example
 * loadFixture('price', 'commerce-layer', 'external').payload.data // { id: …, type: 'line_items', … }
 */
export function loadFixture(spec: string, platform: Platform, call: 'event' | 'external'): Fixture {
  if (spec.includes('/') || spec.includes('\\') || spec.endsWith('.json')) {
    const file = resolve(spec)
    if (!existsSync(file)) throw new ConfigError(`send: fixture file ${file} does not exist`)
    const fixture = readFixture(file, spec)
    if (fixture.platform !== platform || fixture.call !== call) {
      throw new ConfigError(`send: ${spec} is a ${describe(fixture.platform, fixture.call)} fixture; this target takes ${describe(platform, call)}`)
    }
    return fixture
  }
  const name = spec.replace(/^com\.adobe\.commerce\./, '')
  const found = listFixtures(platform, call).find((f) => f.name === name)
  if (found) return found
  const other = PLATFORMS.flatMap((p) => [...listFixtures(p, 'event'), ...listFixtures(p, 'external')]).find((f) => f.name === name)
  const hint = other ? ` ("${name}" is a ${describe(other.platform, other.call)} fixture)` : ''
  const names = listFixtures(platform, call).map((f) => f.name)
  throw new ConfigError(
    `send: no bundled fixture "${spec}" for ${describe(platform, call)}${hint}; bundled: ${names.join(', ') || 'none'}. ` +
      `Give a JSON file of your own (a path)${call === 'event' ? ', or --type with --data' : ''}`,
  )
}

/** A fixture-less payload for `--type`: what `--data` then fills in. */
export function bareFixture(platform: Platform, type: string): Fixture {
  const payload =
    platform === 'commerce-layer'
      ? { data: { id: 'sendDemo01', type: type.split('.')[0] ?? 'resources', attributes: {} } }
      : {}
  return { name: '', platform, call: 'event', type, description: '', payload }
}

/**
 * `data` merged into `base`: objects key by key, anything else (arrays included) replaced.
 *
 * @example
 * mergeData({ a: { b: 1, c: 2 } }, { a: { c: 3 } }) // { a: { b: 1, c: 3 } }
 */
export function mergeData(base: unknown, data: unknown): unknown {
  if (!isObject(base) || !isObject(data)) return structuredClone(data)
  const merged: Record<string, unknown> = { ...structuredClone(base) }
  for (const [key, value] of Object.entries(data)) merged[key] = key in merged ? mergeData(merged[key], value) : structuredClone(value)
  return merged
}

function readFixture(file: string, name: string): Fixture {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new ConfigError(`send: fixture ${file}: not valid JSON (${(error as Error).message})`)
  }
  const problem = (field: string, expected: string) => new ConfigError(`send: fixture ${file}: ${field}: expected ${expected}`)
  if (!isObject(parsed)) throw problem('(top level)', 'an object { platform, type, payload }')
  const { platform, type, payload, description = '', call = 'event' } = parsed
  if (!PLATFORMS.includes(platform as Platform)) throw problem('platform', `one of ${PLATFORMS.join(', ')}`)
  if (typeof type !== 'string' || type === '') throw problem('type', 'the event type, topic or external resource kind')
  if (!isObject(payload)) throw problem('payload', 'an object')
  if (call !== 'event' && call !== 'external' && call !== 'webhook') throw problem('call', '"webhook" (or "event") or "external"')
  if (call === 'external' && platform !== 'commerce-layer') throw problem('call', '"external" only with platform commerce-layer')
  return { name, platform: platform as Platform, call: call === 'external' ? 'external' : 'event', type, description: String(description), payload }
}

function describe(platform: Platform, call: 'event' | 'external'): string {
  return call === 'external' ? `${platform} external resource` : platform === 'commerce-layer' ? 'commerce-layer webhook' : `${platform} event`
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
