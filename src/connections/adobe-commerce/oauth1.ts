/**
 * @module
 * OAuth 1.0a request signing (RFC 5849 §3), shaped the way Adobe Commerce (Magento) verifies it.
 *
 * Why hand-written: Adobe's samples sign with the `oauth-1.0a` package, which decodes query
 * values but not keys, so a URL carrying `searchCriteria%5BpageSize%5D=10` is signed with the key
 * encoded twice and Commerce answers 401 "The signature is invalid." (reference/stack.md §7,
 * adobe-commerce.md §1.3). The whole algorithm is short enough to keep in view, and each line
 * below matches a line of RFC 5849 or of Magento's verifier:
 * - query parameters are decoded once, as `application/x-www-form-urlencoded` (§3.4.1.3.1; what
 *   Magento's `urldecode` does), then re-encoded per RFC 3986 (§3.6; PHP's `rawurlencode`);
 * - pairs are sorted by encoded name in PHP `strnatcmp` order, because Magento sorts with
 *   `uksort($params, 'strnatcmp')` (Laminas OAuth, Magento `Hmac256`): `…[filters][2]` comes
 *   before `…[filters][10]`, which a byte sort (RFC §3.4.1.3.2, and every other library) puts
 *   the other way round. Magento's newer `Helper\Signature\Hmac` sorts with `ksort` instead:
 *   bytes of the decoded names. Which builds carry which is unverified, so it is a choice
 *   ({@link ParameterOrder}); they differ when an index reaches 10 (or where one name has a
 *   letter and another a `[`);
 * - the base string URI is normalised as Magento normalises the URL it received (and the
 *   connection sends paths already in that form, so no verifier can see them differently);
 * - JSON bodies are not signed: only form-encoded body parameters would be (§3.4.1.3.1).
 */
import { createHmac, randomInt } from 'node:crypto'

export type SignatureMethod = 'HMAC-SHA256' | 'HMAC-SHA1'

/**
 * How parameters are ordered in the base string: `natural` is PHP `strnatcmp` over encoded names
 * (Magento 2.4 with Laminas OAuth or `Hmac256`, reference/adobe-commerce.md §1.4); `bytes` is PHP
 * `ksort` over decoded names (Magento's newer `Helper\Signature\Hmac`).
 */
export type ParameterOrder = 'natural' | 'bytes'

/** The four values Commerce shows for an activated integration (System › Integrations). */
export interface OAuth1Credentials {
  consumerKey: string
  consumerSecret: string
  accessToken: string
  accessTokenSecret: string
}

export interface AuthorizeOptions {
  /** Default `HMAC-SHA256`, as Adobe's samples sign. */
  signatureMethod?: SignatureMethod
  /** Default `natural`. */
  parameterOrder?: ParameterOrder
  /** Only for tests: a fixed nonce instead of a fresh random one. */
  nonce?: string
  /** Only for tests: Unix seconds instead of now. */
  timestamp?: number
}

const HASH: Record<SignatureMethod, string> = { 'HMAC-SHA256': 'sha256', 'HMAC-SHA1': 'sha1' }
const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/**
 * The `Authorization` header for one request, with a fresh 32-character nonce and a Unix-seconds
 * timestamp, in the exact form Adobe's samples put on the wire (keys sorted, `", "` between them).
 *
 * @example
 * const url = 'https://shop.example.com/rest/V1/orders?searchCriteria[pageSize]=10'
 * const header = authorize('GET', url, credentials)
 * // OAuth oauth_consumer_key="…", oauth_nonce="…", oauth_signature="…", oauth_signature_method="HMAC-SHA256", oauth_timestamp="…", oauth_token="…", oauth_version="1.0"
 * await fetch(url, { headers: { authorization: header } })
 */
export function authorize(method: string, url: string | URL, credentials: OAuth1Credentials, options: AuthorizeOptions = {}): string {
  const signatureMethod = options.signatureMethod ?? 'HMAC-SHA256'
  const params: Record<string, string> = {
    oauth_consumer_key: credentials.consumerKey,
    oauth_nonce: options.nonce ?? newNonce(),
    oauth_signature_method: signatureMethod,
    oauth_timestamp: String(options.timestamp ?? Math.floor(Date.now() / 1000)),
    oauth_token: credentials.accessToken,
    oauth_version: '1.0',
  }
  params.oauth_signature = sign({
    method,
    url,
    oauthParams: params,
    consumerSecret: credentials.consumerSecret,
    tokenSecret: credentials.accessTokenSecret,
    signatureMethod,
    parameterOrder: options.parameterOrder ?? 'natural',
  })
  const fields = Object.keys(params)
    .sort()
    .map((key) => `${percentEncode(key)}="${percentEncode(params[key] as string)}"`)
  return `OAuth ${fields.join(', ')}`
}

export interface SignInput {
  method: string
  url: string | URL
  /** The `oauth_*` protocol parameters, without `oauth_signature`. */
  oauthParams: Record<string, string>
  consumerSecret: string
  tokenSecret: string
  signatureMethod: SignatureMethod
  /** Form-encoded body parameters (RFC 5849 §3.4.1.3.1). Never a JSON body. */
  bodyParams?: ReadonlyArray<readonly [string, string]>
  /** Default `natural`. */
  parameterOrder?: ParameterOrder
}

/**
 * The base64 `oauth_signature` (RFC 5849 §3.4.2): HMAC of the base string keyed with
 * `enc(consumerSecret)&enc(tokenSecret)`.
 */
export function sign(input: SignInput): string {
  const key = `${percentEncode(input.consumerSecret)}&${percentEncode(input.tokenSecret)}`
  const base = signatureBaseString(input.method, input.url, input.oauthParams, input.bodyParams, input.parameterOrder)
  return createHmac(HASH[input.signatureMethod], key).update(base).digest('base64')
}

/**
 * RFC 5849 §3.4.1: `METHOD&enc(base string URI)&enc(normalized parameters)`, where the
 * parameters are the oauth ones, the URL's query (decoded once) and any form body parameters.
 */
export function signatureBaseString(
  method: string,
  url: string | URL,
  oauthParams: Record<string, string>,
  bodyParams: ReadonlyArray<readonly [string, string]> = [],
  order: ParameterOrder = 'natural',
): string {
  const parsed = new URL(url)
  const pairs: (readonly [string, string])[] = [...parsed.searchParams, ...bodyParams]
  for (const [key, value] of Object.entries(oauthParams)) if (key !== 'oauth_signature') pairs.push([key, value])
  return [method.toUpperCase(), percentEncode(baseStringUri(parsed)), percentEncode(normalizeParameters(pairs, order))].join('&')
}

/**
 * RFC 5849 §3.4.1.2, as Magento computes it from the URL it received (Laminas `Uri\Http` with
 * Magento's `normalizePath`): lower-case scheme and host and no default port (WHATWG `URL`
 * already does both), no query or fragment, escaped unreserved characters decoded, and any
 * character a path may not hold raw (`[`, `]`, `!`, `(`, …) percent-encoded, other escapes upper-cased.
 */
export function baseStringUri(url: URL): string {
  return `${url.protocol}//${url.host}${normalizePath(url.pathname)}`
}

/**
 * A path as Magento's `Uri\Http::normalizePath` leaves it: escaped unreserved characters decoded,
 * other escapes upper-cased, characters outside unreserved and `:@&=+$,/;` escaped.
 *
 * @example
 * normalizePath('/rest/V1/products/MJ01(blue)%7e') // '/rest/V1/products/MJ01%28blue%29~'
 */
export function normalizePath(path: string): string {
  return path
    .replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
      const char = String.fromCharCode(Number.parseInt(hex, 16))
      return /[A-Za-z0-9\-._~]/.test(char) ? char : escape.toUpperCase()
    })
    .replace(/[^A-Za-z0-9\-._~:@&=+$,/;%]+|%(?![0-9A-Fa-f]{2})/g, (run) => percentEncode(run))
}

/** RFC 5849 §3.4.1.3.2: encode each name and value, sort (Magento's way), join as `k=v&k=v`. */
export function normalizeParameters(pairs: ReadonlyArray<readonly [string, string]>, order: ParameterOrder = 'natural'): string {
  const names = (a: readonly [string, string], b: readonly [string, string]): number =>
    order === 'natural' ? strnatcmp(percentEncode(a[0]), percentEncode(b[0])) : Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]))
  return (
    [...pairs]
      // A name given twice (RFC 5849 allows it; Magento never sees it) is ordered by value.
      .sort((a, b) => names(a, b) || (a[0] === b[0] ? strnatcmp(percentEncode(a[1]), percentEncode(b[1])) : 0))
      .map(([key, value]) => `${percentEncode(key)}=${percentEncode(value)}`)
      .join('&')
  )
}

/**
 * RFC 3986 percent-encoding (RFC 5849 §3.6): everything but `A-Z a-z 0-9 - . _ ~` is escaped,
 * as UTF-8, with upper-case hex. The same bytes as PHP's `rawurlencode`.
 *
 * @example
 * percentEncode("searchCriteria[pageSize]") // 'searchCriteria%5BpageSize%5D'
 */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
}

/**
 * PHP's `strnatcmp` (ext/standard/strnatcmp.c, PHP ≥ 7): "natural order", comparing runs of
 * digits by value. Leading zeros are skipped only at the start of the strings; a run that starts
 * with `0` is compared digit by digit (as a fraction). Returns -1, 0 or 1. Compares UTF-16 units,
 * which are PHP's bytes for the ASCII strings percent-encoding produces.
 *
 * @example
 * ['a10', 'a2'].sort(strnatcmp) // ['a2', 'a10']
 */
export function strnatcmp(a: string, b: string): number {
  if (a.length === 0 || b.length === 0) return Math.sign(a.length - b.length)
  // Past the end reads as 0, like the C string's terminating NUL.
  const at = (s: string, i: number): number => (i < s.length ? s.charCodeAt(i) : 0)
  const isDigit = (c: number): boolean => c >= 48 && c <= 57
  const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13)
  let ai = 0
  let bi = 0
  let leading = true
  for (;;) {
    let ca = at(a, ai)
    let cb = at(b, bi)
    if (leading) {
      while (ca === 48 && ai + 1 < a.length && isDigit(at(a, ai + 1))) ca = at(a, ++ai)
      while (cb === 48 && bi + 1 < b.length && isDigit(at(b, bi + 1))) cb = at(b, ++bi)
      leading = false
    }
    while (isSpace(ca)) ca = at(a, ++ai)
    while (isSpace(cb)) cb = at(b, ++bi)
    if (isDigit(ca) && isDigit(cb)) {
      const fractional = ca === 48 || cb === 48
      let bias = 0
      let result = 0
      for (;; ai++, bi++) {
        const da = ai < a.length && isDigit(at(a, ai))
        const db = bi < b.length && isDigit(at(b, bi))
        if (!da && !db) {
          result = fractional ? 0 : bias
          break
        }
        if (!da) {
          result = -1
          break
        }
        if (!db) {
          result = 1
          break
        }
        const diff = at(a, ai) - at(b, bi)
        if (diff !== 0 && fractional) {
          result = Math.sign(diff)
          break
        }
        if (diff !== 0 && bias === 0) bias = Math.sign(diff)
      }
      if (result !== 0) return result
      if (ai >= a.length && bi >= b.length) return 0
      ca = at(a, ai)
      cb = at(b, bi)
    }
    if (ca !== cb) return ca < cb ? -1 : 1
    ai++
    bi++
    if (ai >= a.length && bi >= b.length) return 0
    if (ai >= a.length) return -1
    if (bi >= b.length) return 1
  }
}

/** 32 characters from `[A-Za-z0-9]`, as the `oauth-1.0a` package makes them, from a CSPRNG. */
export function newNonce(): string {
  let nonce = ''
  for (let i = 0; i < 32; i++) nonce += NONCE_ALPHABET[randomInt(NONCE_ALPHABET.length)]
  return nonce
}
