/**
 * @module
 * The flow-control options every connection kind accepts (`http`, `adobe-commerce`,
 * `commerce-layer`): spread {@link flowConfigFields} into the kind's `z.object`. All are
 * optional and have no zod default, so a config that sets none parses exactly as before.
 */
import { z } from 'zod'

/** `breaker: true` (or `{}`) means these. */
export const DEFAULT_BREAKER = { failures: 5, probeAfterMs: 10_000 } as const

/**
 * Whether a connection that says nothing about `breaker` has one. Off until the worker pauses
 * the runs a breaker refuses instead of spending their retries on it (issue 5); then on.
 */
export const BREAKER_BY_DEFAULT = false

/** Each slot of a budget is a row in the shared PostgreSQL table: keep budgets to what a target can mean. */
const MAX_BUDGET = 10_000

export const rateLimitSchema = z
  .object({
    /** At most this many requests reach the target… */
    requests: z.number().int().positive().max(MAX_BUDGET),
    /** …in any window of this many milliseconds, wherever network delays put them. */
    perMs: z.number().int().positive().max(86_400_000),
  })
  .strict()

export const breakerSchema = z.union([
  z.boolean(),
  z
    .object({
      /** Consecutive failures (no answer, or a 5xx or 429) that open the breaker. Default 5. */
      failures: z.number().int().positive().default(DEFAULT_BREAKER.failures),
      /** How long it stays open before one call is let through as a probe. Default 10000. */
      probeAfterMs: z.number().int().positive().max(86_400_000).default(DEFAULT_BREAKER.probeAfterMs),
    })
    .strict(),
])

export const flowConfigFields = {
  /**
   * The target's rate budget, e.g. `{ requests: 10, perMs: 1000 }`: every call takes a slot
   * before it is sent and keeps it until `perMs` after its answer (or failure), so the target
   * never sees more than `requests` in any window of `perMs`. Calls wait for a slot (their
   * `signal` can end the wait); they never fail for lack of one. A 429 halves the budget (at
   * least 1) and pauses it until `Retry-After` (one window without it); each window without a
   * 429 then gives one slot back. Shared by every process on a PostgreSQL store.
   */
  rateLimit: rateLimitSchema.optional(),
  /**
   * At most this many requests in flight at once; the rest wait in arrival order. Shared by
   * every process on a PostgreSQL store (per process on SQLite, where there is one process).
   */
  maxConcurrency: z.number().int().positive().max(MAX_BUDGET).optional(),
  /**
   * Stops calling a target that keeps failing: after `failures` consecutive failures (no answer,
   * 5xx, 429) calls throw `TargetPausedError` without being sent, until a probe, one call let
   * through every `probeAfterMs`, gets an answer. `true` or `{}` for the defaults
   * ({@link DEFAULT_BREAKER}), `false` for none. Per process.
   */
  breaker: breakerSchema.optional(),
}

const flowSchema = z.object(flowConfigFields)

/** The flow options once parsed. */
export type FlowConfig = z.output<typeof flowSchema>

/** The breaker a config asks for, defaults filled in; `undefined` for none. */
export function breakerOptions(config: FlowConfig): { failures: number; probeAfterMs: number } | undefined {
  const breaker = config.breaker ?? BREAKER_BY_DEFAULT
  if (breaker === false) return undefined
  if (breaker === true) return { ...DEFAULT_BREAKER }
  return { failures: breaker.failures, probeAfterMs: breaker.probeAfterMs }
}
