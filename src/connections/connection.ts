/**
 * @module
 * What a connection is: a configured outbound client that actions use to call a platform back
 * (`adobe-commerce`, `commerce-layer`) or to hand a result to a target (`http`, e.g. the ERP).
 * A connection never touches the store; when a call fails it throws an error that
 * `classifyFailure` (core/outcome.ts) understands: a numeric `status` for an answer the target
 * gave, plus `retryAfterMs` when the target asked to wait.
 */
import type { z } from 'zod'
import type { FlowRegistry } from './flow/registry.ts'

/** One outbound call as it is reported to {@link ConnectionDeps.onCall}, for logs and metrics. */
export interface OutboundCall {
  /** The name the user gave the connection in the config. */
  connection: string
  /** Upper-case HTTP method. */
  method: string
  /**
   * The URL called. Its query, when a kind reports it, has the value of every secret-looking
   * parameter (`access_token`, `api_key`, …) replaced by `[redacted]` (`http/redact-url.ts`).
   */
  url: string
  /** The status the target answered, or `null` when it gave no answer (timeout, refused, aborted). */
  status: number | null
  durationMs: number
  /** Why the call failed, when it did; never contains a configured secret. */
  error?: string
}

/** What the runtime hands a connection when it creates it. */
export interface ConnectionDeps {
  /** Called once per outbound call, for logs and metrics. */
  onCall?: (call: OutboundCall) => void
  /**
   * Where the connection registers its flow control (rate budget, concurrency cap, breaker), so
   * the runtime can share slots across processes and watch breakers. Without it a connection
   * keeps its own, in this process.
   */
  flow?: FlowRegistry
}

/**
 * One kind of connection: its config schema (validated when the project loads) and a factory
 * for the client actions receive. Adding a platform means adding one of these in its own folder.
 */
export interface ConnectionKind<Schema extends z.ZodType = z.ZodType, Client = unknown> {
  kind: string
  configSchema: Schema
  create(name: string, config: z.output<Schema>, deps: ConnectionDeps): Client
}
