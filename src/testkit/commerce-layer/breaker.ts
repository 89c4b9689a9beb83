/**
 * @module
 * Commerce Layer's circuit breaker as it lives on a resource (reference/commerce-layer.md §2, §4,
 * §5): the owner's `circuit_state` (`closed` by default, or `open`) and `circuit_failure_count`
 * attributes, which the API shows and sorts on.
 * - External resources: open once calls failed consecutively *more than* 30 times; e-mail at 10
 *   consecutive failures and when the breaker opens. While open, calls are skipped and each
 *   skipped call still counts as a failure (the per-kind pages: "the breaker counter increments").
 * - Webhooks: "after 30 consecutive failures (retry failures included) no further calls"; e-mail
 *   after 5.
 * - Any success resets the count to zero. There is no half-open state and no timer: only
 *   `_reset_circuit` closes an open breaker.
 */

/** How one family of owners counts. */
export interface BreakerRule {
  /** The breaker opens when the count reaches this. External resources: 31 (above 30). Webhooks: 30. */
  opensAt: number
  /** A notification is sent when the count reaches this. External resources: 10. Webhooks: 5. */
  warnAt: number
  /** Whether a call skipped by the open breaker still adds to the count. */
  countSkipped: boolean
}

export const EXTERNAL_RESOURCE_BREAKER: BreakerRule = { opensAt: 31, warnAt: 10, countSkipped: true }
export const WEBHOOK_BREAKER: BreakerRule = { opensAt: 30, warnAt: 5, countSkipped: false }

/** The attributes the breaker lives in: the owner resource's own. */
export interface CircuitFields {
  circuit_state?: unknown
  circuit_failure_count?: unknown
  [attribute: string]: unknown
}

/** What Commerce Layer would e-mail the organization's owner about. */
export interface BreakerNotification {
  /** `warning`: the count reached the warning threshold; `open`: the breaker opened. */
  kind: 'warning' | 'open'
  owner: { type: string; id: string }
  failureCount: number
  at: number
}

export type BreakerEvent = Omit<BreakerNotification, 'owner' | 'at'> | undefined

export function isOpen(fields: CircuitFields): boolean {
  return fields.circuit_state === 'open'
}

export function failureCount(fields: CircuitFields): number {
  return typeof fields.circuit_failure_count === 'number' ? fields.circuit_failure_count : 0
}

/** A call succeeded: the count goes back to zero (the breaker is closed, or the call would have been skipped). */
export function recordSuccess(fields: CircuitFields): void {
  fields.circuit_failure_count = 0
}

/**
 * A call failed, or was skipped by the open breaker. Returns the notification this failure
 * causes, if any.
 *
 * @example
 * const fields = { circuit_state: 'closed', circuit_failure_count: 30 }
 * recordFailure(fields, EXTERNAL_RESOURCE_BREAKER) // { kind: 'open', failureCount: 31 }
 * fields.circuit_state // 'open'
 */
export function recordFailure(fields: CircuitFields, rule: BreakerRule, skipped = false): BreakerEvent {
  if (skipped && !rule.countSkipped) return undefined
  const count = failureCount(fields) + 1
  fields.circuit_failure_count = count
  if (!isOpen(fields) && count >= rule.opensAt) {
    fields.circuit_state = 'open'
    return { kind: 'open', failureCount: count }
  }
  if (count === rule.warnAt) return { kind: 'warning', failureCount: count }
  return undefined
}

/** `_reset_circuit: true`: closed, and the count back to zero. */
export function resetCircuit(fields: CircuitFields): void {
  fields.circuit_state = 'closed'
  fields.circuit_failure_count = 0
}
