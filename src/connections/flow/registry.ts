/**
 * @module
 * The flow control of every connection of one project, in one place: it holds where slots live
 * (this process's memory until the store opens and hands over a shared backend), and it is what
 * the runtime asks about breakers (to pause and resume runs), the admin API and metrics read.
 */
import { randomUUID } from 'node:crypto'
import type { SlotBackend } from '../../core/slots.ts'
import type { BreakerState } from './breaker.ts'
import type { FlowConfig } from './config.ts'
import { FlowControl, type ConnectionFlowStatus, type FlowHost } from './control.ts'
import { MemorySlotBackend } from './memory-slots.ts'

export type BreakerListener = (connection: string, state: BreakerState) => void

/**
 * Created before the project loads (connections are created with it, through `ConnectionDeps`),
 * told about the store's shared slots once the store is open.
 *
 * @example
 * const flow = new FlowRegistry()
 * const project = await loadProject(dir, { flow })
 * const store = await openStore(url, options)
 * flow.useBackend(store.slots) // PostgreSQL: budgets shared by every process; SQLite: stays in memory
 * flow.onChange((connection, state) => {
 *   if (state === 'closed') resumeAll(connection)
 *   else if (state === 'half-open' && flow.canProbe(connection)) resumeOne(connection)
 * })
 */
export class FlowRegistry {
  readonly #memory: MemorySlotBackend
  #backend: SlotBackend
  readonly #controls = new Map<string, FlowControl>()
  readonly #changeListeners = new Set<BreakerListener>()
  readonly #throttleListeners = new Set<(connection: string) => void>()
  readonly #now: () => number
  /** Unique per registry, so holders of different processes never collide. */
  readonly #id = randomUUID()
  #holders = 0
  readonly #host: FlowHost

  /** @param options.now the clock breakers and rate budgets read, in ms (default `performance.now`) */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? (() => performance.now())
    this.#memory = new MemorySlotBackend(this.#now)
    this.#backend = this.#memory
    this.#host = {
      backend: () => this.#backend,
      holder: () => `${this.#id}:${++this.#holders}`,
      now: this.#now,
      breakerChanged: (connection, state) => this.#emit(this.#changeListeners, (listener) => listener(connection, state)),
      throttled: (connection) => this.#emit(this.#throttleListeners, (listener) => listener(connection)),
    }
  }

  /**
   * Where slots live from now on: a store's shared backend, or `undefined` for this process's
   * memory (SQLite, which has none). Call it before any call is made: slots held in the old
   * backend are given back there.
   */
  useBackend(backend: SlotBackend | undefined): void {
    this.#backend = backend ?? this.#memory
  }

  /** `memory` or the shared backend's kind (`postgres`). */
  get backendKind(): string {
    return this.#backend.kind
  }

  /**
   * The flow control of a connection, created and registered under its name (a connection
   * created again under the same name replaces the old one). For connection kinds; see
   * `connectionFlow` in ./index.ts.
   */
  control(connection: string, kind: string, config: FlowConfig, timeoutMs: number): FlowControl {
    const control = new FlowControl({ connection, kind, config, timeoutMs, host: this.#host, registry: this })
    this.#controls.set(connection, control)
    return control
  }

  /**
   * Calls `listener` whenever a connection's breaker changes state: `open` (calls are refused
   * with TargetPausedError), `half-open` (one call may go through as a probe; also said again
   * when an abandoned probe frees the probe for another call), `closed` (calls flow again).
   * Returns the function that unsubscribes.
   */
  onChange(listener: BreakerListener): () => void {
    this.#changeListeners.add(listener)
    return () => this.#changeListeners.delete(listener)
  }

  /** Calls `listener` for each 429 a connection receives (for metrics). Returns the unsubscriber. */
  onThrottled(listener: (connection: string) => void): () => void {
    this.#throttleListeners.add(listener)
    return () => this.#throttleListeners.delete(listener)
  }

  /** The breaker state of `connection`; `closed` for a connection without a breaker or unknown. */
  state(connection: string): BreakerState {
    return this.#controls.get(connection)?.breaker?.state ?? 'closed'
  }

  /**
   * True when a call to `connection` made now would be sent as its breaker's probe: the breaker
   * is half-open and no probe is in flight. False when closed (nothing to probe), open, or the
   * probe is taken.
   */
  canProbe(connection: string): boolean {
    return this.#controls.get(connection)?.breaker?.canProbe ?? false
  }

  /** Every registered connection's flow state, in registration order. */
  status(): ConnectionFlowStatus[] {
    return [...this.#controls.values()].map((control) => control.status())
  }

  /** One connection's flow control, if registered. */
  get(connection: string): FlowControl | undefined {
    return this.#controls.get(connection)
  }

  #emit<L>(listeners: Set<L>, call: (listener: L) => void): void {
    for (const listener of listeners) {
      try {
        call(listener)
      } catch {
        // A listener's bug must not break the call that changed the state.
      }
    }
  }
}
