/**
 * @module
 * The shapes shared by storehook's App Builder compatibility: a project's runtime manifest as
 * read from `app.config.yaml` (manifest.ts), one invocation of one action and its activation
 * record (invoker.ts), and the OpenWhisk web and API contracts (web.ts, server/app-builder.ts).
 *
 * Terminology (Apache OpenWhisk's, as Adobe I/O Runtime uses it):
 * - **action**: a `main(params)` function in a package: `<package>/<action>`.
 * - **invocation**: one call of `main` with one params object.
 * - **activation**: the record of an invocation: its id, result, logs, start and end.
 * - **inputs**: parameters bound to an action in the manifest (`$VAR` substituted from the
 *   environment), merged under each invocation's own params.
 * See ../../../../shared/reference/adobe-commerce.md §5.
 */

/** One action of an App Builder project's runtime manifest, as storehook runs it. */
export interface AppBuilderAction {
  /** The manifest's package name: `my-app`. */
  package: string
  /** The action's name within its package: `order-consumer`. */
  name: string
  /** `<package>/<action>`: how registrations, URLs and activations name it. */
  fullName: string
  /** Absolute path of the module to load (a file, or a directory's package.json `main` / index.js resolved). */
  file: string
  /** The manifest's `runtime` (`nodejs:22`); informational, storehook runs every action on its own Node.js. */
  runtime: string
  /** Package inputs, then the action's own on top, every `$VAR` / `${VAR}` substituted ('' when unset). */
  inputs: Record<string, unknown>
  /** `web: yes` (or `web-export: true`) serves it at `/api/v1/web/<package>/<action>`; `raw` implies raw-http. */
  web: boolean
  /** `raw-http: true` (or `web: raw`): `__ow_body` and `__ow_query` instead of merged params. */
  rawHttp: boolean
  /** `final: true`: the bound inputs cannot be overridden by a request's params. */
  final: boolean
  /** `require-adobe-auth: true`: a web request needs an `Authorization: Bearer …` header. */
  requireAdobeAuth: boolean
  /** `limits.timeout` (default 60 000 ms): the invocation, floating work included, is cut off after this. */
  timeoutMs: number
  /**
   * `limits.memory` in MB (I/O Runtime's default 256): storehook caps the action thread's V8 heap
   * at it, so an action that runs out of memory ends its own thread, not storehook.
   */
  memoryMb?: number
  /**
   * Whether an invocation lasts until the work main left running has settled (default true, see
   * invoker.ts). False for an action that opens a connection meant to outlive its invocations (a
   * Redis or PostgreSQL client created in main keeps a ref'd socket forever), as AWS Lambda's
   * `callbackWaitsForEmptyEventLoop = false`: the invocation ends when main returns.
   */
  waitForFloatingWork?: boolean
  /** The manifest file that declares it (relative to the project), for error messages. */
  declaredIn: string
}

/** An I/O Events registration from the manifest: events of these codes go to `action`. */
export interface EventRegistration {
  /** The registration's key in `events.registrations`. */
  name: string
  description: string | null
  /** Event codes as registered (`com.adobe.commerce.observer.sales_order_save_after`). */
  eventCodes: string[]
  /** `<package>/<action>` from `runtime_action`. */
  action: string
  declaredIn: string
}

/**
 * A registration in the manifest that storehook does not bind, because it delivers nowhere in
 * this project: to a `webhook_url`, or to the I/O Events journal (neither `runtime_action` nor
 * `webhook_url`). Returned so the caller can log a warning naming it.
 */
export interface SkippedRegistration {
  name: string
  eventCodes: string[]
  /** Why it is not bound, in words for a log line. */
  reason: string
  declaredIn: string
}

export interface AppBuilderManifest {
  /** The project directory (absolute). */
  dir: string
  /** Every manifest file read, relative to `dir` (`app.config.yaml`, `src/…/ext.config.yaml`). */
  files: string[]
  actions: AppBuilderAction[]
  registrations: EventRegistration[]
  /** Registrations delivering to a webhook or the journal; always set by `readAppBuilderManifest`. */
  skippedRegistrations?: SkippedRegistration[]
}

/** How an invocation was started: decides nothing in the invoker, recorded on the activation. */
export type InvocationCause = 'event' | 'web' | 'invoke' | 'webhook'

/**
 * OpenWhisk's activation status: `success`; `application error` (the result has an `error`
 * field); `action developer error` (main threw, returned no dictionary, timed out, or floating
 * work it left rejected).
 */
export type ActivationStatus = 'success' | 'application error' | 'action developer error'

/** The record of one invocation. */
export interface Activation {
  activationId: string
  /** `<package>/<action>`. */
  action: string
  cause: InvocationCause
  /** Epoch ms. */
  start: number
  end: number
  status: ActivationStatus
  /**
   * What main returned (a dictionary), or for a developer error `{ error: '<message>' }` as
   * OpenWhisk reports it.
   */
  result: Record<string, unknown>
  /** Console output, one line per entry, OpenWhisk's format: `<ISO time> stdout: <text>` (or stderr). */
  logs: string[]
  /** True when main returned while work it started (un-awaited promises, timers, sockets) was still going. */
  leftWork: boolean
  /** The storehook run this invocation belongs to, for event-consuming actions. */
  runId?: number
  attempt?: number
}
