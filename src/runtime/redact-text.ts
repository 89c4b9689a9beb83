/**
 * @module
 * Redacts secrets from free text bound for the store: a log message, a console line. Structured
 * fields are redacted by name (`redactPayload`); text has no names, so this catches the shapes a
 * secret usually takes in it: `name=value` (query strings, settings dumps), `"name": "value"`
 * (JSON), `name: 'value'` (util.inspect), and `Bearer …` / `Basic …` credentials, where the name
 * is one `isSecretField` recognises. A second line of defence: code should not log secrets.
 */
import { isSecretField, REDACTED } from '../core/redact.ts'

const ASSIGNMENT = /([\w.[\]-]+)=([^\s&"',;]+)/g
const QUOTED = /(["']?)([\w.-]+)\1(\s*:\s*)(["'])((?:\\.|(?!\4)[^\\])*)\4/g
/** As HTTP writes them (`Authorization: Bearer …`): a capitalised scheme, then a token of 8 or more characters. */
const CREDENTIAL = /\b(Bearer|Basic)\s+[\w.~+/=-]{8,}/g

/**
 * @example
 * redactText('GET /orders?access_token=abc&page=2') // 'GET /orders?access_token=[redacted]&page=2'
 * redactText('{"password":"hunter2","sku":"A"}') // '{"password":"[redacted]","sku":"A"}'
 */
export function redactText(text: string): string {
  // Each pattern needs a character the others look for: most lines have none and cost one scan.
  if (!/[=:]|Bearer|Basic/.test(text)) return text
  return text
    .replace(ASSIGNMENT, (whole, name: string) => (isSecretField(name) ? `${name}=${REDACTED}` : whole))
    .replace(QUOTED, (whole, q: string, name: string, colon: string, quote: string) =>
      isSecretField(name) ? `${q}${name}${q}${colon}${quote}${REDACTED}${quote}` : whole,
    )
    .replace(CREDENTIAL, (_whole, scheme: string) => `${scheme} ${REDACTED}`)
}
