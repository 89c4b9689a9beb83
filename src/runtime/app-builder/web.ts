/**
 * @module
 * The pure half of Apache OpenWhisk's HTTP contracts, as storehook serves App Builder actions:
 * a web request → the params `main` receives ({@link webParams}), an activation → the web
 * answer ({@link webAnswer}), an activation → the record the REST API returns
 * ({@link activationRecord}). No I/O: the routes are in `server/app-builder.ts`.
 *
 * Every rule is OpenWhisk's own, read from `apache/openwhisk`:
 * `core/controller/.../WebActions.scala` (params, extensions, transcoding), `docs/webactions.md`,
 * `common/scala/.../http/ErrorResponse.scala` (messages; refusals are `{"error", "code"}` with the
 * transaction id as `code`), `WhiskActivation.scala` / `ActivationResponse.scala` (the record).
 * Whether a media type is binary is akka-http's rule (`MediaType.scala`, `HttpHeaderParser`),
 * which OpenWhisk uses for both the request body and the answer's content-type.
 * `@adobe/aio-commerce-sdk` answers (`{type:'success', statusCode, body, headers}` and
 * `{type:'error', error:{statusCode, body, headers}}`, `aio-commerce-lib-core` `responses/helpers.ts`)
 * need no rule of their own: `type` is an extra key, and the `error` one makes the second an
 * application error whose `error` is answered, as on I/O Runtime.
 */
import { Buffer } from 'node:buffer'
import { HttpError } from '../../core/errors.ts'
import type { Activation, AppBuilderAction } from './types.ts'

/** OpenWhisk's texts (`ErrorResponse.scala` `Messages`), so clients matching them keep working. */
export const OW_MESSAGES = {
  notFound: 'The requested resource does not exist.',
  forbidden: 'The supplied authentication is not authorized to access this resource.',
  parametersNotAllowed: 'Request defines parameters that are not allowed (e.g., reserved properties).',
  errorProcessingRequest: 'There was an error processing your request.',
  responseNotReady: 'Response not yet ready.',
  propertyNotFound: 'Response does not include requested property.',
  httpUnknownContentType: 'Response did not specify a known content-type.',
  httpContentTypeError: 'Response type in header did not match generated content type.',
  invalidMedia: (media: string) => `Response is not valid '${media}'.`,
  malformed: (reason: string) => `The request content was malformed:\n${reason}`,
} as const

/** The `__ow_*` names a request may not set (`WebApiDirectives.reservedProperties`). */
export const RESERVED_PARAMS = ['__ow_method', '__ow_headers', '__ow_path', '__ow_user', '__ow_query', '__ow_body'] as const

/** The answer's content handling, chosen by the action name's extension; `.http` when none. */
export type WebExtension = 'http' | 'json' | 'html' | 'svg' | 'text'
const EXTENSIONS: WebExtension[] = ['http', 'json', 'html', 'svg', 'text']

/**
 * @example
 * splitExtension('hello.json') // { name: 'hello', extension: 'json' }
 * splitExtension('hello')      // { name: 'hello', extension: 'http' }
 */
export function splitExtension(segment: string): { name: string; extension: WebExtension } {
  const extension = EXTENSIONS.find((e) => segment.endsWith(`.${e}`))
  return extension ? { name: segment.slice(0, -extension.length - 1), extension } : { name: segment, extension: 'http' }
}

export interface WebRequest {
  /** As received: `POST`. */
  method: string
  /** Names as received (any case). */
  headers: Iterable<[string, string]>
  /** What follows the action name (and extension) in the URL: `/orders/7`, or '' when nothing. */
  path: string
  /** The raw query string, without `?`. */
  query: string
  body: Uint8Array
}

/**
 * The params `main` receives for a web request: the action's inputs, under the query's params,
 * under the body's (a JSON object or a form is merged; any other body is `__ow_body`, base64 when
 * binary or `application/json`), plus `__ow_method`, `__ow_headers`, `__ow_path`. With `rawHttp`
 * nothing is merged: `__ow_query` is the raw query and `__ow_body` the body (base64 when binary or
 * `application/json`, '' when empty). `content-length`/`transfer-encoding` are not among
 * `__ow_headers` (akka-http keeps them on the entity); other hop-by-hop headers are, as OpenWhisk has.
 *
 * @throws HttpError 400 when the query or body sets a reserved `__ow_*` name, or (with `final`) an
 *   input that has a value — OpenWhisk refuses such a request rather than ignoring the override;
 *   400 when a JSON body does not parse.
 * @example
 * webParams(action, { method: 'GET', headers: [], path: '', query: 'name=Ada', body: new Uint8Array() })
 * // { ...action.inputs, __ow_method: 'get', __ow_headers: {}, __ow_path: '', name: 'Ada' }
 */
export function webParams(action: AppBuilderAction, request: WebRequest): Record<string, unknown> {
  const headers: Record<string, string> = {}
  let contentType: string | undefined
  for (const [name, value] of request.headers) {
    const lower = name.toLowerCase()
    if (lower === 'content-length' || lower === 'transfer-encoding') continue
    headers[lower] = value
    if (lower === 'content-type') contentType = value
  }
  const context = { __ow_method: request.method.toLowerCase(), __ow_headers: headers, __ow_path: request.path }
  const media = contentType === undefined ? undefined : parseMediaType(contentType)
  const hasEntity = request.body.byteLength > 0 || contentType !== undefined

  if (action.rawHttp) {
    return { ...action.inputs, ...context, __ow_query: request.query, __ow_body: hasEntity ? opaqueBody(request.body, media) : '' }
  }
  const query = Object.fromEntries(new URLSearchParams(request.query))
  // What the request itself names (a JSON object's or a form's keys) versus an opaque body that
  // storehook passes as `__ow_body` (any other entity, or JSON that is not an object).
  let named: Record<string, unknown> = {}
  let opaque: { __ow_body: unknown } | undefined
  if (!hasEntity) {
    // nothing to merge
  } else if (media && isJsonFamily(media)) {
    if (request.body.byteLength > 0) {
      const value = parseJson(request.body)
      if (isDictionary(value)) named = value
      else opaque = { __ow_body: value }
    }
  } else if (media?.essence === 'application/x-www-form-urlencoded') {
    named = Object.fromEntries(new URLSearchParams(Buffer.from(request.body).toString('utf8')))
  } else {
    opaque = { __ow_body: opaqueBody(request.body, media) }
  }
  const protectedNames = new Set<string>([...RESERVED_PARAMS, ...(action.final ? definedInputs(action) : [])])
  if ([...Object.keys(query), ...Object.keys(named)].some((k) => protectedNames.has(k))) {
    throw new HttpError(400, OW_MESSAGES.parametersNotAllowed)
  }
  return { ...action.inputs, ...context, ...query, ...named, ...opaque }
}

/** Inputs with a value (`Parameters.definedParameters`: null means "no value"). */
function definedInputs(action: AppBuilderAction): string[] {
  return Object.entries(action.inputs)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k]) => k)
}

/** `WebActions.scala`: base64 when binary or `application/json` ("for legacy"), else UTF-8 text. */
function opaqueBody(body: Uint8Array, media: MediaType | undefined): string {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  // No content-type on a body: akka-http takes it as application/octet-stream, binary.
  if (!media || media.binary || media.essence === 'application/json') return bytes.toString('base64')
  return bytes.toString('utf8')
}

function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(body).toString('utf8'))
  } catch (error) {
    throw new HttpError(400, OW_MESSAGES.malformed((error as Error).message))
  }
}

/** An HTTP answer to send as is. */
export interface WebAnswer {
  status: number
  /** In order; a name may repeat (an array-valued header such as `Set-Cookie`). */
  headers: [string, string][]
  body: Uint8Array | string | null
}

/** OpenWhisk's refusal: `{"error": message, "code": transactionId}` (`ErrorResponse.terminate`). */
export function errorAnswer(status: number, message: string, transactionId: string): WebAnswer {
  return { status, headers: [['content-type', 'application/json']], body: JSON.stringify({ error: message, code: transactionId }) }
}

/**
 * The web answer for a finished activation. A success is transcoded per the extension; an
 * application error answers its `error` field the same way (so `{error:{statusCode:404, body}}`
 * is a 404, and `{error:'text'}` under `.http` is OpenWhisk's 400 "Response is not valid
 * 'message/http'."); a developer error (main threw, timed out, returned no dictionary) is OpenWhisk's
 * 400 "There was an error processing your request." — not a 5xx, as I/O Runtime answers it.
 *
 * `.http`: `{statusCode, headers, body}`. A non-empty string body is sent as is, base64-decoded
 * when the content-type (default `text/html`) is binary, or a JSON type and the text is base64;
 * an object/array/number body is sent as JSON (`application/json` unless another JSON type is
 * set). No body (or '') → no content and status `statusCode` or 204: a dictionary without
 * `body` answers 204, as on OpenWhisk. `.json`: the dictionary as JSON, status 200 always (errors
 * too — `apache/openwhisk#2237`). `.html`/`.svg`/`.text`: the `body` (else `html`/`svg`/`text`) field.
 *
 * @example
 * webAnswer({ ...activation, status: 'success', result: { statusCode: 201, body: { id: 7 } } }, 'http', tid)
 * // { status: 201, headers: [['content-type', 'application/json']], body: '{"id":7}' }
 */
export function webAnswer(activation: Activation, extension: WebExtension, transactionId: string): WebAnswer {
  if (activation.status === 'action developer error') return errorAnswer(400, OW_MESSAGES.errorProcessingRequest, transactionId)
  // What OpenWhisk transcodes is the JSON the action's result serialises to (a result that has
  // none — a BigInt, a cycle — could not have left an OpenWhisk container: a developer error).
  let result: Record<string, unknown>
  try {
    result = jsonCopy(activation.result) as Record<string, unknown>
  } catch {
    return errorAnswer(400, OW_MESSAGES.errorProcessingRequest, transactionId)
  }
  const value = activation.status === 'application error' ? result.error : result
  if (value === undefined) return errorAnswer(404, OW_MESSAGES.propertyNotFound, transactionId)
  switch (extension) {
    case 'http':
      return httpAnswer(value, transactionId)
    case 'json':
      if (typeof value === 'object' && value !== null) return { status: 200, headers: [['content-type', 'application/json']], body: JSON.stringify(value) }
      return errorAnswer(400, OW_MESSAGES.invalidMedia('application/json'), transactionId)
    case 'html':
    case 'svg': {
      const field = isDictionary(value) ? (value.body ?? value[extension] ?? null) : value
      const type = extension === 'html' ? 'text/html; charset=UTF-8' : 'image/svg+xml'
      if (typeof field === 'string') return { status: 200, headers: [['content-type', type]], body: field }
      return errorAnswer(400, OW_MESSAGES.invalidMedia(extension === 'html' ? 'text/html' : 'image/svg+xml'), transactionId)
    }
    case 'text': {
      const field = isDictionary(value) ? (hasOwn(value, 'body') ? value.body : value.text) : value
      if (field === undefined) return errorAnswer(404, OW_MESSAGES.propertyNotFound, transactionId)
      const text = typeof field === 'string' ? field : typeof field === 'object' && field !== null ? JSON.stringify(field, null, 2) : String(field)
      return { status: 200, headers: [['content-type', 'text/plain; charset=UTF-8']], body: text }
    }
  }
}

function httpAnswer(value: unknown, tid: string): WebAnswer {
  const invalid = () => errorAnswer(400, OW_MESSAGES.invalidMedia('message/http'), tid)
  if (!isDictionary(value)) return invalid()
  const headers: [string, string][] = []
  if (value.headers !== undefined) {
    if (!isDictionary(value.headers)) return invalid()
    for (const [name, v] of Object.entries(value.headers)) {
      const values = headerValues(v)
      if (!values) return invalid()
      // The server frames the answer itself (akka-http ignores these when an action sets them).
      if (['content-length', 'transfer-encoding', 'connection'].includes(name.toLowerCase())) continue
      for (const one of values) headers.push([name, one])
    }
  }
  let status: number | undefined
  if (value.statusCode !== undefined) {
    const code = typeof value.statusCode === 'string' && /^[+-]?\d+$/.test(value.statusCode) ? Number(value.statusCode) : value.statusCode
    // 1xx are not answers a fetch-style server can send; OpenWhisk would, storehook refuses them.
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 200 || code > 599) return invalid()
    status = code
  }
  const contentTypeAt = headers.findIndex(([n]) => n.toLowerCase() === 'content-type')
  const declared = contentTypeAt >= 0 ? headers[contentTypeAt]![1] : undefined
  const others = headers.filter(([n]) => n.toLowerCase() !== 'content-type')
  const body = value.body
  if (body === undefined || body === null || body === '') return { status: status ?? 204, headers: others, body: null }
  if (typeof body === 'string') {
    const media = parseMediaType(declared ?? 'text/html')
    if (!media) return errorAnswer(400, OW_MESSAGES.httpUnknownContentType, tid)
    let bytes: Uint8Array | string = body
    if (media.binary || (isJsonFamily(media) && isBase64Text(body))) {
      const decoded = decodeBase64Strict(body)
      if (!decoded) return errorAnswer(400, OW_MESSAGES.httpContentTypeError, tid)
      bytes = decoded
    }
    return { status: status ?? 200, headers: [...others, ['content-type', renderContentType(media)]], body: bytes }
  }
  const media = parseMediaType(declared ?? 'application/json')
  if (!media || !isJsonFamily(media)) return errorAnswer(400, OW_MESSAGES.httpContentTypeError, tid)
  const json = media.essence === 'application/json' ? JSON.stringify(body) : JSON.stringify(body, null, 2)
  return { status: status ?? 200, headers: [...others, ['content-type', renderContentType(media)]], body: json }
}

/** `headersFromJson`: strings, booleans, numbers, and arrays of them (one header each). */
function headerValues(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value]
  if (typeof value === 'boolean' || typeof value === 'number') return [String(value)]
  if (Array.isArray(value)) {
    const all = value.map(headerValues)
    return all.every((v) => v !== undefined) ? all.flat() : undefined
  }
  return undefined
}

/** `Exec.isBinaryCode`: the trimmed text is non-empty, a multiple of 4 long and only base64. */
function isBase64Text(text: string): boolean {
  const t = text.trim()
  return t.length > 0 && t.length % 4 === 0 && /^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$/.test(t)
}

/** Java's `Base64.getDecoder().decode`: the base64 alphabet only, padding optional but right. */
function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined
  const unpadded = text.replace(/=+$/, '')
  if (unpadded.length % 4 === 1) return undefined
  if (text.length !== unpadded.length && text.length % 4 !== 0) return undefined
  return Buffer.from(text, 'base64')
}

interface MediaType {
  /** `type/subtype`, lower-case. */
  essence: string
  binary: boolean
  /** The charset is part of the type (`application/json`): none is added when rendering. */
  fixedCharset: boolean
  /** The header value as given. */
  raw: string
  hasCharset: boolean
}

// akka-http's registry (`MediaTypes`): these types are text ("with open charset" or "with fixed
// charset"); the registered image/, audio/, video/, font/, message/, multipart/ types and most
// registered application/ ones are binary; an unregistered type is text only when it names a
// charset (`HttpHeaderParser.getMediaType`). Registered binary application/ types are many; the
// common ones are listed (a rare one sent with a charset would be taken as text here).
const TEXT_APPLICATION = new Set(['atom+xml', 'base64', 'javascript', 'rss+xml', 'soap+xml', 'vnd.google-earth.kml+xml', 'x-latex', 'x-vrml', 'xhtml+xml', 'xml-dtd', 'xml', 'problem+xml'])
const FIXED_CHARSET = new Set(['application/json', 'application/json-patch+json', 'application/merge-patch+json', 'application/problem+json', 'application/vnd.api+json', 'application/x-www-form-urlencoded', 'text/event-stream'])
const TEXT_TEXT = new Set(['asp', 'cache-manifest', 'calendar', 'css', 'csv', 'event-stream', 'html', 'markdown', 'mcf', 'plain', 'richtext', 'tab-separated-values', 'uri-list', 'vnd.wap.wml', 'vnd.wap.wmlscript', 'x-asm', 'x-c', 'x-component', 'x-h', 'x-java-source', 'x-pascal', 'x-script', 'x-scriptcsh', 'x-scriptelisp', 'x-scriptksh', 'x-scriptlisp', 'x-scriptperl', 'x-scriptperl-module', 'x-scriptphyton', 'x-scriptrexx', 'x-scriptscheme', 'x-scriptsh', 'x-scripttcl', 'x-scripttcsh', 'x-scriptzsh', 'x-server-parsed-html', 'x-setext', 'x-sgml', 'x-speech', 'x-uuencode', 'x-vcalendar', 'x-vcard', 'xml'])
const BINARY_MAIN = new Set(['image', 'audio', 'video', 'font', 'message', 'multipart'])
const BINARY_APPLICATION = /^(octet-stream|pdf|zip|cbor|gnutar|java-archive|grpc\+proto|lha|lzx|msword|postscript|x-(7z|ace|arc|rar)-compressed|x-bzip2?|x-compress(ed)?|x-gzip|x-gtar|x-tar|x-tex|x-texinfo|x-dvi|x-debian-package|x-redhat-package-manager|x-shockwave-flash|x-font-(truetype|opentype)|x-x509-ca-cert|x-xpinstall|x-apple-diskimage|x-chrome-extension)$|^(vnd\.(ms-|openxmlformats-officedocument\.|oasis\.opendocument\.|google-earth\.kmz))/
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
const MEDIA_TYPE = new RegExp(`^\\s*(${TOKEN})/(${TOKEN})\\s*(;.*)?$`)

/**
 * Whether akka-http (and so OpenWhisk) treats a content-type as binary.
 *
 * @example
 * isBinaryMediaType('image/png')                          // true
 * isBinaryMediaType('application/vnd.acme; charset=utf-8') // false
 * isBinaryMediaType('application/vnd.acme')               // true
 */
export function isBinaryMediaType(contentType: string): boolean {
  return parseMediaType(contentType)?.binary ?? true
}

function parseMediaType(value: string): MediaType | undefined {
  const match = MEDIA_TYPE.exec(value)
  if (!match) return undefined
  const main = match[1]!.toLowerCase()
  const sub = match[2]!.toLowerCase()
  const essence = `${main}/${sub}`
  const hasCharset = /;\s*charset\s*=/i.test(match[3] ?? '')
  const fixedCharset = FIXED_CHARSET.has(essence)
  let text: boolean
  if (fixedCharset || (main === 'application' && TEXT_APPLICATION.has(sub)) || (main === 'text' && TEXT_TEXT.has(sub))) text = true
  else if (BINARY_MAIN.has(main) || (main === 'application' && BINARY_APPLICATION.test(sub))) text = false
  else text = hasCharset
  return { essence, binary: !text, fixedCharset, raw: value.trim(), hasCharset }
}

function isJsonFamily(media: MediaType): boolean {
  return media.essence === 'application/json' || media.essence.endsWith('+json')
}

/** akka renders a text type without charset as `…; charset=UTF-8`. */
function renderContentType(media: MediaType): string {
  return media.binary || media.fixedCharset || media.hasCharset ? media.raw : `${media.raw}; charset=UTF-8`
}

function jsonCopy(value: unknown): unknown {
  const text = JSON.stringify(value)
  return text === undefined ? undefined : JSON.parse(text)
}

function isDictionary(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key)
}

/** `ActivationResponse` status codes: 0 success, 1 application error, 2 action developer error. */
const STATUS_CODE = { success: 0, 'application error': 1, 'action developer error': 2 } as const

/** An activation as the OpenWhisk REST API answers it (`WhiskActivation.toExtendedJson`). */
export interface OpenWhiskActivation {
  namespace: string
  /** The action's own name, without its package. */
  name: string
  subject: string
  activationId: string
  start: number
  end: number
  duration: number
  /** `{result, size, status, success}`: `statusCode` is hidden here, as OpenWhisk does. */
  response: { result: Record<string, unknown>; size: number; status: Activation['status']; success: boolean }
  logs: string[]
  annotations: { key: string; value: unknown }[]
  version: string
  publish: boolean
}

/**
 * The record `GET …/activations/<id>` and a blocking invoke answer. The `path` annotation is
 * `<namespace>/<package>/<action>` (`<namespace>/<action>` for the `default` package), `kind` the
 * manifest's runtime, `timeout` true when the action was cut off at its time limit.
 *
 * @example
 * activationRecord(activation, 'storehook', action).response.result // what main returned
 */
export function activationRecord(activation: Activation, namespace: string, action?: AppBuilderAction): OpenWhiskActivation {
  const slash = activation.action.indexOf('/')
  const pkg = activation.action.slice(0, slash)
  const name = activation.action.slice(slash + 1)
  const error = activation.result.error
  const timedOut = activation.status === 'action developer error' && typeof error === 'string' && error.startsWith('The action exceeded its time limits')
  const annotations: { key: string; value: unknown }[] = [{ key: 'path', value: pkg === 'default' ? `${namespace}/${name}` : `${namespace}/${activation.action}` }]
  if (action) annotations.push({ key: 'kind', value: action.runtime }, { key: 'limits', value: { timeout: action.timeoutMs } })
  annotations.push({ key: 'timeout', value: timedOut })
  return {
    namespace,
    name,
    subject: namespace,
    activationId: activation.activationId,
    start: activation.start,
    end: activation.end,
    duration: activation.end - activation.start,
    response: {
      result: activation.result,
      size: Buffer.byteLength(JSON.stringify(activation.result) ?? ''),
      status: activation.status,
      success: activation.status === 'success',
    },
    logs: activation.logs,
    annotations,
    version: '0.0.1',
    publish: false,
  }
}

/** A list entry without `docs=true` (the activations view): no result, no logs, a `statusCode`. */
export function activationSummary(activation: Activation, namespace: string, action?: AppBuilderAction) {
  const { response, logs: _logs, subject: _subject, ...rest } = activationRecord(activation, namespace, action)
  return { ...rest, statusCode: STATUS_CODE[response.status] }
}
