/**
 * @module
 * Helpers of the retention and expunge contract suites (contract-retention.ts, contract-expunge.ts).
 */
import assert from 'node:assert/strict'
import type { AttemptEnd, Store } from './store.ts'

let counter = 0

/** Stores an event with one run of `action` and, unless `end` is null, finishes that run. */
export async function eventWithRun(store: Store, action: string, end: AttemptEnd | null, payload: unknown = { n: counter }, type = 'order.created') {
  const id = `ret_${++counter}_${Math.random().toString(36).slice(2, 8)}`
  const [outcome] = await store.ingest([{ source: 'shop', event: { id, type, payload, headers: { 'webhook-id': id } }, runs: [{ action, orderingKey: null, maxAttempts: 1 }] }])
  const runId = outcome!.runIds[0]!
  if (end) {
    const [claimed] = await store.claimRuns({ workerId: 'w', action, limit: 1, leaseMs: 60_000 })
    assert.equal(claimed?.run.id, runId, 'the run just stored is the one claimed')
    assert.ok(await store.finishAttempt({ runId, workerId: 'w', attempt: 1, end }))
  }
  return { id, seq: outcome!.seq, runId }
}

/** Waits until the clock has moved past `ms`, so that what follows is stored strictly later. */
export async function laterThan(ms: number): Promise<number> {
  while (Date.now() <= ms) await new Promise((resolve) => setTimeout(resolve, 1))
  return Date.now()
}

