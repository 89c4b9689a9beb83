/**
 * @module
 * `run_logs` and `outbound_calls` rows as either store returns them (the two schemas name the
 * columns alike), and their mapping to {@link RunLogLine} and {@link OutboundCallRecord}.
 */
import type { OutboundCallRecord, RunLogLine } from './store.ts'

export function toRunLogLine(row: Record<string, unknown>): RunLogLine {
  return {
    seq: Number(row.seq),
    runId: Number(row.run_id),
    attempt: Number(row.attempt),
    at: Number(row.at),
    level: String(row.level),
    message: String(row.message),
    fields: row.fields === null ? null : parseFields(String(row.fields)),
  }
}

/** Fields written by another tool may not be a JSON object: they are kept, as text. */
function parseFields(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
    return { value }
  } catch {
    return { text }
  }
}

export function toOutboundCall(row: Record<string, unknown>): OutboundCallRecord {
  return {
    seq: Number(row.seq),
    runId: Number(row.run_id),
    attempt: Number(row.attempt),
    connection: String(row.connection),
    method: String(row.method),
    url: String(row.url),
    status: row.status === null ? null : Number(row.status),
    startedAt: Number(row.started_at),
    durationMs: Number(row.duration_ms),
    error: row.error === null ? null : String(row.error),
    traceId: row.trace_id === null ? null : String(row.trace_id),
  }
}
