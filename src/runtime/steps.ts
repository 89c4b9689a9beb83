/**
 * @module
 * Durable steps: `ctx.step(name, fn)` runs `fn` once per run, stores its result, and hands that
 * result back on every later attempt (a retry, or the same run after a restart) without running
 * `fn` again. A run that fetched an order from Commerce and then failed on the ERP retries only
 * the ERP call.
 *
 * A step's result must survive JSON as it is: it is what later attempts get, so a value JSON
 * would change (a Date, a Map, a class instance, NaN, `undefined` in an array) is refused at the
 * step, as the action's bug, rather than handed back different on a retry.
 */
import type { Logger } from 'pino'
import { PermanentError } from '../core/errors.ts'
import type { Step, Store } from '../store/store.ts'
import { inSpan } from './tracing.ts'

/** A step was declared or returned something storehook cannot keep: the action's code must change. */
export class StepError extends PermanentError {
  constructor(message: string) {
    super(message)
    this.name = 'StepError'
  }
}

/** See {@link ActionContext.step}. */
export type StepFunction = <T>(name: string, fn: () => T | Promise<T>) => Promise<Awaited<T>>

/**
 * The `ctx.step` of one attempt. The run's stored steps are read once, at the first step.
 *
 * @example
 * const step = makeStep({ store, runId: 7, attempt: 2, logger: () => logger })
 * const order = await step('fetch order', () => commerce.getOrder(id)) // stored by attempt 1: not fetched again
 * @param options.logger the attempt's logger, made when first needed
 */
export function makeStep(options: { store: Store; runId: number; attempt: number; logger: () => Logger }): StepFunction {
  const { store, runId, attempt, logger } = options
  let stored: Promise<Map<string, Step>> | undefined
  const usedThisAttempt = new Set<string>()

  return async function step<T>(name: string, fn: () => T | Promise<T>): Promise<Awaited<T>> {
    if (typeof name !== 'string' || name === '') throw new StepError('ctx.step(name, fn): name must be a non-empty string')
    if (typeof fn !== 'function') throw new StepError(`ctx.step("${name}", fn): fn must be a function`)
    if (usedThisAttempt.has(name)) {
      throw new StepError(`step "${name}" already ran in this attempt: give each step of a run its own name (e.g. \`erp:\${line.id}\`)`)
    }
    usedThisAttempt.add(name)

    const attributes = () => ({ 'storehook.step.name': name, 'storehook.run.id': runId, 'storehook.run.attempt': attempt })
    return inSpan(`step ${name}`, { attributes }, async (span) => {
      stored ??= store.listSteps(runId).then((steps) => new Map(steps.map((s) => [s.name, s])))
      const done = (await stored).get(name)
      if (done) {
        span.setAttribute('storehook.step.stored', true)
        logger().debug({ step: name, finishedInAttempt: done.attempt }, 'step already done: its stored result is used')
        return done.result as Awaited<T>
      }
      const result = await fn()
      const problem = unstorable(result, 'the result')
      if (problem) {
        throw new StepError(
          `step "${name}" returned ${problem}, which cannot be stored as it is: return plain data ` +
            '(strings, finite numbers, booleans, null, arrays and plain objects), e.g. date.toISOString()',
        )
      }
      const text = result === undefined ? '' : JSON.stringify(result)
      // If another attempt stored this step first (its lease was lost mid-step), continue from its result.
      const saved = await store.saveStep({ runId, name, attempt, result: text, finishedAt: Date.now() })
      return saved.result as Awaited<T>
    })
  }
}

/** Describes the first part of `value` JSON would not give back unchanged, or null. */
function unstorable(value: unknown, path: string, seen = new Set<object>()): string | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${value} at ${path}`
  if (value === undefined) return path === 'the result' ? null : `undefined at ${path}`
  if (typeof value !== 'object') return `a ${typeof value} at ${path}`
  if (seen.has(value)) return `a circular reference at ${path}`
  seen.add(value)
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const problem = unstorable(value[i], `${path}[${i}]`, seen)
        if (problem) return problem
      }
      return null
    }
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) return `a ${proto?.constructor?.name ?? 'non-plain object'} at ${path}`
    for (const [key, field] of Object.entries(value)) {
      // JSON drops an undefined property, and reading it back gives undefined again: harmless.
      if (field === undefined) continue
      const problem = unstorable(field, `${path}.${key}`, seen)
      if (problem) return problem
    }
    return null
  } finally {
    seen.delete(value)
  }
}
