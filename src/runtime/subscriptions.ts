/**
 * @module
 * Which actions an event goes to, and under which ordering key: decided at ingest, stored with
 * each run, so later changes to the project do not reshuffle runs already promised.
 */
import type { Logger } from 'pino'
import { ConfigError } from '../core/errors.ts'
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../core/retry.ts'
import type { InboundEvent } from '../core/types.ts'
import type { NewRun } from '../store/store.ts'
import type { ActionDefinition, ActionEvent, ActionHandler } from './action.ts'
import type { CronSchedule } from './cron-action.ts'
import { makeVersionReader } from './stale-guard.ts'

export const DEFAULT_ACTION_TIMEOUT_MS = 60_000
/** The longest timer Node.js can set (2^31 - 1 ms, about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** An action as the runtime holds it: options checked and normalized. */
export interface LoadedAction {
  name: string
  /** Where it was defined, for the admin API and error messages. */
  file: string
  types: string[]
  sources: string[] | null
  retry: RetryPolicy
  concurrency: number | null
  timeoutMs: number
  handler: ActionHandler
  matchesType(type: string): boolean
  /** The run's ordering key for this event, or null; throws if the user's function throws. */
  orderingKey(event: Pick<ActionEvent, 'id' | 'type' | 'payload' | 'headers' | 'source'>): string | null
  /** For an action made with `onCron`: its schedule (see cron-action.ts). */
  cron?: CronSchedule
  /** The event's entity version for the stale-update guard; null without `version` or when absent. */
  version: ((event: ActionEvent) => string | null) | null
}

export function loadAction(name: string, file: string, definition: ActionDefinition, sourceNames: string[]): LoadedAction {
  const { options } = definition
  const where = `${file} (action "${name}")`
  const types = typeof options.types === 'string' ? [options.types] : options.types
  if (!Array.isArray(types) || types.length === 0 || types.some((t) => typeof t !== 'string' || t === '')) {
    throw new ConfigError(`${where}: types: expected an event type or a non-empty list of them, such as 'order.created'`)
  }
  const sources = options.source === undefined ? null : typeof options.source === 'string' ? [options.source] : options.source
  for (const source of sources ?? []) {
    if (!sourceNames.includes(source)) {
      throw new ConfigError(`${where}: source: "${source}" is not a configured source (configured: ${sourceNames.join(', ') || 'none'})`)
    }
  }
  const retry = { ...DEFAULT_RETRY_POLICY, ...options.retry }
  for (const field of ['maxAttempts', 'baseDelayMs', 'maxDelayMs'] as const) {
    if (!Number.isInteger(retry[field]) || retry[field] < (field === 'maxAttempts' ? 1 : 0)) {
      throw new ConfigError(`${where}: retry.${field}: expected a ${field === 'maxAttempts' ? 'positive' : 'non-negative'} integer`)
    }
  }
  for (const field of ['concurrency', 'timeoutMs'] as const) {
    const value = options[field]
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new ConfigError(`${where}: ${field}: expected a positive integer`)
    }
  }
  if (options.timeoutMs !== undefined && options.timeoutMs > MAX_TIMER_MS) {
    throw new ConfigError(`${where}: timeoutMs: at most ${MAX_TIMER_MS} (about 24.8 days), the longest timer Node.js can set`)
  }
  if (options.version !== undefined && options.orderingKey === undefined) {
    throw new ConfigError(`${where}: version: needs an orderingKey, the entity whose versions are compared (e.g. orderingKey: 'product.sku')`)
  }
  if (options.version !== undefined && typeof options.version !== 'string' && typeof options.version !== 'function') {
    throw new ConfigError(`${where}: version: expected a dot path into the payload (such as 'product.updated_at') or a function of the event`)
  }
  const patterns = types.map(globToRegExp)
  return {
    name,
    file,
    types,
    sources,
    retry,
    concurrency: options.concurrency ?? null,
    timeoutMs: options.timeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS,
    handler: definition.handler,
    matchesType: (type) => patterns.some((pattern) => pattern.test(type)),
    orderingKey: makeOrderingKey(options.orderingKey),
    version: options.version === undefined ? null : makeVersionReader(options.version),
  }
}

/** The actions subscribed to an event of `type` from `source`. */
export function subscribers(actions: LoadedAction[], source: string, event: InboundEvent): LoadedAction[] {
  return actions.filter((a) => (a.sources === null || a.sources.includes(source)) && a.matchesType(event.type))
}

/**
 * The runs `actions` get for an event: one each, under its ordering key, due at `runAt` (default:
 * at once). Every path that stores events (inbound requests, `ctx.schedule`, cron ticks) plans
 * its runs here, so they are keyed alike.
 */
export function planRuns(
  actions: LoadedAction[],
  source: string,
  event: InboundEvent,
  logger: Pick<Logger, 'error'>,
  runAt?: number,
): NewRun[] {
  return actions.map((action) => {
    let orderingKey: string | null = null
    try {
      orderingKey = action.orderingKey({ ...event, source })
    } catch (error) {
      // The event must still be stored: losing it is worse than running it unordered.
      logger.error({ err: error, action: action.name, eventId: event.id }, 'orderingKey threw; this run has no ordering key')
    }
    return { action: action.name, orderingKey, maxAttempts: action.retry.maxAttempts, ...(runAt !== undefined ? { runAt } : {}) }
  })
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${escaped.join('.*')}$`)
}

function makeOrderingKey(option: ActionDefinition['options']['orderingKey']): LoadedAction['orderingKey'] {
  if (option === undefined) return () => null
  const read =
    typeof option === 'function'
      ? option
      : (event: { payload: unknown }) =>
          option.split('.').reduce<any>((value, key) => (value == null ? undefined : value[key]), event.payload)
  return (event) => {
    const key = read(event as ActionEvent)
    return key === undefined || key === null || key === '' ? null : String(key)
  }
}
