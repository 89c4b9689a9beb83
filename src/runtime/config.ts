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
  }
  server?: {
    /** Largest request body accepted, in bytes (default 1 MiB); larger ones get 413. */
    bodyLimitBytes?: number
  }
  store?: {
    /** SQLite durability: `full` (default) survives power loss, `normal` only process crashes. */
    synchronous?: 'full' | 'normal'
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
