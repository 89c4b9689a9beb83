/**
 * @module
 * Prometheus metrics. One registry per runtime (not prom-client's global one), so several
 * runtimes in one process, as in tests, keep separate counts.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Store } from '../store/store.ts'

/** `unavailable`: storehook could not verify just now (a platform's key server was down); the platform retries. */
export type RejectReason = 'signature' | 'malformed' | 'too_large' | 'unknown_source' | 'not_durable' | 'unavailable'

export function createMetrics(store: Store) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'storehook_process_' })
  const registers = [registry]
  return {
    registry,
    eventsReceived: new Counter({
      name: 'storehook_events_received_total',
      help: 'Events verified and stored, by source and type.',
      labelNames: ['source', 'type'],
      registers,
    }),
    eventsDuplicate: new Counter({
      name: 'storehook_events_duplicate_total',
      help: 'Repeated deliveries of events already stored: acknowledged, not run again.',
      labelNames: ['source', 'type'],
      registers,
    }),
    eventsRejected: new Counter({
      name: 'storehook_events_rejected_total',
      help: 'Inbound requests refused, by source and reason.',
      labelNames: ['source', 'reason'],
      registers,
    }),
    runsFinished: new Counter({
      name: 'storehook_run_attempts_total',
      help: 'Finished attempts by action and outcome (succeeded, retrying, dead, interrupted).',
      labelNames: ['action', 'outcome'],
      registers,
    }),
    runDuration: new Histogram({
      name: 'storehook_run_attempt_duration_seconds',
      help: 'How long attempts took, by action and outcome.',
      labelNames: ['action', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    runs: new Gauge({
      name: 'storehook_runs',
      help: 'Runs in the store by state; pending + retrying is the backlog.',
      labelNames: ['state'],
      registers,
      async collect() {
        for (const [state, count] of Object.entries(await store.countRunsByState())) this.set({ state }, count)
      },
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>
