/**
 * @module
 * The handler threads of one process: a fixed number of long-lived threads that run
 * external-resource handlers (`isolation: 'thread'`), so a handler that blocks its event loop
 * stalls neither the main thread (events, health, the admin API, other resources) nor the answer
 * its caller is owed: the deadline runs on the main thread, which answers with the fallback.
 *
 * A call goes to the ready thread with the fewest calls before their deadline, among those whose
 * loop answers (not silent for more than {@link STALLED_AFTER_MS} while it has calls). When none
 * does, the call waits; the wait counts against its deadline. A thread silent for `graceMs` while
 * a call on it is `graceMs` past its deadline is terminated and a new one takes its place, as is
 * one that ends by itself (out of memory, an uncaught error); the calls it was running fall back
 * at once.
 *
 * Unlike the App Builder's pool (one invocation per thread at a time, for OpenWhisk's isolation
 * of state), a handler thread runs many calls at once, as the main thread did: handlers mostly
 * wait on I/O, and one thread per concurrent call would cost a thread start (about half a second
 * of CPU) for every call left hanging.
 */
import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import { ConfigError } from '../../core/errors.ts'
import type { SourceRequest } from '../../sources/source.ts'
import { HandlerThread, type ThreadCall } from './handler-thread.ts'
import { BEAT_MS } from './thread-protocol.ts'

/** A thread silent for longer while it has calls (four missed beats) is passed over for new calls. */
export const STALLED_AFTER_MS = 4 * BEAT_MS

export interface HandlerThreadsOptions {
  projectDir: string
  /** Threads in this process. */
  size: number
  memoryMb: number
  /** How long after a deadline a thread that does not answer has before it is terminated. */
  graceMs: number
  /** How long after a deadline a late answer is awaited; then the call is forgotten (never sooner than twice `graceMs`). */
  lateAnswerMs: number
  logger: Logger
  /** A thread was replaced: `blocked` (terminated) or `ended` (out of memory, uncaught error, exit). */
  onReplaced?: (reason: 'blocked' | 'ended') => void
}

interface Waiter {
  start: (thread: HandlerThread) => void
  reject: (error: Error) => void
}

/**
 * @example
 * const threads = new HandlerThreads({ projectDir, size: 2, memoryMb: 256, graceMs: 1000, lateAnswerMs: 60_000, logger })
 * await threads.ready()
 * const answer = await threads.call(request, { resource: 'price', deadline, deadlineMs: 2700, inputDigest }, signal)
 * await threads.close()
 */
export class HandlerThreads {
  readonly #threads: HandlerThread[] = []
  readonly #waiting: Waiter[] = []
  /** Threads terminated as blocked: their end is logged when terminating, not again at exit. */
  readonly #cutOff = new WeakSet<HandlerThread>()
  readonly #initial: Promise<string | null>[]
  readonly #watchdog: NodeJS.Timeout
  #closed = false
  readonly #options: HandlerThreadsOptions

  constructor(options: HandlerThreadsOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError(`external.threads: expected a positive integer, got ${options.size}`)
    this.#options = options
    for (let i = 0; i < options.size; i++) this.#threads.push(this.#spawn())
    this.#initial = this.#threads.map((thread) => thread.ready)
    // Checked after the poll phase: what a thread sent while this process was busy is heard first.
    this.#watchdog = setInterval(() => setImmediate(() => this.#sweep()), Math.max(25, Math.floor(options.graceMs / 4)))
    this.#watchdog.unref()
  }

  /**
   * Resolves once every thread has loaded the project.
   * @throws ConfigError when a thread could not load it (the main thread could): a module that
   *   cannot run in a worker thread, such as a native addon that is not context-aware
   */
  async ready(): Promise<void> {
    const failures = (await Promise.all(this.#initial)).filter((failure) => failure !== null)
    if (failures.length > 0) {
      throw new ConfigError(
        `the project's external resources could not be loaded in a handler thread: ${failures[0]}. ` +
          "Fix the module, or run these handlers on the main thread with isolation: 'inline' (per resource, or external.isolation in storehook.config)",
      )
    }
  }

  /**
   * Runs the resource's handler on a thread. Settles when the handler does, or rejects when its
   * thread ends; `signal` aborting (the deadline) aborts the handler's own signal.
   */
  call(request: SourceRequest, call: ThreadCall, signal: AbortSignal): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const start = (thread: HandlerThread) => {
        const { id, result } = thread.call(request, call)
        const onDeadline = () => thread.abort(id, call.deadlineMs)
        signal.addEventListener('abort', onDeadline, { once: true })
        void result.then(resolve, reject).finally(() => signal.removeEventListener('abort', onDeadline))
      }
      const thread = this.#pick()
      if (thread) start(thread)
      else this.#wait(signal, start, reject)
    })
  }

  /** Each thread's status and used heap, and how many calls wait for one. */
  async status(): Promise<{ threads: (ReturnType<HandlerThread['status']> & { heapUsedBytes: number | null })[]; waiting: number }> {
    const now = performance.now()
    const heaps = await this.heapUsedBytes()
    return { threads: this.#threads.map((thread, slot) => ({ ...thread.status(now), heapUsedBytes: heaps[slot]! })), waiting: this.#waiting.length }
  }

  /** Each thread's used V8 heap in bytes (null for one not running), by slot. */
  heapUsedBytes(): Promise<(number | null)[]> {
    return Promise.all(this.#threads.map((thread) => thread.heapUsedBytes()))
  }

  /** Terminates every thread; calls running or waiting reject. */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#watchdog)
    for (const waiter of this.#waiting.splice(0)) waiter.reject(new Error('storehook is shutting down'))
    await Promise.all(this.#threads.map((thread) => thread.terminate('storehook is shutting down')))
  }

  #spawn(): HandlerThread {
    const thread: HandlerThread = new HandlerThread({
      projectDir: this.#options.projectDir,
      memoryMb: this.#options.memoryMb,
      logger: this.#options.logger,
      onHeard: () => this.#drain(),
      onExit: (reason, inFlight) => this.#ended(thread, reason, inFlight),
    })
    return thread
  }

  /**
   * The ready thread that answers, with the fewest current calls; on a tie the first one, so that
   * calls one after another land on the same thread and a handler's in-memory cache (each thread
   * has its own modules) stays warm under light load.
   */
  #pick(): HandlerThread | undefined {
    const now = performance.now()
    let best: HandlerThread | undefined
    for (const thread of this.#threads) {
      if (!thread.isReady || !thread.alive || thread.silentMs(now) > STALLED_AFTER_MS) continue
      if (!best || thread.active < best.active) best = thread
    }
    return best
  }

  /** Queues a call until a thread can take it, or its deadline passes. */
  #wait(signal: AbortSignal, start: (thread: HandlerThread) => void, reject: (error: Error) => void): void {
    if (this.#closed) return reject(new Error('storehook is shutting down'))
    if (!this.#threads.some((thread) => thread.alive)) {
      return reject(new Error('no external resource handler thread is running (the log says why they ended)'))
    }
    const waiter: Waiter = {
      start: (thread) => {
        signal.removeEventListener('abort', onAbort)
        start(thread)
      },
      reject,
    }
    const onAbort = () => {
      this.#waiting.splice(this.#waiting.indexOf(waiter), 1)
      reject(new Error('no external resource handler thread was free before the deadline'))
    }
    signal.addEventListener('abort', onAbort, { once: true })
    this.#waiting.push(waiter)
  }

  #drain(): void {
    while (this.#waiting.length > 0) {
      const thread = this.#pick()
      if (!thread) return
      this.#waiting.shift()!.start(thread)
    }
  }

  #sweep(): void {
    const now = performance.now()
    this.#cutOffStuck(now)
    // Never before a blocked thread would be cut off: a forgotten call no longer marks it stuck.
    const forgetAfterMs = Math.max(this.#options.lateAnswerMs, this.#options.graceMs * 2)
    for (const thread of this.#threads) if (thread.alive) thread.forgetLate(forgetAfterMs, now)
  }

  /** Cuts off each thread that has been silent for `graceMs` while a call on it is `graceMs` past its deadline. */
  #cutOffStuck(now: number): void {
    const { graceMs, logger } = this.#options
    for (const thread of this.#threads) {
      const late = thread.late(now)
      if (!thread.alive || late.ms < graceMs || thread.silentMs(now) < graceMs) continue
      this.#cutOff.add(thread)
      this.#options.onReplaced?.('blocked')
      logger.warn(
        { resource: late.resource, inFlight: thread.resourcesInFlight(), graceMs },
        `external resource ${late.resource}: its handler thread did not respond for ${graceMs} ms after the deadline (a handler blocking its event loop?); the thread is terminated and replaced, and the calls it was running answer with their fallback`,
      )
      void thread.terminate(`it did not respond for ${graceMs} ms after the deadline of a call to external resource ${late.resource}`)
    }
  }

  #ended(thread: HandlerThread, reason: string, inFlight: string[]): void {
    const index = this.#threads.indexOf(thread)
    if (this.#closed || index < 0) return
    if (!this.#cutOff.has(thread)) {
      this.#options.onReplaced?.('ended')
      this.#options.logger.error({ inFlight, reason }, `an external resource handler thread ended: ${reason}; the calls it was running answer with their fallback`)
    }
    void thread.ready.then((failure) => {
      // One that never loaded the project would fail again: its place stays empty (ready() says why).
      if (failure !== null || this.#closed) return
      this.#threads[index] = this.#spawn()
      this.#options.logger.info('a new external resource handler thread is starting')
    })
  }
}
