/**
 * @module
 * Flow control for connections: rate budgets, concurrency caps, breakers (docs/flow-control.md).
 * A connection kind spreads {@link flowConfigFields} into its config schema, gets its control
 * with {@link connectionFlow}, sends every request through `control.run(…)`, and marks the
 * client it returns with {@link bindFlow} so the admin API can find its state.
 *
 * @example
 * // in a connection kind's create(name, config, deps)
 * const flow = connectionFlow(name, 'http', config, deps)
 * const client = { get: (path) => flow.run(() => send('GET', path), { signal }) }
 * return bindFlow(client, flow)
 */
import type { ConnectionDeps } from '../connection.ts'
import type { FlowConfig } from './config.ts'
import type { ConnectionFlowStatus, FlowControl } from './control.ts'
import { FlowRegistry } from './registry.ts'

export { BREAKER_BY_DEFAULT, breakerSchema, DEFAULT_BREAKER, flowConfigFields, rateLimitSchema, type FlowConfig } from './config.ts'
export { FlowControl, type Answered, type ConnectionFlowStatus, type RunOptions } from './control.ts'
export { FlowRegistry, type BreakerListener } from './registry.ts'
export type { BreakerState } from './breaker.ts'
export { MemorySlotBackend } from './memory-slots.ts'

/**
 * The flow control of connection `name`, registered in `deps.flow` (or, without one, in a
 * registry of its own: a connection created outside a runtime still keeps its budget).
 */
export function connectionFlow(name: string, kind: string, config: FlowConfig & { timeoutMs: number }, deps: ConnectionDeps): FlowControl {
  return (deps.flow ?? new FlowRegistry()).control(name, kind, config, config.timeoutMs)
}

const controls = new WeakMap<object, FlowControl>()

/** Marks `client` as sending through `control`; returns `client`. */
export function bindFlow<C extends object>(client: C, control: FlowControl): C {
  controls.set(client, control)
  return client
}

/** The flow control a connection client sends through, if it is one storehook made. */
export function flowOf(client: unknown): FlowControl | undefined {
  return typeof client === 'object' && client !== null ? controls.get(client) : undefined
}

/**
 * The flow state of each connection of a project (`project.connections`), in config order.
 *
 * @example
 * connectionFlowStatus(runtime.project.connections) // [{ connection: 'erp', kind: 'http', rateLimit: { … }, breaker: { state: 'closed', … }, … }]
 */
export function connectionFlowStatus(connections: Record<string, unknown>): ConnectionFlowStatus[] {
  return Object.values(connections).flatMap((client) => flowOf(client)?.status() ?? [])
}

/** The registry the connections of a project were created with (the first one found). */
export function flowRegistryOf(connections: Record<string, unknown>): FlowRegistry | undefined {
  for (const client of Object.values(connections)) {
    const registry = flowOf(client)?.registry
    if (registry !== undefined) return registry
  }
  return undefined
}
