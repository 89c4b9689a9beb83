/**
 * @module
 * The URL of an outbound call as it may be recorded and shown: its query kept (it says what was
 * asked for), but the value of every parameter named like a secret (`access_token`, `api_key`,
 * `password`, …: `isSecretField`) replaced by `[redacted]`. The fragment, never sent, is dropped.
 */
import { isSecretField, REDACTED } from '../../core/redact.ts'

/**
 * @example
 * redactUrl(new URL('https://erp.example/orders?access_token=abc&page=2')) // 'https://erp.example/orders?access_token=[redacted]&page=2'
 */
export function redactUrl(url: URL): string {
  const base = url.origin + url.pathname
  if (url.search === '') return base
  const parts = url.search.slice(1).split('&').map((part) => {
    const equals = part.indexOf('=')
    if (equals < 0) return part
    const name = part.slice(0, equals)
    return isSecretField(decodeName(name)) ? `${name}=${REDACTED}` : part
  })
  return `${base}?${parts.join('&')}`
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '))
  } catch {
    return name
  }
}
