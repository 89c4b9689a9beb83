/**
 * @module
 * How users write actions: `onEvent(selector, handler)`.
 */
import type { Logger } from 'pino'
import type { StoredEvent } from '../core/types.ts'
import type { RetryPolicy } from '../core/retry.ts'
import type { EventPayloads, PayloadOf } from './event-payloads.ts'
import type { LoopGuard } from './loop-guard.ts'
import type { ScheduleFunction } from './schedule.ts'
import type { VersionOption } from './stale-guard.ts'
import type { StepFunction } from './steps.ts'

const ACTION = Symbol.for('storehook.action')

/** What an action receives: one verified, stored event. */
export type ActionEvent<Payload = any> = Omit<StoredEvent, 'payload'> & { payload: Payload }

/**
 * The configured connections, by name. Augment it to type your own:
 *
 * @example
 * declare module 'storehook' { interface Connections { erp: HttpClient } }
 */
export interface Connections {
  [name: string]: any
}

export interface ActionContext {
  /**
   * Logs with the run's id, action and event id attached. Each line (from `info` up, or lower
   * when `LOG_LEVEL` is) is also kept in the run's log, redacted, per attempt: the run's page.
   */
  logger: Logger
  connections: Connections
  /** Aborted when the attempt times out or the process stops; pass it to outbound calls. */
  signal: AbortSignal
  /** This attempt's number, 1-based. */
  attempt: number
  /** Attempts this run may make in all. */
  maxAttempts: number
  runId: number
  /**
   * The same for every attempt and every replay of this action on this event, and different for
   * another action on the same event: send it as the target's `Idempotency-Key` so a retry after
   * a lost answer is not applied twice. `<action>:<source>:<event id>`, percent-encoded.
   */
  idempotencyKey: string
  /**
   * Loop suppression for two-way sync: `remember(key, value)` what this run wrote (kept only if
   * the run succeeds), and `isEcho(key, value)` in the action syncing the other way.
   *
   * @example
   * // ERP → Commerce: after writing the stock level
   * ctx.loopGuard.remember(`stock:${sku}`, { sku, qty })
   * // Commerce → ERP: skip the event Commerce emits for that very write
   * if (await ctx.loopGuard.isEcho(`stock:${sku}`, { sku, qty })) return
   */
  loopGuard: LoopGuard
  /**
   * Schedules a follow-up: stores an event of `type` from the built-in source `schedule`, whose
   * runs (one per action consuming that type) start at `at` or after `delayMs`, not before. It is
   * durable at once: a restart meanwhile loses nothing. Scheduling is idempotent per run and `key`
   * (default: the type): a retried attempt schedules nothing new, so schedule before or after the
   * call that may fail, as suits. Several follow-ups of one type from one run need distinct keys.
   * A type no action consumes is refused. While it waits, a follow-up run holds its ordering key.
   *
   * @example
   * // actions/order-to-erp.ts: send the order, then check its status in 10 minutes
   * await erp.post('orders', { json: order, idempotencyKey: ctx.idempotencyKey })
   * await ctx.schedule('erp.check-order', { orderId: order.id }, { delayMs: 10 * 60_000 })
   * // actions/check-order.ts
   * export default onEvent({ types: 'erp.check-order', source: 'schedule' }, async (event, ctx) => { … })
   */
  schedule: ScheduleFunction
  /**
   * A durable step: runs `fn` once per run and stores its result; later attempts of the run (a
   * retry, or after a restart) get the stored result without running `fn` again, and continue
   * with the first unfinished step. Names must be unique within a run. The result must be plain
   * JSON data (a Date, Map or class instance is refused at the step). A replay is a new run and
   * runs every step again.
   *
   * @example
   * const order = await ctx.step('fetch order', () => commerce.getOrder(event.payload.entity_id))
   * // Return plain data: the status, not the response object (its Headers cannot be stored).
   * await ctx.step('send to ERP', async () => (await erp.post('orders', { json: order, idempotencyKey: ctx.idempotencyKey })).status)
   */
  step: StepFunction
}

/** See {@link ActionContext.idempotencyKey}. */
export function idempotencyKey(action: string, source: string, eventId: string): string {
  return [action, source, eventId].map(encodeURIComponent).join(':')
}

export type ActionHandler<Payload = any> = (event: ActionEvent<Payload>, ctx: ActionContext) => unknown

export interface ActionOptions<Payload = any> {
  /** Event types to consume; `*` matches any run of characters (`order.*`, `*`). */
  types: string | string[]
  /** Only events from these sources (by config name); default: all sources. */
  source?: string | string[]
  /**
   * Runs with the same key execute one at a time, in event order. A function of the event, or a
   * dot path into its payload (`'order.id'`). No key (undefined, null, '') means no ordering.
   */
  orderingKey?: string | ((event: ActionEvent<Payload>) => string | number | null | undefined)
  /** Retry policy; unset fields keep the default (25 attempts over days). */
  retry?: Partial<RetryPolicy>
  /** Runs of this action executing at once in this process (default: the worker's limit). */
  concurrency?: number
  /** An attempt still running after this long fails as timed out and is retried (default 60 s). */
  timeoutMs?: number
  /**
   * The stale-update guard (needs `orderingKey`): where the event carries its entity's version, a
   * dot path into the payload (`'product.updated_at'`) or a function of the event. A run whose
   * event is older than the last version this action delivered for the same key is not run but
   * finished as `skipped`, so a late retry or an old event never overwrites newer data. Numbers
   * compare as numbers, timestamps as instants, anything else as strings; an event without a
   * version always runs.
   *
   * @example
   * onEvent({ types: 'catalog_product_save_after', orderingKey: 'sku', version: 'updated_at' }, handler)
   */
  version?: VersionOption<Payload>
}

export interface ActionDefinition<Payload = any> {
  readonly [ACTION]: true
  readonly options: ActionOptions<Payload>
  readonly handler: ActionHandler<Payload>
}

/**
 * `ActionOptions` whose `types` decide the payload: what `onEvent` takes to type the handler
 * from the subscription.
 */
export type SubscriptionOptions<Type extends string> = Omit<ActionOptions<PayloadOf<Type>>, 'types'> & { types: Type | readonly Type[] }

/**
 * Declares an action: which events it consumes and what it does with each. Export it as the
 * default export of a file in the project's `actions/` directory; the file's path names it.
 * A handler that returns finishes the run; one that throws is retried, unless it throws a
 * `PermanentError` (or a connection reports a 4xx that retrying cannot fix), which makes the run
 * dead at once.
 *
 * The handler's `event.payload` is typed from the event types subscribed to when they are in
 * {@link EventPayloads} (the common Adobe Commerce events, Commerce Layer webhook topics, and
 * what you add); otherwise it is `any`, or what you give: `onEvent<MyPayload>(…)`.
 *
 * @example
 * export default onEvent({ types: 'observer.sales_order_save_after', orderingKey: 'data.value.entity_id' }, async (event, ctx) => {
 *   const order = event.payload.data.value // CommerceOrderData: entity_id, increment_id, items, …
 *   await ctx.connections.erp.post('orders', { json: order, idempotencyKey: ctx.idempotencyKey })
 * })
 */
export function onEvent<const Type extends string>(
  selector: Type | readonly Type[] | SubscriptionOptions<Type>,
  handler: ActionHandler<PayloadOf<Type>>,
): ActionDefinition<PayloadOf<Type>>
/**
 * Declares an action whose payload type you give (or `any`), whatever the types it consumes.
 *
 * @example
 * export default onEvent<{ data: { order_id: string } }>('order.*', async (event, ctx) => {
 *   ctx.logger.info({ orderId: event.payload.data.order_id }, 'order event')
 * })
 */
export function onEvent<Payload = any>(selector: string | string[] | ActionOptions<Payload>, handler: ActionHandler<Payload>): ActionDefinition<Payload>
export function onEvent(selector: string | readonly string[] | SubscriptionOptions<string>, handler: ActionHandler): ActionDefinition {
  const options = (typeof selector === 'string' || Array.isArray(selector) ? { types: selector } : selector) as ActionOptions
  if (typeof handler !== 'function') throw new TypeError('onEvent(selector, handler): handler must be a function')
  return { [ACTION]: true, options, handler }
}

export function isActionDefinition(value: unknown): value is ActionDefinition {
  return typeof value === 'object' && value !== null && (value as Partial<ActionDefinition>)[ACTION] === true
}
