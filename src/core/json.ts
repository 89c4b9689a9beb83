/**
 * @module
 * Parses a request body as JSON, the same way for every source and external resource: strict
 * UTF-8, then a cap on nesting depth checked on the text before parsing. Why the cap: a body
 * nested a few thousand levels deep parses fine, but overflows the stack of whatever walks it
 * next (the structured clone that hands an event to the SQLite thread, JSON.stringify for
 * PostgreSQL and the admin API), so an authentic but absurd body would crash the process or be
 * answered 503 (retried forever) instead of 400. No platform sends anything close to the cap.
 */
import { MalformedRequestError } from './errors.ts'

// Safe to share: a decode without `stream: true` keeps no state between calls.
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Deepest nesting of arrays and objects accepted in a body (serde_json's default is 128). */
export const MAX_JSON_DEPTH = 256

/**
 * @throws MalformedRequestError (400) when the bytes are not UTF-8, are nested deeper than
 *   `maxDepth`, or are not JSON; the message says which and never quotes the body
 * @example
 * parseJsonBody(new TextEncoder().encode('{"type":"order.created"}')) // { type: 'order.created' }
 * parseJsonBody('['.repeat(300) + ']'.repeat(300)) // throws: body is nested more than 256 levels deep
 */
export function parseJsonBody(body: Uint8Array | string, maxDepth = MAX_JSON_DEPTH): unknown {
  let text: string
  if (typeof body === 'string') text = body
  else {
    try {
      text = utf8.decode(body)
    } catch (error) {
      throw new MalformedRequestError('body is not valid UTF-8', { cause: error })
    }
  }
  if (nestedDeeperThan(text, maxDepth)) throw new MalformedRequestError(`body is nested more than ${maxDepth} levels deep`)
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new MalformedRequestError(`body is not valid JSON: ${(error as Error).message}`, { cause: error })
  }
}

/** Counts brackets outside strings; unbalanced text is left for JSON.parse to refuse. */
function nestedDeeperThan(text: string, maxDepth: number): boolean {
  // Nesting deeper than maxDepth takes more than maxDepth opening brackets: bodies with fewer
  // skip the scan. Counting them with indexOf is ~15× cheaper than the scan below (a 7 KB
  // Commerce Layer price call has 95), which cost as much as JSON.parse itself.
  if (!moreOpeningBracketsThan(text, maxDepth)) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: the next character is escaped, even a quote
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return false
}

/** Whether `{` and `[` occur more than `limit` times in `text`, all told (inside strings too). */
function moreOpeningBracketsThan(text: string, limit: number): boolean {
  let count = 0
  for (const c of ['{', '[']) {
    for (let i = text.indexOf(c); i !== -1; i = text.indexOf(c, i + 1)) if (++count > limit) return true
  }
  return false
}
