/**
 * @module
 * Runs App Builder (Apache OpenWhisk) actions as I/O Runtime would, and better where I/O Runtime
 * loses work (../../../../shared/reference/adobe-commerce.md §5, §7.4):
 * - **Isolation**: every invocation in flight has its own worker thread, like an OpenWhisk
 *   container with concurrency 1; a thread is reused (warm) only one invocation after another.
 *   Two concurrent invocations never share module state or globals, so the seed's undeclared
 *   `event_payload = params.data.value` cannot leak one order into another (§7.4 item 5).
 * - **Environment**: the thread's `process.env` holds a few safe variables (PATH, HOME, TZ, LANG,
 *   NODE_ENV) and the `__OW_*` ones, never storehook's own (no leak, adobe/aio-cli#749).
 * - **Floating work**: an invocation is complete when the work main started has settled, not
 *   when main returns (settled.ts); if that work rejects, the activation fails, so the old seed's
 *   un-awaited ERP call that fails is a failed run to retry, not a lost order (§7.4 item 1).
 * - **Time limit**: `timeoutMs` covers main and its floating work; past it the thread is
 *   terminated and replaced, so a stuck action cannot poison the next invocation (§5.5).
 * - **Results** follow OpenWhisk: a dictionary (`return;` counts as `{}`), `{ error }` is an
 *   application error, anything else a developer error with OpenWhisk's message.
 * - **Logs**: console output per activation, `<ISO time> stdout: <line>`, also sent to the pino
 *   logger at debug level.
 */
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { MAX_TIMER_MS } from '../subscriptions.ts'
import { ActionThread, ThreadPool, type DoneMessage } from './thread-pool.ts'
import { NOT_A_DICTIONARY, type LogEntry } from './thread-protocol.ts'
import type { Activation, ActivationStatus, AppBuilderAction, InvocationCause } from './types.ts'

export interface InvokerOptions {
  /** → `__OW_NAMESPACE`, and the first segment of `__OW_ACTION_NAME`. */
  namespace: string
  /** → `__OW_API_HOST`: storehook's own URL, known only once the server listens. */
  apiHost: () => string
  /** → `__OW_API_KEY`. */
  apiKey: string
  logger: Logger
  /** Worker threads per action at most (default 16): concurrent invocations beyond it wait. */
  maxThreadsPerAction?: number
  /** An idle warm thread is ended after this long (default 5 min). */
  idleMs?: number
  /** An activation's logs stop being recorded past this many bytes (default 1 MiB), with a marker line. */
  maxLogBytes?: number
}

export interface InvokeOptions {
  cause: InvocationCause
  /** Default: 32 random hex digits, as OpenWhisk makes them. */
  activationId?: string
  runId?: number
  attempt?: number
  /** Aborting (storehook stopping) cuts the invocation off: developer error, thread terminated. */
  signal?: AbortSignal
}

export const DEFAULT_MAX_THREADS_PER_ACTION = 16
export const DEFAULT_IDLE_MS = 5 * 60_000
export const DEFAULT_MAX_LOG_BYTES = 1024 * 1024
/** I/O Runtime's default memory limit; the thread's V8 heap is capped at the action's `memoryMb` or this. */
export const DEFAULT_MEMORY_MB = 256
export const ACTION_VERSION = '0.0.1'
/** Storehook's variables an action thread may see; everything else of its environment stays out. */
const SAFE_ENV = ['PATH', 'HOME', 'TZ', 'LANG', 'NODE_ENV']

/** How an invocation on a thread ended, seen from the main thread. */
type RunEnd =
  | { kind: 'done'; message: DoneMessage }
  | { kind: 'cut'; error: string; returned: boolean; reason: 'timeout' | 'stopped' | 'crashed' | 'refused' }

/**
 * Invokes App Builder actions, each invocation on its own worker thread.
 *
 * @example
 * const invoker = new Invoker({ namespace: 'my-ns', apiHost: () => 'http://127.0.0.1:3000', apiKey: 'key', logger })
 * const activation = await invoker.invoke(action, { data: { value: order } }, { cause: 'event' })
 * if (activation.status !== 'success') console.error(activation.result.error, activation.logs)
 * await invoker.close()
 */
export class Invoker {
  private readonly pools = new Map<string, ThreadPool>()
  /** Cuts off each invocation running on a thread (for close()). */
  private readonly inFlight = new Set<(error: string) => void>()
  private closed = false
  private readonly maxThreads: number
  private readonly idleMs: number
  private readonly maxLogBytes: number
  private readonly options: InvokerOptions

  constructor(options: InvokerOptions) {
    this.options = options
    this.maxThreads = options.maxThreadsPerAction ?? DEFAULT_MAX_THREADS_PER_ACTION
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS
    this.maxLogBytes = options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES
    if (!Number.isInteger(this.maxThreads) || this.maxThreads < 1) throw new RangeError(`maxThreadsPerAction: expected a positive integer, got ${this.maxThreads}`)
  }

  /**
   * Runs `main(params)` of the action once and resolves with its activation. Never rejects: every
   * failure of the action (or of its thread) is an activation with status `action developer error`.
   */
  async invoke(action: AppBuilderAction, params: Record<string, unknown>, options: InvokeOptions): Promise<Activation> {
    const activationId = options.activationId ?? randomBytes(16).toString('hex')
    const record = (start: number, status: ActivationStatus, result: Record<string, unknown>, logs: string[], leftWork: boolean): Activation => ({
      activationId,
      action: action.fullName,
      cause: options.cause,
      start,
      end: Date.now(),
      status,
      result,
      logs,
      leftWork,
      ...(options.runId === undefined ? {} : { runId: options.runId }),
      ...(options.attempt === undefined ? {} : { attempt: options.attempt }),
    })
    const notRun = (error: string) => record(Date.now(), 'action developer error', { error }, [], false)
    if (this.closed) return notRun(stoppedMessage('storehook is shutting down'))
    const pool = this.poolFor(action)
    const thread = await pool.acquire(options.signal)
    if (!thread) return notRun(stoppedMessage(this.closed ? 'storehook is shutting down' : reasonOf(options.signal?.reason)))
    const failed = await thread.ready
    if (failed !== null || this.closed) {
      pool.release(thread, false)
      return notRun(this.closed ? stoppedMessage('storehook is shutting down') : `The action's thread could not start: ${failed}`)
    }

    const start = Date.now()
    const logs = new ActivationLogs(this.options.logger, activationId, action.fullName, this.maxLogBytes)
    const env = this.invocationEnv(action, activationId, start + action.timeoutMs)
    const end = await this.runOn(thread, { params, env, maxLogBytes: this.maxLogBytes, waitForFloatingWork: action.waitForFloatingWork !== false }, action, logs, options.signal)
    pool.release(thread, end.kind === 'done' && !end.message.retire)

    if (end.kind === 'cut') {
      if (end.reason === 'timeout' || end.reason === 'crashed') {
        this.options.logger.warn({ action: action.fullName, activationId, err: end.error }, `action ${action.fullName}: ${end.error}; its thread is replaced`)
      }
      if (end.returned) {
        this.options.logger.warn({ action: action.fullName, activationId }, `action ${action.fullName} returned while work it started was still running; that work was cut off unfinished`)
      }
      return record(start, 'action developer error', { error: end.error }, logs.close(), end.returned)
    }
    const { outcome, leftWork, waitedMs } = end.message
    if (leftWork && action.waitForFloatingWork === false) {
      this.options.logger.debug({ action: action.fullName, activationId }, `action ${action.fullName} returned while work it started was still running; not waited for (waitForFloatingWork: false)`)
    } else if (leftWork) {
      this.options.logger.warn(
        { action: action.fullName, activationId, waitedMs },
        `action ${action.fullName} returned while work it started was still running; storehook waited for it (${waitedMs} ms)`,
      )
    }
    if (outcome.kind === 'developer-error') return record(start, 'action developer error', { error: outcome.message }, logs.close(), leftWork)
    // The one parse of the result, as OpenWhisk's invoker parses the container's answer.
    const result: unknown = JSON.parse(outcome.json)
    if (!isDictionary(result)) return record(start, 'action developer error', { error: NOT_A_DICTIONARY }, logs.close(), leftWork)
    return record(start, Object.hasOwn(result, 'error') ? 'application error' : 'success', result, logs.close(), leftWork)
  }

  /** Ends every thread; invocations in flight or waiting resolve as developer errors. */
  async close(): Promise<void> {
    this.closed = true
    for (const cut of [...this.inFlight]) cut(stoppedMessage('storehook is shutting down'))
    await Promise.all([...this.pools.values()].map((pool) => pool.close()))
    this.pools.clear()
  }

  private poolFor(action: AppBuilderAction): ThreadPool {
    const memoryMb = action.memoryMb ?? DEFAULT_MEMORY_MB
    // A changed file or limit is a different action: its threads must not serve it.
    const key = `${action.fullName}\0${action.file}\0${memoryMb}`
    let pool = this.pools.get(key)
    if (!pool) {
      const env = baseEnv()
      pool = new ThreadPool({
        max: this.maxThreads,
        idleMs: this.idleMs,
        spawn: () => new ActionThread({ action: action.fullName, file: action.file, env, memoryMb, logger: this.options.logger }),
      })
      this.pools.set(key, pool)
    }
    return pool
  }

  /** OpenWhisk's per-activation variables (apache/openwhisk docs/actions.md). */
  private invocationEnv(action: AppBuilderAction, activationId: string, deadline: number): Record<string, string> {
    return {
      __OW_ACTION_NAME: `/${this.options.namespace}/${action.package}/${action.name}`,
      __OW_ACTION_VERSION: ACTION_VERSION,
      __OW_ACTIVATION_ID: activationId,
      __OW_DEADLINE: String(deadline),
      __OW_NAMESPACE: this.options.namespace,
      __OW_API_HOST: this.options.apiHost(),
      __OW_API_KEY: this.options.apiKey,
    }
  }

  /** Runs one invocation on a thread, cutting it off at the time limit, on abort or on close(). */
  private runOn(
    thread: ActionThread,
    message: Parameters<ActionThread['run']>[0],
    action: AppBuilderAction,
    logs: ActivationLogs,
    signal: AbortSignal | undefined,
  ): Promise<RunEnd> {
    return new Promise((resolve) => {
      let returned = false
      let ended = false
      const finish = (end: RunEnd) => {
        if (ended) return
        ended = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.inFlight.delete(cut)
        resolve(end)
      }
      const cut = (error: string, reason: 'timeout' | 'stopped' = 'stopped') => finish({ kind: 'cut', error, returned, reason })
      const onAbort = () => cut(stoppedMessage(reasonOf(signal!.reason)))
      const timer = setTimeout(() => cut(`The action exceeded its time limits of ${action.timeoutMs} milliseconds.`, 'timeout'), Math.min(action.timeoutMs, MAX_TIMER_MS))
      this.inFlight.add(cut)
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      try {
        thread.run(message, {
          logs: (entries, truncated) => logs.add(entries, truncated),
          returned: () => (returned = true),
          done: (done) => finish({ kind: 'done', message: done }),
          crashed: (reason) => finish({ kind: 'cut', error: `The action did not produce a valid response and exited unexpectedly: ${reason}`, returned, reason: 'crashed' }),
        })
      } catch (error) {
        // Only a params object that structured clone refuses (a function in it) gets here: the caller's doing.
        finish({ kind: 'cut', error: `The action's params could not be passed to it: ${(error as Error).message}`, returned, reason: 'refused' })
      }
    })
  }
}

/** The console output of one activation, in OpenWhisk's format, also sent to the logger. */
class ActivationLogs {
  private readonly lines: string[] = []
  private truncatedAt: number | null = null
  private readonly debug: boolean
  private readonly logger: Logger
  private readonly activationId: string
  private readonly action: string
  private readonly maxBytes: number

  constructor(logger: Logger, activationId: string, action: string, maxBytes: number) {
    this.logger = logger
    this.activationId = activationId
    this.action = action
    this.maxBytes = maxBytes
    this.debug = logger.isLevelEnabled('debug')
  }

  add(entries: LogEntry[], truncated: boolean): void {
    for (const { stream, time, line } of entries) {
      this.lines.push(`${new Date(time).toISOString()} ${stream}: ${line}`)
      if (this.debug) this.logger.debug({ activationId: this.activationId, action: this.action, stream }, line)
    }
    if (truncated) this.truncatedAt ??= Date.now()
  }

  close(): string[] {
    if (this.truncatedAt !== null) {
      // The limit is enforced in the thread, in bytes of text; the marker is OpenWhisk's message.
      this.lines.push(`${new Date(this.truncatedAt).toISOString()} stderr: Logs were truncated because the total bytes size exceeds the limit of ${this.maxBytes} bytes.`)
    }
    return this.lines
  }
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of SAFE_ENV) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

function stoppedMessage(reason: string): string {
  return `The action was stopped before it finished: ${reason}.`
}

function reasonOf(reason: unknown): string {
  if (reason instanceof Error) return reason.message.replace(/\.$/, '')
  return reason === undefined ? 'aborted' : String(reason)
}

/** A JSON object: what OpenWhisk calls a dictionary. */
function isDictionary(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
