import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { MalformedRequestError } from './errors.ts'
import { MAX_JSON_DEPTH, parseJsonBody } from './json.ts'

const encode = (text: string) => new TextEncoder().encode(text)
const refused = (body: Uint8Array | string, reason: RegExp) =>
  assert.throws(() => parseJsonBody(body), (error) => error instanceof MalformedRequestError && error.status === 400 && reason.test(error.message))

/** Depth as the cap counts it: each array or object is one level. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  return 1 + Math.max(0, ...Object.values(value).map(depthOf))
}

describe('parseJsonBody', () => {
  it('parses UTF-8 JSON from bytes or text', () => {
    assert.deepEqual(parseJsonBody(encode('{"type":"order.created","n":[1,{"a":null}]}')), { type: 'order.created', n: [1, { a: null }] })
    assert.equal(parseJsonBody('"x"'), 'x')
  })

  it('refuses bytes that are not UTF-8, and text that is not JSON, with 400', () => {
    refused(Uint8Array.from([0x7b, 0xff, 0x7d]), /^body is not valid UTF-8$/)
    refused(encode('{"type":'), /^body is not valid JSON: /)
    refused(new Uint8Array(0), /^body is not valid JSON: /)
  })

  it(`accepts nesting of ${MAX_JSON_DEPTH} levels and refuses one more, before parsing`, () => {
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)
    assert.equal(depthOf(parseJsonBody(nested(MAX_JSON_DEPTH))), MAX_JSON_DEPTH)
    refused(nested(MAX_JSON_DEPTH + 1), /^body is nested more than 256 levels deep$/)
    refused(`{"a":${'{"b":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}}`, /nested more than/)
    // The case: 100 000 levels, refused without recursion (no stack overflow, no time).
    refused('['.repeat(100_000) + ']'.repeat(100_000), /nested more than/)
    refused('['.repeat(100_000), /nested more than/)
  })

  it('accepts a wide body with more brackets than the cap, all shallow', () => {
    const wide = JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ i, tags: [i] })))
    assert.equal(depthOf(parseJsonBody(wide)), 3)
  })

  it('does not count brackets inside strings, escaped quotes included', () => {
    const inString = JSON.stringify({ s: '['.repeat(1000) + '\\"{{{' + '"'.repeat(3) })
    assert.deepEqual(parseJsonBody(inString), JSON.parse(inString))
  })

  it('refuses exactly the values nested deeper than the cap, whatever their strings hold', () => {
    const wrapped = fc.tuple(fc.integer({ min: MAX_JSON_DEPTH - 5, max: MAX_JSON_DEPTH + 5 }), fc.jsonValue({ maxDepth: 3 }), fc.boolean())
    fc.assert(
      fc.property(wrapped, ([levels, inner, asObject]) => {
        let value: unknown = inner
        for (let i = 0; i < levels; i++) value = asObject ? { '[{"': value } : [value]
        const text = JSON.stringify(value)
        if (depthOf(value) > MAX_JSON_DEPTH) refused(text, /nested more than/)
        else assert.deepEqual(parseJsonBody(encode(text)), JSON.parse(text))
      }),
      { numRuns: 200 },
    )
  })
})
