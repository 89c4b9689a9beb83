/**
 * @module
 * Which run the code running now belongs to, through AsyncLocalStorage: the worker enters a scope
 * around each attempt's handler, and console output (run-console.ts) and outbound calls
 * ({@link recordOutboundCall}) made anywhere beneath it, however deep or concurrent, find their
 * run without being passed it. Concurrent runs never mix: each has its own scope.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { ConnectionDeps, OutboundCall } from '../connections/connection.ts'
import type { AttemptLog } from './run-log.ts'

export interface RunScope {
  readonly log: AttemptLog
  /** Records an outbound call the run made (see run-records.ts). */
  outbound(call: OutboundCall): void
}

const scopes = new AsyncLocalStorage<RunScope>()

/** Runs `fn` (and everything it starts) as part of `scope`'s run. */
export function runInScope<T>(scope: RunScope, fn: () => T): T {
  return scopes.run(scope, fn)
}

/** The scope of the run the calling code belongs to, if any. */
export function currentRunScope(): RunScope | undefined {
  return scopes.getStore()
}

/**
 * Records an outbound call for the run that made it; a call made outside any run (an external
 * resource's handler, a health probe) is not a run's.
 */
export function recordOutboundCall(call: OutboundCall): void {
  scopes.getStore()?.outbound(call)
}

/**
 * The deps the project loader creates connections with: their `onCall` also records each call
 * for the run that made it, whatever else the caller hooked there.
 *
 * @example
 * const erp = httpConnection.create('erp', config, recordingCalls({ onCall: (call) => logger.debug({ call }) }))
 */
export function recordingCalls(deps: ConnectionDeps): ConnectionDeps {
  const { onCall } = deps
  if (!onCall) return { ...deps, onCall: recordOutboundCall }
  return {
    ...deps,
    onCall(call) {
      recordOutboundCall(call)
      onCall(call)
    },
  }
}
