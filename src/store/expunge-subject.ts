/**
 * @module
 * Who an expunge is about, and how their mentions are found in what the store keeps. Pure (no
 * I/O): both stores search with it, so "mentions the subject" means the same on SQLite and
 * PostgreSQL.
 *
 * - A **customer email** is found in any string, without regard to case, as a whole address: not
 *   `ann@example.com` inside `joann@example.com` or `ann@example.com.au`; also percent-encoded
 *   (`ann%40example.com`), as it appears in URLs.
 * - An **order id** is matched precisely, as a JSON value where orders keep their ids: Adobe
 *   Commerce's `increment_id`, `real_order_id`, `order_id` (anywhere) and `entity_id` of an order
 *   (an object with an `increment_id`, or the payload of an `order.*` event); Commerce Layer's `id` and
 *   `attributes.number` of an `orders` resource (or resource identifier); any field named
 *   `…order_id`, `…order_number` or `order`. `1234` never matches `91234`, and an `entity_id`
 *   of an address or a product never matches. In free text (log lines, URLs, errors) it matches
 *   after the word "order" (`orders/42`, `order_id=42`, `order #42`), and as a bare token in the
 *   records of runs of the order's own events.
 */
import { createHash } from 'node:crypto'

export const EXPUNGE_SUBJECT_KINDS = ['customer-email', 'order-id'] as const
export type ExpungeSubjectKind = (typeof EXPUNGE_SUBJECT_KINDS)[number]

export interface ExpungeSubject {
  kind: ExpungeSubjectKind
  value: string
}

/** What replaces a mention of the subject in text that is kept. */
export const EXPUNGED = '[expunged]'

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,190}$/
const ORDER_ID = /^[^\s\u0000-\u001f]{1,128}$/

/**
 * The subject as it is searched for and digested: trimmed, and an email lower-cased.
 *
 * @throws RangeError when the value is not an email address (or not a plausible order id); the
 *   message never repeats the value, which may be personal data
 * @example
 * normalizeSubject({ kind: 'customer-email', value: ' Ann.Lee@Example.com ' }) // { kind: 'customer-email', value: 'ann.lee@example.com' }
 */
export function normalizeSubject(subject: ExpungeSubject): ExpungeSubject {
  const value = String(subject.value ?? '').trim()
  if (subject.kind === 'customer-email') {
    if (!EMAIL.test(value)) throw new RangeError('customer email: expected one address, such as ann.lee@example.com')
    return { kind: subject.kind, value: value.toLowerCase() }
  }
  if (subject.kind === 'order-id') {
    if (!ORDER_ID.test(value)) throw new RangeError('order id: expected the order\'s id or number as the platform shows it (1 to 128 characters, no spaces), such as 000000042')
    return { kind: subject.kind, value }
  }
  throw new RangeError(`subject kind: expected one of ${EXPUNGE_SUBJECT_KINDS.join(', ')}`)
}

/**
 * The hex SHA-256 of the normalized value: what the audit record keeps instead of the subject, so
 * it holds no personal data, yet whoever knows the subject can find its expunges.
 *
 * @example
 * subjectDigest({ kind: 'customer-email', value: 'Ann.Lee@example.com' }) === subjectDigest({ kind: 'customer-email', value: 'ann.lee@example.com' }) // true
 */
export function subjectDigest(subject: ExpungeSubject): string {
  return createHash('sha256').update(normalizeSubject(subject).value).digest('hex')
}

/** Keys (lower-cased, without `_` and `-`) whose value is an order's id wherever they are. */
const ORDER_KEY = /^(order|incrementid|orderincrementid)$|order(id|number)$/
/** Keys holding an order's own id, in an object that is an order. */
const OWN_ID_KEYS = new Set(['id', 'entityid', 'number'])
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** "order" without regard to case, not inside a longer word (`reorder` is not it). */
const ORDER_WORD = '(?<![A-Za-z])[Oo][Rr][Dd][Ee][Rr][A-Za-z_-]*(?:[\\s"\':=#/]|%2[Ff]|%3[Dd]|%20|%23){1,4}'

type Json = unknown

/**
 * Finds and scrubs one subject's mentions.
 *
 * @example
 * const matcher = new SubjectMatcher({ kind: 'order-id', value: '000000042' })
 * matcher.matchesEvent('observer.sales_order_save_after', { increment_id: '000000042' }, {}) // true
 * matcher.scrubText('GET /V1/orders/000000042', false) // 'GET /V1/orders/[expunged]'
 */
export class SubjectMatcher {
  readonly subject: ExpungeSubject
  /**
   * Lower-case strings one of which every text mentioning the subject contains: the stores' cheap
   * first filter (`instr(lower(column), needle)`), before the precise match here.
   */
  readonly needles: string[]
  /** A mention in any text. */
  readonly #mention: RegExp
  /** A mention in the records of the subject's own runs (an order id as a bare token). */
  readonly #ownMention: RegExp

  constructor(subject: ExpungeSubject) {
    this.subject = normalizeSubject(subject)
    const value = this.subject.value
    if (this.subject.kind === 'customer-email') {
      const encoded = value.replace('@', '%40')
      this.needles = [value, encoded]
      const either = `(?:${escape(value)}|${escape(encoded)})`
      this.#mention = new RegExp(`(?<![a-z0-9._%+-])${either}(?![a-z0-9_-]|\\.[a-z0-9])`, 'gi')
      this.#ownMention = this.#mention
    } else {
      this.needles = [value.toLowerCase()]
      this.#mention = new RegExp(`(?<=${ORDER_WORD})${escape(value)}(?![A-Za-z0-9])`, 'g')
      this.#ownMention = new RegExp(`(?<![A-Za-z0-9])${escape(value)}(?![A-Za-z0-9])`, 'g')
    }
  }

  /**
   * True when an event of `type` mentions the subject in its payload or headers. The payload of an
   * `order.*` or `orders.*` event (Standard Webhooks, Commerce Layer) is itself an order, or holds
   * it in `data`.
   */
  matchesEvent(type: string, payload: Json, headers: Json): boolean {
    return this.#scrub(payload, false, null, /^orders?[._]/i.test(type)) !== payload || this.#scrub(headers, false, null, false) !== headers
  }

  /** `text` with every mention replaced by `[expunged]`; the same string when there is none. */
  scrubText(text: string, ownRun: boolean): string {
    return text.replace(ownRun ? this.#ownMention : this.#mention, EXPUNGED)
  }

  /** A copy of a JSON value with every mention replaced; the same value when there is none. */
  scrubJson(value: Json, ownRun: boolean): Json {
    return this.#scrub(value, ownRun, null, false)
  }

  #scrub(value: Json, ownRun: boolean, key: string | null, isOrder: boolean): Json {
    if (typeof value === 'string') return this.scrubText(value, ownRun)
    if (Array.isArray(value)) {
      let changed = false
      const items = value.map((item) => {
        const scrubbed = this.#scrub(item, ownRun, key, false)
        changed ||= scrubbed !== item
        return scrubbed
      })
      return changed ? items : value
    }
    if (typeof value !== 'object' || value === null) return value
    const object = value as Record<string, Json>
    const order = isOrder || this.#isOrder(object, key)
    let changed = false
    const entries = Object.entries(object).map(([name, item]): [string, Json] => {
      let scrubbed: Json
      if (this.#isOrderId(name, item, order)) scrubbed = EXPUNGED
      else if (typeof item === 'object' && item !== null) {
        // A Commerce Layer resource keeps its number in attributes; a Standard Webhooks envelope
        // ({type, timestamp, data}) of an order event carries the order in data.
        scrubbed = this.#scrub(item, ownRun, name, order && (name === 'attributes' || name === 'data'))
      } else scrubbed = this.#scrub(item, ownRun, name, false)
      changed ||= scrubbed !== item
      return [name, scrubbed]
    })
    return changed ? Object.fromEntries(entries) : value
  }

  /** An Adobe Commerce order (it has an increment_id), a Commerce Layer `orders` resource, or what a key named order(s) holds. */
  #isOrder(object: Record<string, Json>, key: string | null): boolean {
    if (this.subject.kind !== 'order-id') return false
    if ('increment_id' in object) return true
    if (object.type === 'orders' || object.type === 'order') return true
    return key !== null && /^orders?$/i.test(key)
  }

  #isOrderId(name: string, value: Json, inOrder: boolean): boolean {
    if (this.subject.kind !== 'order-id') return false
    if (typeof value === 'string' ? value !== this.subject.value : typeof value !== 'number' || String(value) !== this.subject.value) return false
    const key = name.toLowerCase().replace(/[_-]/g, '')
    return ORDER_KEY.test(key) || (inOrder && OWN_ID_KEYS.has(key))
  }
}
