/**
 * @module
 * What the main thread and a handler thread (thread-entry.ts) say to each other, and how what a
 * handler returns or throws crosses between them. Errors keep their meaning: an
 * `ExternalResourceError` thrown in a thread is an `ExternalResourceError` again on the main
 * thread (its envelope answers), anything else an `Error` with the same name, message and stack
 * (the fallback answers).
 */
import { coerceError } from '../../core/errors.ts'
import { ExternalResourceError } from '../../sources/external.ts'

/** How often a thread with calls running says it is alive. */
export const BEAT_MS = 25

/** Marks a Worker started as a handler thread (the entry checks it before doing anything). */
export const HANDLER_THREAD_MARK = 'storehook external handler thread'

export interface HandlerThreadData {
  mark: typeof HANDLER_THREAD_MARK
  /** The project directory: the thread loads the project from it, as the main thread did. */
  projectDir: string
  /** The main logger's level: lines the thread would not log are not sent at all. */
  logLevel: string
}

/** One call, as the main thread hands it over: the raw request, which the thread parses itself. */
export interface CallMessage {
  type: 'call'
  id: number
  resource: string
  body: Uint8Array
  url: string
  headers: [string, string][]
  /** Epoch ms, `ctx.deadline`. */
  deadline: number
  inputDigest: string
}

/** The call's deadline passed: abort its signal. */
export interface AbortMessage {
  type: 'abort'
  id: number
  deadlineMs: number
}

/** No late answer is awaited for the call any more: stop counting it as running. */
export interface ForgetMessage {
  type: 'forget'
  id: number
}

export type MainMessage = CallMessage | AbortMessage | ForgetMessage

/** An error as it crosses the thread boundary. */
export type SentError =
  | { kind: 'external-resource-error'; code: string; message: string; status: number; data?: Record<string, unknown> }
  | { kind: 'error'; name: string; message: string; stack?: string }

export type CallResult = { kind: 'value'; value: unknown } | { kind: 'threw'; error: SentError }

export type ThreadMessage =
  | { type: 'ready' }
  /** The project could not be loaded in the thread. */
  | { type: 'failed'; message: string }
  /**
   * Sent every {@link BEAT_MS} while calls are running: a thread with calls that stays silent for
   * longer has a stuck event loop (a handler's `while (true)`).
   */
  | { type: 'beat' }
  | { type: 'done'; id: number; result: CallResult }
  /** A pino line of the handler's `ctx.logger`, re-logged by the main thread's logger. */
  | { type: 'log'; line: string }

/** What a thrown value becomes on its way to the main thread. */
export function sendError(thrown: unknown): SentError {
  // coerceError first: a revoked Proxy throws on `instanceof`, and this must never throw.
  const error = coerceError(thrown)
  if (error instanceof ExternalResourceError) {
    const { code, message, status, data } = error
    return { kind: 'external-resource-error', code, message, status, ...(data === undefined ? {} : { data }) }
  }
  return { kind: 'error', name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) }
}

/**
 * The error again, on the main thread.
 *
 * @example
 * receiveError(sendError(new ExternalResourceError('SOLD_OUT', 'sold out'))) instanceof ExternalResourceError // true
 */
export function receiveError(sent: SentError): Error {
  if (sent.kind === 'external-resource-error') {
    return new ExternalResourceError(sent.code, sent.message, { status: sent.status, ...(sent.data ? { data: sent.data } : {}) })
  }
  const error = new Error(sent.message)
  error.name = sent.name
  if (sent.stack) error.stack = sent.stack
  return error
}

/**
 * The JSON form of a value the structured clone cannot carry. Handlers return plain JSON-like
 * answers; one that holds a function (a `toJSON`, a class with methods) goes as its JSON form,
 * which is what the platform would have received anyway.
 * @throws TypeError when it has no JSON form either (a cycle, a BigInt)
 * @example
 * jsonForm({ unit_amount_cents: 100, toJSON() { return { unit_amount_cents: 100 } } }) // { unit_amount_cents: 100 }
 */
export function jsonForm(value: unknown): unknown {
  try {
    const json = JSON.stringify(value)
    return json === undefined ? undefined : JSON.parse(json)
  } catch (error) {
    throw new TypeError(`the answer cannot be passed from the handler's thread: ${(error as Error).message}`)
  }
}
