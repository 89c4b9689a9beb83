/**
 * @module
 * One handler thread, seen from the main thread: the Worker (thread-entry.ts), the calls it is
 * running, and whether its event loop still answers. While it has calls, a thread whose loop is
 * free sends a beat every few tens of milliseconds (or an answer), so one that has calls and stays
 * silent for long is stuck — in a handler's `while (true)`, or a long synchronous computation. The
 * pool (handler-threads.ts) routes around such a thread and terminates it.
 */
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { SourceRequest } from '../../sources/source.ts'
import { HANDLER_THREAD_MARK, receiveError, type CallMessage, type HandlerThreadData, type MainMessage, type ThreadMessage } from './thread-protocol.ts'

// The entry is thread-entry.ts when storehook runs from source, thread-entry.js once built.
const EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
const THREAD_ENTRY = new URL(`./thread-entry${EXTENSION}`, import.meta.url)

export interface HandlerThreadOptions {
  projectDir: string
  /** Cap of the thread's V8 heap; beyond it the thread ends (not the process). */
  memoryMb: number
  logger: Logger
  /** The thread said something (it may be usable again). */
  onHeard: () => void
  /** Called once when the thread ends, whatever the reason, with the resources of the calls it was running. */
  onExit: (reason: string, inFlight: string[]) => void
}

/** What a handler call needs besides the request. */
export interface ThreadCall {
  resource: string
  /** Epoch ms, the handler's `ctx.deadline`. */
  deadline: number
  /** The resource's deadline, for the abort reason's message. */
  deadlineMs: number
  inputDigest: string
}

interface Running {
  resource: string
  /** Not yet past its deadline: counts toward the thread's load. */
  current: boolean
  /** `performance.now()` when its deadline passed (and the abort was sent). */
  abortedAt?: number
  resolve: (value: unknown) => void
  reject: (error: Error) => void
}

export class HandlerThread {
  /** Resolves once the project is loaded in the thread (null), or with why it could not be. */
  readonly ready: Promise<string | null>
  /** Calls in flight that are not past their deadline. */
  active = 0
  /** `performance.now()` when the thread last sent anything. */
  lastHeardAt = performance.now()
  /** When the thread last went from no calls to some: its silence counts from there at the earliest. */
  #busySince = 0
  #state: 'starting' | 'ready' | 'ended' = 'starting'
  #markReady: (failure: string | null) => void = () => {}
  readonly #calls = new Map<number, Running>()
  #nextId = 0
  #endReason: string | null = null
  readonly #worker: Worker
  readonly #options: HandlerThreadOptions

  constructor(options: HandlerThreadOptions) {
    this.#options = options
    this.ready = new Promise((resolve) => (this.#markReady = resolve))
    const workerData: HandlerThreadData = { mark: HANDLER_THREAD_MARK, projectDir: options.projectDir, logLevel: options.logger.level }
    this.#worker = new Worker(THREAD_ENTRY, { workerData, resourceLimits: { maxOldGenerationSizeMb: options.memoryMb }, name: 'storehook external handlers' })
    // Calls in flight keep the process alive through their requests; an idle thread must not.
    this.#worker.unref()
    this.#worker.on('message', (message: ThreadMessage) => this.#receive(message))
    this.#worker.on('error', (error) => {
      this.#endReason ??= `it ended with an uncaught error: ${error.message}`
    })
    this.#worker.on('exit', (code) => {
      const reason = this.#endReason ?? `it ended with exit code ${code} (process.exit in a handler?)`
      this.#state = 'ended'
      this.#markReady(reason)
      const inFlight = this.resourcesInFlight()
      const error = new Error(`the external resource handler's thread ended: ${reason}`)
      for (const call of this.#calls.values()) call.reject(error)
      this.#calls.clear()
      this.active = 0
      this.#options.onExit(reason, inFlight)
    })
  }

  get isReady(): boolean {
    return this.#state === 'ready'
  }

  /** For the admin API: which thread, how far along, how busy, whether its loop answers. */
  status(now = performance.now()): { threadId: number; state: 'starting' | 'ready' | 'ended'; calls: number; lateCalls: number; silentMs: number } {
    return { threadId: this.#worker.threadId, state: this.alive ? this.#state : 'ended', calls: this.active, lateCalls: this.lateCalls, silentMs: Math.round(this.silentMs(now)) }
  }

  /**
   * The thread's used V8 heap in bytes, or null when it is not running. V8 answers through an
   * interrupt, so a thread blocked in a loop answers too.
   */
  async heapUsedBytes(): Promise<number | null> {
    if (!this.alive || this.#state !== 'ready') return null
    return this.#worker.getHeapStatistics().then((stats) => stats.used_heap_size, () => null)
  }

  /** Still starting or ready: neither ended nor told to end. */
  get alive(): boolean {
    return this.#state !== 'ended' && this.#endReason === null
  }

  /** How long the thread has been silent while it had calls to run (0 without calls). */
  silentMs(now = performance.now()): number {
    return this.#calls.size === 0 ? 0 : now - Math.max(this.lastHeardAt, this.#busySince)
  }

  /**
   * The longest a call still running has been past its deadline (0 when none is), with its
   * resource: the likely culprit when the thread is stuck.
   */
  late(now = performance.now()): { ms: number; resource: string | null } {
    let late = { ms: 0, resource: null as string | null }
    for (const call of this.#calls.values()) {
      if (call.abortedAt !== undefined && now - call.abortedAt > late.ms) late = { ms: now - call.abortedAt, resource: call.resource }
    }
    return late
  }

  /**
   * Stops awaiting the late answers of calls more than `afterMs` past their deadline: their result
   * rejects (nothing of the call stays referenced from here) and the thread is told to forget them.
   */
  forgetLate(afterMs: number, now = performance.now()): void {
    for (const [id, call] of this.#calls) {
      if (call.abortedAt === undefined || now - call.abortedAt < afterMs) continue
      this.#calls.delete(id)
      call.reject(new Error(`no late answer within ${afterMs} ms after the deadline`))
      this.#post({ type: 'forget', id })
    }
  }

  /** Calls past their deadline whose late answer is still awaited. */
  get lateCalls(): number {
    return this.#calls.size - this.active
  }

  /** The resources of the calls running on this thread, for the log line that explains its end. */
  resourcesInFlight(): string[] {
    return [...this.#calls.values()].map((call) => call.resource)
  }

  /**
   * Hands a verified, parsed-once call to the thread.
   * @returns its id (for {@link abort}) and the handler's result, rejected with the error it threw
   *   (an `ExternalResourceError` stays one) or with why the thread ended
   */
  call(request: SourceRequest, call: ThreadCall): { id: number; result: Promise<unknown> } {
    const id = ++this.#nextId
    if (this.#state === 'ended') return { id, result: Promise.reject(new Error(`the external resource handler's thread ended: ${this.#endReason}`)) }
    if (this.#calls.size === 0) this.#busySince = performance.now()
    const result = new Promise<unknown>((resolve, reject) => this.#calls.set(id, { resource: call.resource, current: true, resolve, reject }))
    this.active += 1
    // A copy of exactly the body, moved to the thread: cloning the view itself would copy the
    // whole buffer it is a slice of (a socket read's, tens of KiB).
    const body = new Uint8Array(request.body)
    const message: CallMessage = {
      type: 'call',
      id,
      resource: call.resource,
      body,
      url: request.url.href,
      headers: [...request.headers],
      deadline: call.deadline,
      inputDigest: call.inputDigest,
    }
    this.#post(message, [body.buffer])
    return { id, result }
  }

  /**
   * The call's deadline passed: abort its signal in the thread. It no longer counts toward the
   * thread's load; its late result still arrives (for the last-good cache).
   */
  abort(id: number, deadlineMs: number): void {
    const call = this.#calls.get(id)
    if (!call) return
    if (call.current) {
      call.current = false
      this.active -= 1
    }
    call.abortedAt = performance.now()
    this.#post({ type: 'abort', id, deadlineMs })
  }

  /** Cuts the thread off, wherever its code is (a blocked loop included); its calls reject. */
  terminate(reason: string): Promise<void> {
    this.#endReason ??= reason
    return this.#worker.terminate().then(() => {})
  }

  #post(message: MainMessage, transfer: ArrayBuffer[] = []): void {
    if (this.#state !== 'ended') this.#worker.postMessage(message, transfer)
  }

  #receive(message: ThreadMessage): void {
    this.lastHeardAt = performance.now()
    this.#options.onHeard()
    switch (message.type) {
      case 'beat':
        return
      case 'done': {
        const call = this.#calls.get(message.id)
        if (!call) return
        this.#calls.delete(message.id)
        if (call.current) this.active -= 1
        if (message.result.kind === 'value') call.resolve(message.result.value)
        else call.reject(receiveError(message.result.error))
        return
      }
      case 'log':
        return relayLog(this.#options.logger, message.line)
      case 'ready':
        this.#state = 'ready'
        this.#markReady(null)
        return this.#options.onHeard()
      case 'failed':
        this.#markReady(message.message)
        void this.terminate(`the project could not be loaded in it: ${message.message}`)
    }
  }
}

/** A pino line written in the thread, logged again through the main logger (its level, its destination). */
function relayLog(logger: Logger, line: string): void {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    logger.info({ line }, 'unreadable log line from an external resource handler thread')
    return
  }
  const { level, time: _time, pid: _pid, hostname: _hostname, name: _name, msg, ...fields } = entry
  const label = logger.levels.labels[level as number] ?? 'info'
  ;(logger[label as 'info'] ?? logger.info).call(logger, fields, typeof msg === 'string' ? msg : '')
}
