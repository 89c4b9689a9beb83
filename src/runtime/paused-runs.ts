/**
 * @module
 * Resumes runs that were paused because a connection's breaker was open (see `TargetPausedError`
 * and the `paused` run state). The breaker is the connection's (connections/flow/breaker.ts); the
 * paused runs are the store's. This joins the two:
 * - breaker half-open and free to probe → resume the oldest paused run, whose call is the probe;
 * - breaker closed → resume every run paused on that connection, oldest first (claims go by id);
 * - every `sweepMs`, for connections whose breaker is closed here → resume what is paused on them:
 *   runs paused before a restart, or by another process (PostgreSQL) that stopped, or whose
 *   breaker closed there. If the target is in fact still down, this process's breaker opens
 *   again after its threshold and they pause again: a few calls, not a lost run.
 */
import type { Logger } from 'pino'
import type { BreakerState, FlowRegistry } from '../connections/flow/index.ts'
import type { Store } from '../store/store.ts'

export const DEFAULT_PAUSED_SWEEP_MS = 30_000

export class PausedRuns {
  readonly #store: Store
  readonly #flow: FlowRegistry
  readonly #connections: string[]
  readonly #wake: () => void
  readonly #logger: Logger
  readonly #sweepMs: number
  #timer: NodeJS.Timeout | undefined
  #unsubscribe: (() => void) | undefined

  /**
   * @param options.connections the names of the project's connections
   * @param options.wake called after runs were resumed (the worker's `wake`)
   * @example
   * const paused = new PausedRuns({ store, flow, connections: ['erp'], wake: () => worker.wake(), logger })
   * paused.start() // … paused.stop()
   */
  constructor(options: { store: Store; flow: FlowRegistry; connections: string[]; wake: () => void; logger: Logger; sweepMs?: number }) {
    this.#store = options.store
    this.#flow = options.flow
    this.#connections = options.connections
    this.#wake = options.wake
    this.#logger = options.logger
    this.#sweepMs = options.sweepMs ?? DEFAULT_PAUSED_SWEEP_MS
  }

  start(): void {
    this.#unsubscribe = this.#flow.onChange((connection, state) => this.#changed(connection, state))
    this.#sweep()
  }

  stop(): void {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #changed(connection: string, state: BreakerState): void {
    if (state === 'closed') void this.#resume(connection, undefined)
    else if (state === 'half-open' && this.#flow.canProbe(connection)) void this.#resume(connection, 1)
  }

  #sweep(): void {
    const closed = this.#connections.filter((connection) => this.#flow.state(connection) === 'closed')
    void Promise.all(closed.map((connection) => this.#resume(connection, undefined))).finally(() => {
      if (this.#unsubscribe === undefined) return
      this.#timer = setTimeout(() => this.#sweep(), this.#sweepMs).unref()
    })
  }

  async #resume(connection: string, limit: number | undefined): Promise<void> {
    try {
      const resumed = await this.#store.resumePausedRuns(connection, limit)
      if (resumed === 0) return
      this.#logger.info({ connection, resumed }, limit === 1 ? `resumed a paused run to probe "${connection}"` : `resumed ${resumed} runs paused on "${connection}"`)
      this.#wake()
    } catch (error) {
      // The next change or sweep tries again; the runs stay paused meanwhile, not lost.
      this.#logger.error({ err: error, connection }, 'could not resume paused runs; will try again')
    }
  }
}
