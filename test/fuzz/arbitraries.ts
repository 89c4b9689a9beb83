/**
 * @module
 * Generators of bad input, shared by the fuzz tests. Bodies start from a source's own well-formed
 * payload (its template) and break it the ways senders and attackers do: random bytes, truncated
 * JSON, absurd nesting, huge numbers, wrong types, duplicate keys, a flipped byte. Header
 * variants drop, empty, repeat, garble or re-case each header of a genuine request.
 */
import fc from 'fast-check'

const encode = (text: string) => new TextEncoder().encode(text)
const PLACEHOLDER = '\u0000fuzz-placeholder\u0000'

/** A path into a JSON value: object keys and array indexes. */
type Path = (string | number)[]

function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return prefix.length ? [prefix] : []
  const children = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value)
  return [...(prefix.length ? [prefix] : []), ...children.flatMap(([key, child]) => pathsOf(child, [...prefix, key]))]
}

function replaceAt(value: unknown, path: Path, replacement: unknown): unknown {
  if (path.length === 0) return replacement
  const [head, ...rest] = path
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) }
  copy[head!] = replaceAt(copy[head!], rest, replacement)
  return copy
}

/** The template's JSON with the value at `path` written as the raw text `literal` (not valid JSON necessarily). */
function withRawAt(template: unknown, path: Path, literal: string): string {
  return JSON.stringify(replaceAt(template, path, PLACEHOLDER)).replace(JSON.stringify(PLACEHOLDER), literal)
}

/** Number literals JSON.parse turns into Infinity, 0, lossy integers, or takes long to read. */
export const HUGE_NUMBERS = [
  '1e400',
  '-1e400',
  '1E-400',
  '123456789012345678901234567890',
  '-0',
  `1${'0'.repeat(5000)}`,
  `0.${'0'.repeat(3000)}1`,
  '9007199254740993',
]

/** Nesting far beyond any platform's payload; 100 000 levels as in the issue. */
export const deepJson = fc.oneof(
  fc.constant('['.repeat(100_000) + ']'.repeat(100_000)),
  fc.integer({ min: 257, max: 6000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 257, max: 6000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  // Unclosed: a truncated deep body.
  fc.integer({ min: 257, max: 6000 }).map((depth) => '['.repeat(depth)),
)

/**
 * Bodies a source may receive, built from one of its well-formed payloads. Some happen to be
 * well-formed (the template itself, a wrong-typed field the source tolerates): tests decide by
 * what the source answers, never by assuming every generated body is bad.
 */
export function bodies(template: unknown): fc.Arbitrary<Uint8Array> {
  const text = JSON.stringify(template)
  const paths = pathsOf(template)
  const path = fc.constantFrom(...paths)
  return fc.oneof(
    fc.uint8Array({ maxLength: 400 }),
    // Any text (fast-check's own full-Unicode string arbitrary takes a second to build).
    fc.array(fc.integer({ min: 0, max: 0x10ffff }), { maxLength: 200 }).map((points) => encode(String.fromCodePoint(...points))),
    fc.json({ maxDepth: 4 }).map(encode),
    // Truncated anywhere, including to nothing.
    fc.nat({ max: text.length - 1 }).map((n) => encode(text.slice(0, n))),
    // One byte flipped.
    fc.tuple(fc.nat({ max: text.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
      const bytes = encode(text)
      bytes[at] = byte
      return bytes
    }),
    // A field of the wrong type (or of the right type with a strange value).
    fc.tuple(path, fc.jsonValue({ maxDepth: 3 })).map(([p, value]) => encode(JSON.stringify(replaceAt(template, p, value)))),
    // A field absent.
    path.map((p) => encode(JSON.stringify(replaceAt(template, p, undefined)))),
    // A huge or lossy number in place of any field.
    fc.tuple(path, fc.constantFrom(...HUGE_NUMBERS)).map(([p, literal]) => encode(withRawAt(template, p, literal))),
    // Absurd nesting in place of a field, or as the whole body.
    fc.tuple(path, deepJson).map(([p, deep]) => encode(withRawAt(template, p, deep))),
    deepJson.map(encode),
    // A duplicate key: JSON.parse keeps the last one, so the second may disagree with the first.
    fc.tuple(fc.constantFrom(...topKeys(template)), fc.jsonValue({ maxDepth: 2 }), fc.boolean()).map(([key, value, before]) => {
      const duplicate = `${JSON.stringify(key)}:${JSON.stringify(value)}`
      return encode(before ? text.replace(/^\{/, `{${duplicate},`) : text.replace(/\}$/, `,${duplicate}}`))
    }),
    fc.constant(encode(text)),
  )
}

function topKeys(template: unknown): string[] {
  const keys = typeof template === 'object' && template !== null && !Array.isArray(template) ? Object.keys(template) : []
  return keys.length ? keys : ['type']
}

/** Header values a sender might botch or an attacker might try. */
export const headerGarbage = fc.oneof(
  fc.constant(''),
  fc.constant(' '),
  fc.string({ maxLength: 60 }),
  fc.base64String({ maxLength: 88 }),
  fc.constantFrom('v1,', 'v1, ', 'v2,abc', 'null', 'undefined', '0', '-1', '99999999999999999999', 'sha256=abc', 'Bearer x'),
).map((value) => value.replace(/[\r\n\u0000]/g, ' ').replace(/[^\t\x20-\x7e]/g, '?'))

export type HeaderRecord = Record<string, string | string[]>

/**
 * Variants of a genuine request's headers: each header dropped, emptied, garbled, repeated (before
 * or after the genuine value) or its name upper-cased. `headers` must hold the genuine values.
 */
export function headerVariants(headers: Record<string, string>): fc.Arbitrary<HeaderRecord> {
  const names = Object.keys(headers)
  return fc.tuple(fc.constantFrom(...names), fc.constantFrom('drop', 'empty', 'garble', 'repeat-before', 'repeat-after', 'repeat-same', 'upper'), headerGarbage).map(
    ([name, how, garbage]) => {
      const variant: HeaderRecord = { ...headers }
      const genuine = headers[name]!
      switch (how) {
        case 'drop':
          delete variant[name]
          break
        case 'empty':
          variant[name] = ''
          break
        case 'garble':
          variant[name] = garbage
          break
        case 'repeat-before':
          variant[name] = [garbage, genuine]
          break
        case 'repeat-after':
          variant[name] = [genuine, garbage]
          break
        case 'repeat-same':
          variant[name] = [genuine, genuine]
          break
        case 'upper':
          delete variant[name]
          variant[name.toUpperCase()] = genuine
          break
      }
      return variant
    },
  )
}

/** Whether a header variant still carries the genuine value of `name` (alone or among repeats). */
export function carries(variant: HeaderRecord, name: string, genuine: string): boolean {
  return Object.entries(variant).some(([key, value]) => key.toLowerCase() === name && (Array.isArray(value) ? value : [value]).includes(genuine))
}
