/**
 * @module
 * Keeps secrets out of what storehook stores and shows. Signature headers are kept (they prove
 * what was verified and are useless without the secret); credentials are not.
 */

const SECRET_HEADER =
  /^(authorization|proxy-authorization|cookie|set-cookie)$|secret|token|password|credential|api-?key|(auth|access|signing)-key/i

export const REDACTED = '[redacted]'

/**
 * Lower-cases names and replaces credential values with `[redacted]`.
 *
 * @example
 * redactHeaders(new Headers({ Authorization: 'Bearer x' })) // { authorization: '[redacted]' }
 */
export function redactHeaders(headers: Headers | Record<string, string>): Record<string, string> {
  const entries = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers)
  const result: Record<string, string> = {}
  for (const [name, value] of entries) {
    const lower = name.toLowerCase()
    result[lower] = SECRET_HEADER.test(lower) ? REDACTED : value
  }
  return result
}

/** Words that make a payload field a secret wherever they appear in its name. */
const SECRET_FIELD = /pass(word|wd|phrase)|secret|token|credential|api[-_]?key|private[-_]?key|signing[-_]?key|cookie/i
/**
 * Words that make a field a secret when they are a whole word of its name: `card`, not `discard`;
 * `authorization` (a header copied into a payload), not Commerce Layer's `authorizations` resources.
 */
const SECRET_FIELD_WORDS = new Set(['authorization', 'authorisation', 'card', 'creditcard', 'cardnumber', 'pan', 'cvv', 'cvv2', 'cvc', 'cvc2', 'ccv', 'iban', 'pwd'])

/** The words of a field name: `creditCard_number` → `credit`, `card`, `number`. */
function fieldWords(name: string): string[] {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean)
}

/**
 * True when a payload field of this name holds a secret or card data: passwords, tokens, secrets,
 * credentials, API keys, card numbers and codes.
 *
 * @example
 * isSecretField('customer_password') // true
 * isSecretField('creditCard') // true
 * isSecretField('discard_reason') // false
 */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name) || fieldWords(name).some((word) => SECRET_FIELD_WORDS.has(word))
}

export interface RedactPayloadOptions {
  /**
   * More field names to redact (personal data the operator chose to hide, such as
   * `customer_email`), compared without regard to case, `_`, `-` or camelCase.
   */
  fields?: readonly string[]
}

const normalizedField = (name: string) => fieldWords(name).join('')

/**
 * A copy of a JSON value with every secret field ({@link isSecretField}) and every field named in
 * `options.fields` replaced by `[redacted]`, at any depth. For showing stored payloads: what the
 * platform sent is kept as it was in the store.
 *
 * @example
 * redactPayload({ order: { id: 7, payment: { card_number: '4111…' } } })
 * // { order: { id: 7, payment: { card_number: '[redacted]' } } }
 * redactPayload({ customerEmail: 'a@b.c' }, { fields: ['customer_email'] }) // { customerEmail: '[redacted]' }
 */
export function redactPayload(value: unknown, options: RedactPayloadOptions = {}): unknown {
  const extra = new Set((options.fields ?? []).map(normalizedField))
  const visit = (node: unknown, depth: number): unknown => {
    // Payloads are parsed JSON, so no cycles; the depth bound only guards against a pathological one.
    if (depth > 64 || node === null || typeof node !== 'object') return node
    if (Array.isArray(node)) return node.map((item) => visit(item, depth + 1))
    const result: Record<string, unknown> = {}
    for (const [key, child] of Object.entries(node)) {
      const secret = isSecretField(key) || (extra.size > 0 && extra.has(normalizedField(key)))
      result[key] = secret && child !== null && child !== '' ? REDACTED : visit(child, depth + 1)
    }
    return result
  }
  return visit(value, 0)
}
