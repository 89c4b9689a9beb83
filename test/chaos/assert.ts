/**
 * @module
 * The assertion every fault case ends with (the must-be-zero counters) and a one-line summary for
 * the test's diagnostics.
 */
import assert from 'node:assert/strict'
import { MUST_BE_ZERO, type CaseResult } from './driver.ts'

/** Fails with the whole result when any must-be-zero counter is not 0. */
export function assertKept(result: CaseResult): void {
  for (const field of MUST_BE_ZERO) assert.equal(result[field], 0, `${result.name}: ${field} is ${result[field]}\n${summary(result)}`)
}

export function summary(r: CaseResult): string {
  const rejected = Object.entries(r.rejected).map(([s, n]) => `${s}×${n}`).join(' ') || 'none'
  return (
    `${r.name}: ${r.faults} faults; ${r.sent} sent, ${r.acknowledged} acknowledged, non-2xx ${rejected}, ${r.connectionErrors} connection errors; ` +
    `${r.runs} runs, ${r.erpRequests} ERP requests, ${r.delivered} delivered, ${r.duplicatesSameKey} duplicates under the same key, ` +
    `${r.duplicatesWithoutKey} without; ${r.lost} lost; ${r.ackedWhileNotDurable} acked while not durable; ${r.pastDeadline} past deadline; ` +
    `${r.unexpectedCrashes} crashes; ${r.ms} ms${r.notes.length ? ` (${r.notes.join('; ')})` : ''}`
  )
}
