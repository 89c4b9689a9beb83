/**
 * @module
 * The user's side of a project's configuration: `defineConfig` and `env`. Secrets and URLs never
 * sit in code; `env('NAME')` marks where the environment (or the project's `.env`) fills them in
 * when the project loads.
 */
import type { ActionDefinition } from './action.ts'

const ENV_REF = Symbol.for('storehook.env')

/** A placeholder for an environment variable, resolved when the project loads. */
export interface EnvRef {
  readonly [ENV_REF]: true
  readonly name: string
  readonly fallback: string | undefined
}

/**
 * Reads a setting from the environment (or the project's `.env`) when the project loads. A
 * variable that is unset and has no fallback stops the start with an error naming it.
 *
 * @example
 * sources: { webhooks: { kind: 'standard-webhooks', secrets: env('WEBHOOK_SECRET') } }
 */
export function env(name: string, fallback?: string): string {
  // Typed as string so it fits any config field a string fits; the loader replaces it.
  return { [ENV_REF]: true, name, fallback } as unknown as string
}

export function isEnvRef(value: unknown): value is EnvRef {
  return typeof value === 'object' && value !== null && (value as Partial<EnvRef>)[ENV_REF] === true
}

/** A source's configuration: its `kind` picks the platform, the rest is that kind's options. */
export interface SourceConfig {
  kind: string
  [option: string]: unknown
}

/** A connection's configuration: its `kind` picks the client, the rest is that kind's options. */
export interface ConnectionConfig {
  kind: string
  [option: string]: unknown
}

export interface ProjectConfig {
  /** Inbound endpoints, by name: `POST /events/<name>`. */
  sources?: Record<string, SourceConfig>
  /** Outbound clients, by name: `ctx.connections.<name>` in actions. */
  connections?: Record<string, ConnectionConfig>
  /** Actions defined inline, by name, besides those in the `actions/` directory. */
  actions?: Record<string, ActionDefinition>
  worker?: {
    /** Runs executing at once in this process, over all actions (default 16). */
    concurrency?: number
    /** Longest sleep between looks for due runs when nothing wakes the worker (default 1000 ms). */
    pollIntervalMs?: number
    /** How long a stopping process lets in-flight runs finish before releasing them (default 10 s). */
    shutdownGraceMs?: number
    /**
     * How long past an attempt's timeout its run stays leased to this process (default 30 s).
     * After a crash, the run is taken up again once the lease ends: timeoutMs + leaseMarginMs.
     */
    leaseMarginMs?: number
    /**
     * How often runs paused on a connection whose breaker is closed in this process are resumed
     * (default 30 s): runs paused before a restart, or by another process (PostgreSQL).
     */
    pausedSweepMs?: number
    /** Lines of `ctx.logger` and console output kept per attempt in the run's log (default 1000); the rest are counted. */
    logLinesPerAttempt?: number
    /** Characters kept of a run log line's message and of its fields' JSON (default 4000). */
    logLineLength?: number
  }
  server?: {
    /** Largest request body accepted, in bytes (default 1 MiB); larger ones get 413. */
    bodyLimitBytes?: number
  }
  store?: {
    /** SQLite durability: `full` (default) survives power loss, `normal` only process crashes. */
    synchronous?: 'full' | 'normal'
  }
  /**
   * How long stored records are kept (docs/retention.md). Days may be fractional; `null` or `0`
   * keeps for ever. Nothing of an unfinished run is ever removed.
   */
  retention?: {
    /** Event payloads and headers, step results, run log lines, activation results and output (default 30). */
    payloadsDays?: number | null
    /** Events with their finished runs, attempts and outbound calls; activations (default 90; at least `payloadsDays`). */
    metadataDays?: number | null
    /** External resource calls (default 30). */
    externalCallsDays?: number | null
    /** How often the retention pass runs, in ms (default 1 hour; the first runs at start). */
    intervalMs?: number
    /** Rows one step of the pass examines, in one short transaction (default 500). */
    batchSize?: number
  }
  /** Where external-resource handlers run (each resource may set its own `isolation`). */
  external?: {
    /** `thread` (default): on handler threads, where a handler blocking its event loop is cut off; `inline`: on the main thread. */
    isolation?: 'thread' | 'inline'
    /** Handler threads per process (default 2). */
    threads?: number
    /** Each handler thread's heap cap in MiB (default 256): a leaking handler ends its thread, not the process. */
    threadMemoryMb?: number
    /** How long a thread that does not answer after a deadline has before it is terminated and replaced (default 1000 ms). */
    graceMs?: number
    /**
     * How long after a deadline a handler thread's late answer is still awaited, to fill the
     * last-good cache (default 60 000 ms); then the call is forgotten, so a handler that never
     * settles holds no memory of storehook's.
     */
    lateAnswerMs?: number
  }
  /** For a project with an App Builder `app.config.yaml` beside this file. */
  appBuilder?: {
    /** Retry policy of the event-consuming actions (default: 25 attempts over days). */
    retry?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number }
  }
}

/**
 * Declares a project's configuration; the default export of `storehook.config.ts`.
 *
 * @example
 * import { defineConfig, env } from 'storehook'
 * export default defineConfig({
 *   sources: { webhooks: { kind: 'standard-webhooks', secrets: env('WEBHOOK_SECRET') } },
 *   connections: { erp: { kind: 'http', baseUrl: env('ERP_URL') } },
 * })
 */
export function defineConfig(config: ProjectConfig): ProjectConfig {
  return config
}
