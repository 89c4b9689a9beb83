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
