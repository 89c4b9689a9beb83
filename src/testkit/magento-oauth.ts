/**
 * @module
 * Magento's check of an OAuth 1.0a request, ported step by step from Magento 2.4's PHP so the
 * commerce simulator rejects exactly what a real shop rejects, in the same order and with the same
 * messages (reference/adobe-commerce.md §1.4):
 * - `Oauth\Helper\Request`: the `Authorization` header is split on `,` and `=`; query pairs are
 *   split on `&` and `=` (a pair without exactly one `=` is dropped), `urldecode`d, keyed by name
 *   (a repeated name keeps its last value), and names matching `oauth_[a-z_-]+` are left out;
 * - `Oauth\Oauth::validateAccessTokenRequest`: version, required fields, token length, signature
 *   method, consumer, timestamp (≤ 0 or more than 600 s ahead) and nonce (per consumer, recorded
 *   before the signature is checked, so a rejected request still burns its nonce), token, signature;
 * - the base string as Laminas OAuth / Magento `Hmac256` build it: the URL normalised, keys
 *   `rawurlencode`d (with `%7E` back to `~`) and sorted with `strnatcmp` (helper `laminas`);
 *   or as Magento's newer `Helper\Signature\Hmac` builds it: the URL as received, the query
 *   read again with `parse_str` and merged in, names sorted with `ksort` before encoding
 *   (helper `hmac`). Which Magento releases carry which is unverified, so both are here.
 * Strings here are PHP strings: one char per byte (latin1), as Node hands over headers and URLs.
 * Not ported: form-encoded bodies (`parse_str`) are not added to the signed parameters.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { strnatcmp } from '../connections/adobe-commerce/oauth1.ts'

/** An activated integration: a consumer and its access token, as Magento stores them. */
export interface MagentoIntegration {
  consumerId: number
  consumerKey: string
  consumerSecret: string
  accessToken: string
  accessTokenSecret: string
  revoked?: boolean
}

export interface OAuthRequest {
  method: string
  /** Scheme + `Host` header + raw request-target: Magento's `getRequestUrl()`. */
  url: string
  authorization: string | undefined
}

/** `anonymous`: no OAuth header (Magento then answers the ACL's 401); `error`: Magento's answer. */
export type OAuthOutcome =
  | { result: 'anonymous' }
  | { result: 'ok'; consumerId: number }
  | { result: 'error'; status: 400 | 401; body: MagentoErrorBody }

/** How Magento's REST API renders an exception: the raw phrase, its parameters apart. */
export interface MagentoErrorBody {
  message: string
  parameters?: unknown
  errors?: MagentoErrorBody[]
}

const LENGTH = 32 // Magento\Framework\Oauth\Helper\Oauth::LENGTH_CONSUMER_KEY and LENGTH_TOKEN
const TIME_DEVIATION = 600 // Magento\Integration\Model\Oauth\Nonce\Generator::TIME_DEVIATION
const REQUIRED = ['oauth_consumer_key', 'oauth_signature', 'oauth_signature_method', 'oauth_nonce', 'oauth_timestamp', 'oauth_token']
const PROTOCOL_PARAMETER = /oauth_[a-z_-]+/
const HASH: Record<string, string> = { 'HMAC-SHA1': 'sha1', 'HMAC-SHA256': 'sha256' }

/** Which of Magento's signature helpers computes the expected signature (see the module doc). */
export type MagentoSignatureHelper = 'laminas' | 'hmac'

export class MagentoOAuthVerifier {
  readonly #integrations: MagentoIntegration[]
  readonly #signatureMethods: string[]
  readonly #now: () => number
  readonly #helper: MagentoSignatureHelper
  /** `oauth_nonce` table: nonce → consumer ids that used it. */
  readonly #nonces = new Map<string, Set<number>>()

  constructor(options: { integrations: MagentoIntegration[]; signatureMethods: string[]; now: () => number; helper?: MagentoSignatureHelper }) {
    this.#integrations = options.integrations
    this.#signatureMethods = options.signatureMethods
    this.#now = options.now
    this.#helper = options.helper ?? 'laminas'
  }

  verify(request: OAuthRequest): OAuthOutcome {
    const params = processHeader(request.authorization)
    if (params === undefined) return { result: 'anonymous' }
    extractQueryStringParams(params, request.url)
    try {
      return { result: 'ok', consumerId: this.#validateAccessTokenRequest(params, request) }
    } catch (error) {
      if (error instanceof MagentoOAuthError) return { result: 'error', status: error.status, body: error.body }
      throw error
    }
  }

  #validateAccessTokenRequest(params: Map<string, string>, request: OAuthRequest): number {
    const version = params.get('oauth_version')
    if (version !== undefined && !phpLooseEqualsOnePointZero(version)) {
      throw new MagentoOAuthError(400, 'The "%1" Oauth version isn\'t supported.', [version])
    }
    const missing = REQUIRED.filter((name) => !params.has(name))
    if (missing.length === 1) throw new MagentoOAuthError(400, '"%fieldName" is required. Enter and try again.', { fieldName: missing[0] })
    if (missing.length > 1) {
      throw new MagentoOAuthError(400, 'One or more input exceptions have occurred.', undefined, missing.map((fieldName) => ({
        message: '"%fieldName" is required. Enter and try again.',
        parameters: { fieldName },
      })))
    }
    const get = (name: string): string => params.get(name) as string
    if (get('oauth_token').length !== LENGTH) throw new MagentoOAuthError(400, 'The token length is invalid. Check the length and try again.')
    const method = get('oauth_signature_method')
    if (!this.#signatureMethods.includes(method)) throw new MagentoOAuthError(400, 'Signature method %1 is not supported', [method])

    const consumerKey = get('oauth_consumer_key')
    if (consumerKey.length !== LENGTH) throw new MagentoOAuthError(401, 'Consumer key is not the correct length')
    const consumer = this.#integrations.find((integration) => integration.consumerKey === consumerKey)
    if (!consumer) throw new MagentoOAuthError(401, 'A consumer having the specified key does not exist')

    const timestamp = phpIntCast(get('oauth_timestamp'))
    if (timestamp <= 0 || timestamp > Math.floor(this.#now() / 1000) + TIME_DEVIATION) {
      throw new MagentoOAuthError(401, 'Incorrect timestamp value in the oauth_timestamp parameter')
    }
    const nonce = get('oauth_nonce')
    const usedBy = this.#nonces.get(nonce) ?? new Set<number>()
    if (usedBy.has(consumer.consumerId)) {
      throw new MagentoOAuthError(401, 'The nonce is already being used by the consumer with ID %1', [String(consumer.consumerId)])
    }
    this.#nonces.set(nonce, usedBy.add(consumer.consumerId))

    const token = this.#integrations.find((integration) => integration.accessToken === get('oauth_token'))
    if (!token) throw new MagentoOAuthError(401, 'Specified token does not exist')
    if (token.consumerId !== consumer.consumerId) throw new MagentoOAuthError(401, 'Token is not associated with the specified consumer')
    if (token.revoked) throw new MagentoOAuthError(401, 'Access token has been revoked')

    const signed = new Map(params)
    signed.delete('oauth_signature')
    const base = this.#helper === 'laminas' ? laminasBaseString(signed, request) : hmacHelperBaseString(signed, request)
    const key = `${urlEncode(utf8Bytes(consumer.consumerSecret))}&${urlEncode(utf8Bytes(token.accessTokenSecret))}`
    const digest = createHmac(HASH[method] as string, Buffer.from(key, 'latin1')).update(Buffer.from(base, 'latin1')).digest('base64')
    const expected = Buffer.from(digest, 'latin1')
    const given = Buffer.from(get('oauth_signature'), 'latin1')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new MagentoOAuthError(401, 'The signature is invalid. Verify and try again.')
    }
    return consumer.consumerId
  }
}

class MagentoOAuthError extends Error {
  readonly status: 400 | 401
  readonly body: MagentoErrorBody
  constructor(status: 400 | 401, message: string, parameters?: unknown, errors?: MagentoErrorBody[]) {
    super(message)
    this.status = status
    this.body = { message, ...(parameters === undefined ? {} : { parameters }), ...(errors === undefined ? {} : { errors }) }
  }
}

/** `Request::_processHeader`: `undefined` when there is no `OAuth ` in the header at all. */
function processHeader(header: string | undefined): Map<string, string> | undefined {
  const at = header?.toLowerCase().indexOf('oauth ') ?? -1
  if (header === undefined || at < 0) return undefined
  const params = new Map<string, string>()
  for (const part of header.slice(at + 6).split(',')) {
    const trimmed = phpTrim(part)
    const eq = trimmed.indexOf('=')
    if (eq < 0) continue
    const name = trimmed.slice(0, eq)
    if (PROTOCOL_PARAMETER.test(name)) params.set(rawurldecode(name), rawurldecode(phpTrim(trimmed.slice(eq + 1), '"')))
  }
  return params
}

/** `Request::_extractQueryStringParams` over Laminas `Uri::getQuery()` (raw, up to any `#`). */
function extractQueryStringParams(params: Map<string, string>, url: string): void {
  const query = /\?([^#]*)/.exec(url)?.[1]
  if (!query) return
  for (const pair of query.split('&')) {
    const parts = pair.split('=')
    if (parts.length === 2 && !PROTOCOL_PARAMETER.test(parts[0] as string)) params.set(urldecode(parts[0] as string), urldecode(parts[1] as string))
  }
}

/** Laminas OAuth `AbstractSignature::_getBaseSignatureString` → `_toByteValueOrderedQueryString`. */
function laminasBaseString(params: Map<string, string>, request: OAuthRequest): string {
  const encoded = new Map<string, string>()
  for (const [key, value] of params) encoded.set(urlEncode(key), urlEncode(value))
  const keys = [...encoded.keys()].sort(strnatcmp) // uksort($params, 'strnatcmp')
  const query = keys.map((key) => `${key}=${encoded.get(key)}`).join('&')
  return [request.method.toUpperCase(), urlEncode(normaliseBaseSignatureUrl(request.url)), urlEncode(query)].join('&')
}

/**
 * Magento `Helper\Signature\Hmac::createBaseString`: the URL is `parse_url`'s scheme, host, port
 * and path, unnormalised; the query is parsed again with `parse_str` and merged over the
 * parameters (a name with `.` or a space comes back with `_` and so is signed twice; bracketed
 * names nest and are then removed in favour of the flat ones); `ksort`; `rawurlencode` each.
 * Not ported: `array_merge` renumbering integer names.
 */
function hmacHelperBaseString(params: Map<string, string>, request: OAuthRequest): string {
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/i.exec(request.url)
  const merged = new Map(params)
  for (const pair of (match?.[4] ?? '').split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const name = urldecode(eq < 0 ? pair : pair.slice(0, eq))
    if (name === '' || name.includes('[')) continue
    merged.set(name.replace(/^ +/, '').replace(/[ .]/g, '_'), urldecode(eq < 0 ? '' : pair.slice(eq + 1)))
  }
  merged.delete('oauth_signature')
  const keys = [...merged.keys()].sort(phpKsortCompare)
  const query = keys.map((key) => `${rawurlencode(key)}=${rawurlencode(merged.get(key) as string)}`).join('&')
  const url = match ? `${match[1]}://${match[2]}${match[3]}` : request.url
  return [request.method.toUpperCase(), rawurlencode(url), rawurlencode(query)].join('&')
}

/** PHP 8 `ksort` (SORT_REGULAR) on string keys: numerically if both are numeric, else by bytes. */
function phpKsortCompare(a: string, b: string): number {
  const numeric = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/
  if (numeric.test(a) && numeric.test(b)) return Math.sign(Number(a) - Number(b))
  return Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'))
}

/**
 * `AbstractSignature::normaliseBaseSignatureUrl` with Magento's `Uri\Http::normalizePath`: scheme
 * and host lower-cased, default port dropped, query and fragment dropped, dot segments removed,
 * escaped unreserved characters decoded (other escapes upper-cased), what a path may not hold
 * raw escaped.
 */
function normaliseBaseSignatureUrl(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/i.exec(url)
  if (!match) return url
  const scheme = (match[1] as string).toLowerCase()
  let authority = (match[2] as string).toLowerCase()
  if ((scheme === 'http' && authority.endsWith(':80')) || (scheme === 'https' && authority.endsWith(':443'))) {
    authority = authority.replace(/:\d+$/, '')
  }
  const path = removeDotSegments(match[3] as string)
    .replace(/%[A-Fa-f0-9]{2}/g, (escape) => {
      const char = rawurldecode(escape)
      return /^[A-Za-z0-9_\-.~]$/.test(char) ? char : escape.toUpperCase()
    })
    .replace(/[^A-Za-z0-9_\-.~:@&=+$,/;%]+|%(?![A-Fa-f0-9]{2})/g, (run) => rawurlencode(run))
  return `${scheme}://${authority}${path}`
}

/** RFC 3986 §5.2.4, as Laminas `Uri::removePathDotSegments` implements it. */
function removeDotSegments(path: string): string {
  const output: string[] = []
  for (const segment of path.split('/').slice(1)) {
    if (segment === '..') output.pop()
    else if (segment !== '.') output.push(segment)
  }
  const last = path.split('/').at(-1)
  if (last === '.' || last === '..') output.push('')
  return path.startsWith('/') ? `/${output.join('/')}` : output.join('/')
}

/** `rawurlencode` over bytes, then `%7E` → `~` (Laminas `HttpUtility::urlEncode`). */
function urlEncode(value: string): string {
  return rawurlencode(value).replaceAll('%7E', '~')
}

function rawurlencode(bytes: string): string {
  return bytes.replace(/[^A-Za-z0-9_\-.~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
}

function rawurldecode(value: string): string {
  return value.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
}

function urldecode(value: string): string {
  return rawurldecode(value.replaceAll('+', ' '))
}

/** PHP `trim`: ` \t\n\r\0\x0B` by default. */
function phpTrim(value: string, chars = ' \t\n\r\0\x0B'): string {
  let start = 0
  let end = value.length
  while (start < end && chars.includes(value[start] as string)) start++
  while (end > start && chars.includes(value[end - 1] as string)) end--
  return value.slice(start, end)
}

/** PHP `(int)"…"`: the leading integer, or 0. */
function phpIntCast(value: string): number {
  const match = /^\s*([+-]?\d+)/.exec(value)
  return match ? Number.parseInt(match[1] as string, 10) : 0
}

/** PHP `'1.0' != $version` compares numeric strings as numbers: `1` and `1.00` pass too. */
function phpLooseEqualsOnePointZero(version: string): boolean {
  return version === '1.0' || (/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(version) && Number(version) === 1)
}

/** A JS string (UTF-16) as the UTF-8 bytes PHP holds it as. */
function utf8Bytes(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1')
}
