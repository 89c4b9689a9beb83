/**
 * @module
 * Prometheus metrics. One registry per runtime (not prom-client's global one), so several
 * runtimes in one process, as in tests, keep separate counts.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { FlowRegistry } from '../connections/flow/index.ts'
import type { Store } from '../store/store.ts'

/** `unavailable`: storehook could not verify just now (a platform's key server was down); the platform retries. */
export type RejectReason = 'signature' | 'malformed' | 'too_large' | 'unknown_source' | 'not_durable' | 'unavailable'

export function createMetrics(store: Store) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'storehook_process_' })
  const registers = [registry]
  /** The connections' flow control, once {@link watchFlow} is called. */
  let flow: FlowRegistry | undefined
  const connectionsThrottled = new Counter({
    name: 'storehook_connection_throttled_total',
    help: 'Answers 429 (rate limited) received from each connection\'s target by this process.',
    labelNames: ['connection'],
    registers,
  })
  return {
    registry,
    connectionsThrottled,
    connectionBreakers: new Gauge({
      name: 'storehook_connection_breaker_state',
      help: 'Breaker of each connection (that has one) in this process: 1 for its state (closed, open, half-open), 0 for the others.',
      labelNames: ['connection', 'state'],
      registers,
      collect() {
        for (const status of flow?.status() ?? []) {
          if (status.breaker === null) continue
          for (const state of ['closed', 'open', 'half-open']) this.set({ connection: status.connection, state }, status.breaker.state === state ? 1 : 0)
        }
      },
    }),
    connectionsWaiting: new Gauge({
      name: 'storehook_connection_waiting_calls',
      help: 'Calls of this process waiting for a rate or concurrency slot of each connection.',
      labelNames: ['connection'],
      registers,
      collect() {
        for (const status of flow?.status() ?? []) this.set({ connection: status.connection }, status.waiting)
      },
    }),
    connectionRates: new Gauge({
      name: 'storehook_connection_rate_limit_effective',
      help: 'Requests per window each rate-limited connection may send now: its rateLimit.requests, lowered after a 429.',
      labelNames: ['connection'],
      registers,
      collect() {
        for (const status of flow?.status() ?? []) if (status.rateLimit) this.set({ connection: status.connection }, status.rateLimit.effective)
      },
    }),
    /**
     * Reports the flow control (breakers, waiting calls, rate budgets, 429s) of the project's
     * connections. Returns the function that stops counting 429s.
     *
     * @example
     * runtime.metrics.watchFlow(flow)
     */
    watchFlow(registryOfFlow: FlowRegistry): () => void {
      flow = registryOfFlow
      return registryOfFlow.onThrottled((connection) => connectionsThrottled.inc({ connection }))
    },
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
    runRecordsDropped: new Counter({
      name: 'storehook_run_records_dropped_total',
      help: "Run log lines and runs' outbound calls not stored because the store fell behind or failed (the runs themselves are unaffected).",
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
