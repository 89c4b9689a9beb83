/**
 * @module
 * An `external_calls` row as either store returns it (the two schemas name the columns alike), and
 * its mapping to {@link ExternalCall}.
 */
import type { ExternalCall, ExternalCallOutcome, ExternalFallback } from './store.ts'

export function toExternalCall(row: Record<string, unknown>): ExternalCall {
  let answer: unknown = row.answer
  try {
    answer = JSON.parse(String(row.answer))
  } catch {
    // Kept as text: a record is evidence, even when it is not JSON.
  }
  return {
    id: Number(row.id),
    resource: String(row.resource),
    kind: String(row.kind),
    startedAt: Number(row.started_at),
    durationMs: Number(row.duration_ms),
    inputDigest: String(row.input_digest),
    status: Number(row.status),
    outcome: row.outcome as ExternalCallOutcome,
    fallback: row.fallback as ExternalFallback,
    answer,
    error: row.error === null ? null : String(row.error),
  }
}
