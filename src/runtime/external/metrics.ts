/**
 * @module
 * Prometheus metrics of external resources, registered in the runtime's registry beside the
 * event metrics.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { BreakerState, BreakerStatus } from './breaker.ts'

export type ExternalRejectReason = 'signature' | 'malformed' | 'too_large' | 'unknown_resource'

const BREAKER_LEVEL: Record<BreakerState, number> = { closed: 0, warning: 1, open: 2 }

/**
 * @param breakers read at scrape time: each resource's breaker mirror
 * @param threadHeaps read at scrape time: each handler thread's used heap by slot (empty when inline)
 * @example
 * const metrics = createExternalMetrics(runtime.metrics.registry, () => resources.breakers(), () => threads.heapUsedBytes())
 */
export function createExternalMetrics(registry: Registry, breakers: () => Iterable<[string, BreakerStatus]>, threadHeaps: () => Promise<(number | null)[]>) {
  const registers = [registry]
  return {
    calls: new Counter({
      name: 'storehook_external_calls_total',
      help: 'Answered external resource calls, by resource, outcome (answered, refused, timeout, error, invalid) and fallback (none, last-good, static, error).',
      labelNames: ['resource', 'outcome', 'fallback'],
      registers,
    }),
    duration: new Histogram({
      name: 'storehook_external_call_duration_seconds',
      help: 'From the request\'s arrival to its answer being ready, by resource and outcome.',
      labelNames: ['resource', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 3, 5],
      registers,
    }),
    rejected: new Counter({
      name: 'storehook_external_rejected_total',
      help: 'Calls refused before any handler ran, by resource and reason (signature, malformed, too_large, unknown_resource).',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    recordsDropped: new Counter({
      name: 'storehook_external_records_dropped_total',
      help: 'Call records not stored because the store fell behind or failed (the answers were sent).',
      registers,
    }),
    threadsReplaced: new Counter({
      name: 'storehook_external_threads_replaced_total',
      help: 'Handler threads replaced, by reason: blocked (terminated after not answering past a deadline) or ended (out of memory, an uncaught error, process.exit).',
      labelNames: ['reason'],
      registers,
    }),
    consecutiveFailures: new Gauge({
      name: 'storehook_external_consecutive_failures',
      help: 'Failures in a row per resource, as the platform\'s circuit breaker counts them (it opens above 30).',
      labelNames: ['resource'],
      registers,
      collect() {
        for (const [resource, status] of breakers()) this.set({ resource }, status.consecutiveFailures)
      },
    }),
    breakerState: new Gauge({
      name: 'storehook_external_breaker_state',
      help: 'The platform\'s circuit breaker as mirrored per resource: 0 closed, 1 warning (10 failures in a row), 2 presumed open (more than 30).',
      labelNames: ['resource'],
      registers,
      collect() {
        for (const [resource, status] of breakers()) this.set({ resource }, BREAKER_LEVEL[status.state])
      },
    }),
    threadHeapUsed: new Gauge({
      name: 'storehook_external_thread_heap_used_bytes',
      help: 'Used V8 heap of each handler thread, by slot (a replaced thread takes its slot); the process\'s own heap is storehook_process_nodejs_heap_size_used_bytes.',
      labelNames: ['thread'],
      registers,
      async collect() {
        this.reset()
        for (const [slot, bytes] of (await threadHeaps()).entries()) if (bytes !== null) this.set({ thread: String(slot) }, bytes)
      },
    }),
  }
}

export type ExternalMetrics = ReturnType<typeof createExternalMetrics>
