/**
 * @module
 * The action threads of one action, on the main thread: at most `max` at once, each running one
 * invocation at a time, kept warm for `idleMs` after their last one (then ended), handed out most
 * recently used first so the others go cold and end. Invocations beyond `max` wait their turn.
 *
 * A thread is reused only when its invocation ended cleanly; after a time limit, a crash or an
 * uncaught error it is terminated, never reused (it may still be running the user's code, the
 * "stuck container" of apache/openwhisk#5170), and the next invocation gets a fresh one.
 */
import { Worker } from 'node:worker_threads'
import type { Logger } from 'pino'
import { ACTION_THREAD_MARK, type ActionThreadData, type InvokeMessage, type LogEntry, type ThreadMessage } from './thread-protocol.ts'

// The entry is action-thread.ts when storehook runs from source, action-thread.js once built.
const EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
const THREAD_ENTRY = new URL(`./action-thread${EXTENSION}`, import.meta.url)

export type DoneMessage = Extract<ThreadMessage, { type: 'done' }>

/** What the invoker hears about the invocation a thread is running. */
export interface RunListener {
  logs(entries: LogEntry[], truncated: boolean): void
  /** main returned while work it started was still going. */
  returned(): void
  done(message: DoneMessage): void
  /** The thread ended (process.exit, out of memory) before the invocation was done. */
  crashed(reason: string): void
}

export interface ActionThreadOptions {
  /** `<package>/<action>`, for logs. */
  action: string
  file: string
  /** The thread's whole `process.env` to start with. */
  env: Record<string, string>
  /** Cap of the thread's V8 heap; beyond it the thread ends (not the process). */
  memoryMb: number
  logger: Logger
}

/** One worker thread hosting one action (action-thread.ts). */
export class ActionThread {
  /** Set once the thread has ended, or was told to. */
  dead = false
  /** Called once when the thread ends, whatever the reason. */
  onExit: () => void = () => {}
  /**
   * Resolves once the thread is up (null), or with the reason it ended before (its entry failed
   * to load). Starting a thread is storehook's cost, not the action's: its time limit starts after.
   */
  readonly ready: Promise<string | null>
  private markReady: (failure: string | null) => void = () => {}
  private readonly worker: Worker
  private listener: RunListener | null = null
  private invocation = 0
  private failure: string | null = null
  /** An uncaught error hit the thread between invocations: it must not start another one. */
  private broken = false
  private readonly options: ActionThreadOptions

  constructor(options: ActionThreadOptions) {
    this.options = options
    this.ready = new Promise((resolve) => (this.markReady = resolve))
    const workerData: ActionThreadData = { mark: ACTION_THREAD_MARK, file: options.file }
    this.worker = new Worker(THREAD_ENTRY, {
      workerData,
      env: options.env,
      // Output is captured inside the thread; whatever slips past must not reach storehook's own stdout.
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: options.memoryMb },
      name: `storehook action ${options.action}`,
    })
    this.worker.unref()
    for (const stream of ['stdout', 'stderr'] as const) {
      this.worker[stream].on('data', (chunk: Buffer) => options.logger.debug({ action: options.action, stream }, String(chunk).trimEnd()))
    }
    this.worker.on('message', (message: ThreadMessage) => this.receive(message))
    this.worker.on('error', (error) => {
      this.failure ??= error.message
    })
    this.worker.on('exit', (code) => {
      this.dead = true
      const listener = this.listener
      this.listener = null
      const reason = this.failure ?? `the action ended its thread with exit code ${code} (process.exit?)`
      this.markReady(reason)
      if (listener) listener.crashed(reason)
      this.onExit()
    })
  }

  /** May run another invocation. */
  get usable(): boolean {
    return !this.dead && !this.broken
  }

  /**
   * Starts an invocation; the listener hears of it until {@link release}. Throws if params cannot
   * be cloned. A thread that has already ended reports a crash at once.
   */
  run(message: Omit<InvokeMessage, 'type' | 'id'>, listener: RunListener): void {
    if (this.dead) return listener.crashed(this.failure ?? 'the action thread had already ended')
    const id = ++this.invocation
    this.worker.postMessage({ type: 'invoke', id, ...message } satisfies InvokeMessage)
    this.listener = listener
    // A thread at work keeps storehook's process alive, as a request in flight would.
    this.worker.ref()
  }

  /** The invocation is over for the invoker: later messages of it are ignored. */
  release(): void {
    this.listener = null
    if (!this.dead) this.worker.unref()
  }

  terminate(): Promise<void> {
    this.dead = true
    this.listener = null
    return this.worker.terminate().then(() => {})
  }

  private receive(message: ThreadMessage): void {
    if (message.type === 'ready') return this.markReady(null)
    if (message.type === 'idle-error') {
      this.options.logger.warn({ action: this.options.action, err: message.message }, `action ${this.options.action} failed between invocations (uncaught error in a timer or callback it left); its thread is replaced`)
      this.broken = true
      // An invocation may have been handed to it meanwhile: it goes on, and the thread goes after it.
      if (!this.listener) void this.terminate()
      return
    }
    if (message.type === 'logs' && message.invocation === null) {
      for (const entry of message.entries) this.options.logger.debug({ action: this.options.action, stream: entry.stream }, entry.line)
      return
    }
    const listener = this.listener
    if (!listener || message.invocation !== this.invocation) return
    if (message.type === 'logs') listener.logs(message.entries, message.truncated)
    else if (message.type === 'returned') listener.returned()
    else listener.done(message)
  }
}

export interface ThreadPoolOptions {
  /** Threads at most. */
  max: number
  /** An idle thread is ended after this long. */
  idleMs: number
  spawn: () => ActionThread
}

/**
 * The threads of one action.
 *
 * @example
 * const pool = new ThreadPool({ max: 16, idleMs: 300_000, spawn: () => new ActionThread(options) })
 * const thread = await pool.acquire(signal)
 * if (thread) {
 *   thread.run({ params, env, maxLogBytes, waitForFloatingWork: true }, listener)
 *   // … once the listener heard `done`:
 *   pool.release(thread, !done.retire)
 * }
 * await pool.close()
 */
export class ThreadPool {
  private readonly all = new Set<ActionThread>()
  /** Idle threads, most recently used last. */
  private readonly idle: { thread: ActionThread; timer: NodeJS.Timeout }[] = []
  private readonly waiters: ((thread: ActionThread | null) => void)[] = []
  private closed = false
  private readonly options: ThreadPoolOptions

  constructor(options: ThreadPoolOptions) {
    this.options = options
  }

  /** Threads alive (busy and idle). */
  get size(): number {
    return this.all.size
  }

  /**
   * A thread for one invocation: a warm one if any is idle, a new one if under the limit, else the
   * next one released. Null if the signal aborts first or the pool is closed.
   */
  acquire(signal?: AbortSignal): Promise<ActionThread | null> {
    if (this.closed || signal?.aborted) return Promise.resolve(null)
    for (let warm = this.idle.pop(); warm; warm = this.idle.pop()) {
      clearTimeout(warm.timer)
      if (warm.thread.usable) return Promise.resolve(warm.thread)
      this.discard(warm.thread)
    }
    if (this.all.size < this.options.max) return Promise.resolve(this.spawn())
    return new Promise((resolve) => {
      const waiter = (thread: ActionThread | null) => {
        signal?.removeEventListener('abort', onAbort)
        resolve(thread)
      }
      const onAbort = () => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        resolve(null)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiters.push(waiter)
    })
  }

  /** Gives a thread back after an invocation: kept warm if `reusable`, else terminated and replaced. */
  release(thread: ActionThread, reusable: boolean): void {
    thread.release()
    if (!reusable || !thread.usable || this.closed) {
      this.discard(thread)
      return
    }
    const waiter = this.waiters.shift()
    if (waiter) return waiter(thread)
    const timer = setTimeout(() => this.discard(thread), this.options.idleMs)
    timer.unref()
    this.idle.push({ thread, timer })
  }

  /** Terminates every thread; invocations waiting for one get none. */
  async close(): Promise<void> {
    this.closed = true
    for (const waiter of this.waiters.splice(0)) waiter(null)
    for (const { timer } of this.idle.splice(0)) clearTimeout(timer)
    await Promise.all([...this.all].map((thread) => thread.terminate()))
    this.all.clear()
  }

  private spawn(): ActionThread {
    const thread = this.options.spawn()
    this.all.add(thread)
    // However it ends (idle timeout, crash, idle error, termination), its place frees up.
    thread.onExit = () => this.forget(thread)
    return thread
  }

  private discard(thread: ActionThread): void {
    this.forget(thread)
    if (!thread.dead) void thread.terminate()
  }

  private forget(thread: ActionThread): void {
    if (!this.all.delete(thread)) return
    const index = this.idle.findIndex((entry) => entry.thread === thread)
    if (index >= 0) clearTimeout(this.idle.splice(index, 1)[0]!.timer)
    // A place is free: the first waiting invocation gets a fresh thread.
    const waiter = this.closed ? undefined : this.waiters.shift()
    if (waiter) waiter(this.spawn())
  }
}
