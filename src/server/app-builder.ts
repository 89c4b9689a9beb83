/**
 * @module
 * The OpenWhisk HTTP surface an App Builder project is used through, so browsers, Commerce and
 * the `openwhisk` npm client reach storehook as they reach Adobe I/O Runtime:
 *
 * - `ALL /api/v1/web/[<namespace>/]<package>/<action>[.<ext>][/<path>]`: web actions.
 * - `POST /api/v1/namespaces/<ns>/actions/<package>/<action>` (`<action>` alone: the `default`
 *   package) `?blocking=&result=&timeout=`: the invoke API `openwhisk().actions.invoke` calls.
 * - `GET /api/v1/namespaces/<ns>/activations[/<id>[/result|/logs]]`: activation records.
 * - `GET /admin/api/activations`, `GET /admin/api/activations/<id>`: the operator's view (mounted
 *   behind the admin guard by app.ts).
 *
 * The mapping (request → params, activation → answer) is pure and lives in
 * `runtime/app-builder/web.ts`; this file reads bodies, checks credentials, waits, and answers.
 * Refusals are OpenWhisk's `{"error": "…", "code": "<transaction id>"}`, the transaction id is
 * also `x-request-id`, and every answer that has an activation carries `x-openwhisk-activation-id`
 * (`apache/openwhisk` `core/controller/.../ApiUtils.scala` `CustomHeaders`).
 *
 * `require-adobe-auth`: storehook checks that `Authorization: Bearer <token>` and
 * `x-gw-ims-org-id` are present, as `aio app dev` does (`adobe/aio-cli-plugin-app-dev`
 * `src/lib/run-dev.js`); it does not validate the IMS token with Adobe.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { HttpError } from '../core/errors.ts'
import type { Activation, AppBuilderAction } from '../runtime/app-builder/types.ts'
import { activationRecord, activationSummary, errorAnswer, OW_MESSAGES, splitExtension, webAnswer, webParams, type WebAnswer } from '../runtime/app-builder/web.ts'
import { readRawBody } from './body.ts'

/**
 * How long a blocking invoke or a web request waits for its activation before answering 202 with
 * the activation id (OpenWhisk's `maxWaitForBlockingActivation`; I/O Runtime cuts at 60 s too).
 * The invocation goes on; its record appears under `/activations/<id>` when it ends.
 */
export const MAX_BLOCKING_WAIT_MS = 60_000

/** What the routes need of the runtime's App Builder project. */
export interface AppBuilderHost {
  /** The namespace storehook answers to (`__OW_NAMESPACE`; e.g. `storehook`). */
  namespace: string
  /** The key the `openwhisk` client must present as Basic credentials: `<uuid>:<secret>`. */
  apiKey: string
  /** `<package>/<action>`. */
  action(fullName: string): AppBuilderAction | undefined
  /**
   * Runs `main(params)` and records the activation. `params` are complete (inputs already merged
   * under the request's own): pass them as they are. `activationId`, when given, is the id to use.
   */
  invoke(action: AppBuilderAction, params: Record<string, unknown>, options: { cause: 'web' | 'invoke'; activationId?: string }): Promise<Activation>
  activation(id: string): Promise<Activation | undefined>
  /** Newest first; `before`: activations that started before this epoch ms. */
  activations(filter: { action?: string; limit?: number; before?: number }): Promise<Activation[]>
  /** Where failures no caller will see are reported (a non-blocking invocation that could not run). */
  logger?: { error(details: object, message: string): void }
}

export interface AppBuilderRouteOptions {
  /** Request bodies above this many bytes are refused with 413. */
  bodyLimitBytes: number
  /** Default {@link MAX_BLOCKING_WAIT_MS}; tests shorten it. */
  maxBlockingWaitMs?: number
}

const WEB_PREFIX = '/api/v1/web/'
const ALLOWED_METHODS = ['GET', 'DELETE', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'PATCH']
// `CorsSettings.WebActions`: every web action answers CORS unless it handles OPTIONS itself
// (`web-custom-options`, which storehook does not read).
const CORS_ALLOW_HEADERS = 'Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent'
const DEFAULT_LIST_LIMIT = 30
const MAX_LIST_LIMIT = 200

/**
 * Mounts the web action, invoke and activation routes, and the admin activation routes (which
 * app.ts places after the admin guard).
 *
 * @example
 * mountAppBuilderRoutes(app, runtime.appBuilder, { bodyLimitBytes: 1024 * 1024 })
 * // curl http://127.0.0.1:3000/api/v1/web/my-app/hello?name=Ada
 */
export function mountAppBuilderRoutes(app: Hono, host: AppBuilderHost, options: AppBuilderRouteOptions): void {
  const waitMs = options.maxBlockingWaitMs ?? MAX_BLOCKING_WAIT_MS

  app.all(`${WEB_PREFIX}*`, async (c) => {
    const tid = transactionId(c)
    const target = webTarget(host, new URL(c.req.url).pathname.slice(WEB_PREFIX.length).split('/'))
    if (!target) return respond(errorAnswer(404, OW_MESSAGES.notFound, tid), tid)
    const method = c.req.method.toUpperCase()
    if (!ALLOWED_METHODS.includes(method)) {
      return respond(errorAnswer(405, `HTTP method not allowed, supported methods: ${ALLOWED_METHODS.join(', ')}`, tid), tid)
    }
    const cors: [string, string][] = [
      ['access-control-allow-origin', '*'],
      ['access-control-allow-methods', 'OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH'],
      ['access-control-allow-headers', c.req.header('access-control-request-headers') ?? CORS_ALLOW_HEADERS],
    ]
    if (method === 'OPTIONS') return respond({ status: 200, headers: [], body: null }, tid, cors)
    const { action } = target
    if (action.requireAdobeAuth) {
      const reason = missingAdobeAuth(c.req.raw.headers)
      if (reason) return respond({ status: 401, headers: [['content-type', 'application/json']], body: JSON.stringify({ error: reason }) }, tid, cors)
    }
    let params: Record<string, unknown>
    try {
      const body = await readRawBody(c, options.bodyLimitBytes)
      const query = new URL(c.req.url).search.slice(1)
      params = webParams(action, { method, headers: c.req.raw.headers, path: target.path, query, body })
    } catch (error) {
      return refusal(error, c, tid, cors)
    }
    const outcome = await invokeWithin(host, action, params, 'web', waitMs)
    if ('pending' in outcome) return respond(errorAnswer(202, OW_MESSAGES.responseNotReady, tid), tid, [...cors, activationHeader(outcome.pending)])
    if ('failed' in outcome) return respond(errorAnswer(500, 'There was an internal server error.', tid), tid, cors)
    return respond(webAnswer(outcome.activation, target.extension, tid), tid, [...cors, activationHeader(outcome.activation.activationId)])
  })

  app.post('/api/v1/namespaces/:ns/actions/:first/:second?', async (c) => {
    const tid = transactionId(c)
    const denied = checkCredentials(c, host, tid)
    if (denied) return denied
    const first = c.req.param('first')
    const second = c.req.param('second')
    // An action outside any package is `default/<name>`, the package name OpenWhisk's web URLs use.
    const action = host.action(second ? `${first}/${second}` : `default/${first}`)
    if (!action) return respond(errorAnswer(404, OW_MESSAGES.notFound, tid), tid)
    let blocking: boolean
    let resultOnly: boolean
    let wait = waitMs
    let payload: Record<string, unknown>
    try {
      blocking = booleanParam(c.req.query('blocking'), 'blocking')
      resultOnly = booleanParam(c.req.query('result'), 'result')
      const timeout = c.req.query('timeout')
      if (timeout !== undefined) {
        if (!/^\d+$/.test(timeout) || Number(timeout) <= 0 || Number(timeout) > waitMs) {
          throw new HttpError(400, `Timeout must be number of milliseconds up to ${waitMs}.`)
        }
        wait = Number(timeout)
      }
      payload = jsonObjectBody(await readRawBody(c, options.bodyLimitBytes))
      // `Actions.scala` `activate`: a payload may not name an input of a `final` action.
      const finalInputs = action.final ? Object.entries(action.inputs).filter(([, v]) => v !== null && v !== undefined).map(([k]) => k) : []
      if (finalInputs.some((k) => Object.prototype.hasOwnProperty.call(payload, k))) throw new HttpError(400, OW_MESSAGES.parametersNotAllowed)
    } catch (error) {
      return refusal(error, c, tid)
    }
    const params = { ...action.inputs, ...payload }
    if (!blocking) {
      const activationId = newActivationId()
      host.invoke(action, params, { cause: 'invoke', activationId }).catch((error: unknown) => {
        host.logger?.error({ err: error, action: action.fullName, activationId }, 'a non-blocking OpenWhisk invocation could not run')
      })
      return respond(jsonAnswer(202, { activationId }), tid, [activationHeader(activationId)])
    }
    const outcome = await invokeWithin(host, action, params, 'invoke', wait)
    if ('pending' in outcome) return respond(jsonAnswer(202, { activationId: outcome.pending }), tid, [activationHeader(outcome.pending)])
    if ('failed' in outcome) return respond(errorAnswer(500, 'There was an internal server error.', tid), tid)
    const { activation } = outcome
    // `Actions.scala` `doInvoke`: an application or developer error is a 502 carrying the same body.
    const status = activation.status === 'success' ? 200 : 502
    const body = resultOnly ? activation.result : activationRecord(activation, host.namespace, action)
    return respond(jsonAnswer(status, body), tid, [activationHeader(activation.activationId)])
  })

  app.get('/api/v1/namespaces/:ns/activations', async (c) => {
    const tid = transactionId(c)
    const denied = checkCredentials(c, host, tid)
    if (denied) return denied
    const q = c.req.query()
    const limitValue = q.limit === undefined ? DEFAULT_LIST_LIMIT : Number(q.limit)
    if (!Number.isInteger(limitValue) || limitValue < 0 || limitValue > MAX_LIST_LIMIT) {
      return respond(errorAnswer(400, `The value '${q.limit}' is not in the range of 0 to ${MAX_LIST_LIMIT} for activations.`, tid), tid)
    }
    const limit = limitValue === 0 ? MAX_LIST_LIMIT : limitValue
    const skip = q.skip === undefined ? 0 : Number(q.skip)
    if (!Number.isInteger(skip) || skip < 0) return respond(errorAnswer(400, `The value '${q.skip}' is not greater than or equal to 0 for activations.`, tid), tid)
    const since = q.since === undefined ? undefined : Number(q.since)
    const upto = q.upto === undefined ? undefined : Number(q.upto)
    for (const [key, value] of [['since', since], ['upto', upto]] as const) {
      if (value !== undefined && !Number.isFinite(value)) return respond(errorAnswer(400, `Parameter is not a valid value for epoch seconds: ${q[key]}`, tid), tid)
    }
    const action = q.name ? (q.name.includes('/') ? q.name : `default/${q.name}`) : undefined
    const found = await host.activations({ ...(action ? { action } : {}), limit: skip + limit, ...(upto !== undefined ? { before: upto + 1 } : {}) })
    const page = found.filter((a) => since === undefined || a.start >= since).slice(skip, skip + limit)
    const docs = booleanOr(q.docs, false)
    return respond(jsonAnswer(200, page.map((a) => (docs ? activationRecord(a, host.namespace, host.action(a.action)) : activationSummary(a, host.namespace, host.action(a.action))))), tid)
  })

  app.get('/api/v1/namespaces/:ns/activations/:id/:part?', async (c) => {
    const tid = transactionId(c)
    const denied = checkCredentials(c, host, tid)
    if (denied) return denied
    const id = c.req.param('id')
    const part = c.req.param('part')
    if (part !== undefined && part !== 'result' && part !== 'logs') return respond(errorAnswer(404, OW_MESSAGES.notFound, tid), tid)
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return respond(errorAnswer(400, 'The activation id is not valid.', tid), tid)
    const activation = await host.activation(id)
    if (!activation) return respond(errorAnswer(404, OW_MESSAGES.notFound, tid), tid)
    const record = activationRecord(activation, host.namespace, host.action(activation.action))
    const body = part === 'result' ? record.response : part === 'logs' ? { logs: record.logs } : record
    return respond(jsonAnswer(200, body), tid)
  })

  app.get('/admin/api/activations', async (c) => {
    const q = c.req.query()
    const filter: { action?: string; limit?: number; before?: number } = {}
    if (q.action) filter.action = q.action
    if (q.limit) {
      if (!/^\d+$/.test(q.limit)) throw new HttpError(400, 'limit: expected a non-negative integer')
      filter.limit = Number(q.limit)
    }
    if (q.before) {
      const ms = /^\d+$/.test(q.before) ? Number(q.before) : Date.parse(q.before)
      if (!Number.isFinite(ms)) throw new HttpError(400, 'before: expected an ISO 8601 time or epoch milliseconds')
      filter.before = ms
    }
    return c.json({ activations: (await host.activations(filter)).map(adminView) })
  })

  app.get('/admin/api/activations/:id', async (c) => {
    const activation = await host.activation(c.req.param('id'))
    if (!activation) throw new HttpError(404, `no activation with id "${c.req.param('id')}"`)
    return c.json({ activation: adminView(activation) })
  })
}

/** Where a web URL points: `<namespace>/<package>/<action>` (OpenWhisk's form) when the first
 * segment is the namespace and that resolves, else `<package>/<action>` (I/O Runtime's form on
 * the `<namespace>.adobeioruntime.net` host). Only `web` actions are found, as OpenWhisk does. */
function webTarget(host: AppBuilderHost, segments: string[]) {
  const decoded = segments.map((s) => {
    try {
      return decodeURIComponent(s)
    } catch {
      return s
    }
  })
  for (const at of decoded[0] === host.namespace ? [1, 0] : [0]) {
    const pkg = decoded[at]
    const last = decoded[at + 1]
    if (!pkg || !last) continue
    const { name, extension } = splitExtension(last)
    const action = host.action(`${pkg}/${name}`)
    const rest = segments.slice(at + 2)
    if (action?.web) return { action, extension, path: rest.length > 0 ? `/${rest.join('/')}` : '' }
  }
  return undefined
}

/** The reason text App Builder's validator answers (`aio-cli-plugin-app-dev` `run-dev.js`), or none. */
function missingAdobeAuth(headers: Headers): string | undefined {
  // The validator reads a Bearer token; any other scheme counts as no token.
  if (!/^Bearer\s+\S/i.test(headers.get('authorization') ?? '')) return 'cannot authorize request, reason: missing authorization header'
  if (!headers.get('x-gw-ims-org-id')) return 'cannot authorize request, reason: missing x-gw-ims-org-id header'
  return undefined
}

/**
 * Basic credentials equal to the host's key, and a namespace that is `_` or the host's. Texts are
 * akka-http's (`BasicAuthenticationDirective.scala`, realm "OpenWhisk secure realm") and
 * OpenWhisk's 403.
 */
function checkCredentials(c: Context, host: AppBuilderHost, tid: string): Response | undefined {
  const challenge: [string, string][] = [['www-authenticate', 'Basic realm="OpenWhisk secure realm"']]
  const basic = /^Basic\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')
  if (!basic) return respond(errorAnswer(401, 'The resource requires authentication, which was not supplied with the request', tid), tid, challenge)
  if (!sameSecret(Buffer.from(basic[1]!, 'base64').toString('utf8'), host.apiKey)) {
    return respond(errorAnswer(401, 'The supplied authentication is invalid', tid), tid, challenge)
  }
  const ns = c.req.param('ns')
  if (ns !== '_' && ns !== host.namespace) return respond(errorAnswer(403, OW_MESSAGES.forbidden, tid), tid)
  return undefined
}

function sameSecret(presented: string, expected: string): boolean {
  // Equal-length digests, so the comparison takes the same time whatever was presented.
  const digest = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(presented), digest(expected))
}

type Outcome = { activation: Activation } | { pending: string } | { failed: unknown }

/** Invokes and waits up to `waitMs`; past it the invocation goes on and the caller gets its id. */
async function invokeWithin(host: AppBuilderHost, action: AppBuilderAction, params: Record<string, unknown>, cause: 'web' | 'invoke', waitMs: number): Promise<Outcome> {
  const activationId = newActivationId()
  const running = host.invoke(action, params, { cause, activationId }).then(
    (activation): Outcome => ({ activation }),
    (failed: unknown): Outcome => {
      host.logger?.error({ err: failed, action: action.fullName, activationId }, 'an OpenWhisk invocation could not run')
      return { failed }
    },
  )
  let timer: NodeJS.Timeout | undefined
  const waited = new Promise<Outcome>((resolve) => (timer = setTimeout(() => resolve({ pending: activationId }), waitMs)))
  try {
    return await Promise.race([running, waited])
  } finally {
    clearTimeout(timer)
  }
}

/** OpenWhisk's activation ids: 32 lower-case hex digits. */
function newActivationId(): string {
  return randomUUID().replaceAll('-', '')
}

/** The caller's `x-request-id` when it is a sane token (OpenWhisk keeps it), else a new one. */
function transactionId(c: Context): string {
  const given = c.req.header('x-request-id')
  return given && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID().replaceAll('-', '')
}

function activationHeader(id: string): [string, string] {
  return ['x-openwhisk-activation-id', id]
}

function jsonAnswer(status: number, body: unknown): WebAnswer {
  return { status, headers: [['content-type', 'application/json']], body: JSON.stringify(body) }
}

/** Turns a thrown HttpError (413 from the body reader, 400 from the mapping) into OpenWhisk's refusal. */
function refusal(error: unknown, c: Context, tid: string, extra: [string, string][] = []): Response {
  if (!(error instanceof HttpError)) throw error
  if (error.status !== 413) return respond(errorAnswer(error.status, error.message, tid), tid, extra)
  const limit = /(\d+) bytes/.exec(error.message)?.[1]
  const declared = c.req.header('content-length')
  const message = declared && limit && /^\d+$/.test(declared) ? `Request larger than allowed: ${declared} > ${limit} bytes.` : `Request larger than allowed: more than ${limit} bytes.`
  // The rest of an oversized body is still on its way: close rather than read it all.
  return respond(errorAnswer(413, message, tid), tid, [...extra, ['connection', 'close']])
}

function respond(answer: WebAnswer, tid: string, extra: [string, string][] = []): Response {
  const own = new Set(answer.headers.map(([n]) => n.toLowerCase()))
  const headers = new Headers([['x-request-id', tid]])
  try {
    for (const [name, value] of [...extra.filter(([n]) => !own.has(n)), ...answer.headers]) headers.append(name, value)
  } catch {
    // A header name or value HTTP cannot carry (a newline, say): the action's answer is not valid.
    return respond(errorAnswer(400, OW_MESSAGES.invalidMedia('message/http'), tid), tid)
  }
  const empty = answer.body === null || [204, 205, 304].includes(answer.status)
  return new Response(empty ? null : (answer.body as ConstructorParameters<typeof Response>[0]), { status: answer.status, headers })
}

function booleanParam(value: string | undefined, name: string): boolean {
  const parsed = booleanOr(value, undefined)
  if (value !== undefined && parsed === undefined) throw new HttpError(400, `The query parameter '${name}' was malformed:\n'${value}' is not a valid Boolean value`)
  return parsed ?? false
}

/** akka-http's Boolean parameter words. */
function booleanOr<T>(value: string | undefined, fallback: T): boolean | T {
  const v = value?.toLowerCase()
  if (v === 'true' || v === 'yes' || v === 'on' || v === '1') return true
  if (v === 'false' || v === 'no' || v === 'off' || v === '0') return false
  return fallback
}

function jsonObjectBody(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.byteLength === 0) return {}
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (error) {
    throw new HttpError(400, OW_MESSAGES.malformed((error as Error).message))
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, OW_MESSAGES.malformed('the body must be a JSON object (the params)'))
  return value as Record<string, unknown>
}

function adminView(a: Activation) {
  return { ...a, duration: a.end - a.start, start: new Date(a.start).toISOString(), end: new Date(a.end).toISOString() }
}
