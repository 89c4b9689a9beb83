/**
 * @module
 * How users write cron actions: `onCron(pattern, handler)`. A cron action is an ordinary action
 * (retries, timeouts, concurrency, the admin API) whose events come from the built-in source
 * `cron`, one per tick, addressed to it alone: no other action receives its ticks, and it receives
 * nothing else.
 */
import { Cron } from 'croner'
import { ConfigError } from '../core/errors.ts'
import { onEvent, type ActionDefinition, type ActionHandler, type ActionOptions } from './action.ts'
import { CRON_SOURCE } from './cron.ts'
import { SCHEDULE_SOURCE } from './schedule.ts'
import { loadAction, type LoadedAction } from './subscriptions.ts'

const CRON = Symbol.for('storehook.cron')

/** What a cron action's event carries. */
export interface CronPayload {
  /** The tick this run is for, as an ISO 8601 instant (UTC): the scheduled time, not when it ran. */
  tick: string
  /** The action's cron pattern. */
  cron: string
}

export interface CronOptions extends Omit<ActionOptions<CronPayload>, 'types' | 'source' | 'version'> {
  /** IANA time zone the pattern is read in (`Europe/Berlin`); default: the process's. */
  timezone?: string
  /**
   * On start, run the most recent tick at or before now if no process ran it (it was missed while
   * none was running). Only that one, however many were missed; default false: missed ticks are
   * not run.
   */
  catchUp?: boolean
}

/** A cron action's schedule, checked: see {@link onCron}. */
export interface CronSchedule {
  pattern: string
  timezone?: string
  catchUp: boolean
}

type CronDefinition = ActionDefinition<CronPayload> & { readonly [CRON]: { pattern: string; timezone?: string; catchUp?: boolean } }

/**
 * Declares a cron action: `handler` runs once per tick of `pattern`, however many storehook
 * processes share the store. Patterns have 5 fields (minute precision), or 6 with seconds first;
 * `@hourly`, `@daily` and the like work too. Export it as the default export of a file in
 * `actions/`, like `onEvent`. Each tick is a stored event from the source `cron`, with id
 * `<action>@<tick>` and type `cron.<action>`; its run is retried like any run (ticks do not wait
 * for each other unless you give an `orderingKey`).
 *
 * @example
 * // actions/sync-stock.ts: every 15 minutes, Berlin time
 * export default onCron('*\/15 * * * *', async (event, ctx) => {
 *   ctx.logger.info({ tick: event.payload.tick }, 'syncing stock')
 *   await ctx.connections.erp.post('stock-sync', { json: { since: event.payload.tick } })
 * }, { timezone: 'Europe/Berlin', retry: { maxAttempts: 3 } })
 */
export function onCron(pattern: string, handler: ActionHandler<CronPayload>, options: CronOptions = {}): ActionDefinition<CronPayload> {
  if (typeof pattern !== 'string') throw new TypeError("onCron(pattern, handler): pattern must be a string such as '*/5 * * * *'")
  const { timezone, catchUp, ...actionOptions } = options
  // `types` is set when the action is loaded and its name known (`cron.<name>`).
  const definition = onEvent<CronPayload>({ ...actionOptions, types: [] }, handler)
  const spec = { pattern, ...(timezone !== undefined ? { timezone } : {}), ...(catchUp !== undefined ? { catchUp } : {}) }
  return Object.assign(definition, { [CRON]: spec }) as CronDefinition
}

/** The cron spec of an action made with {@link onCron}, or null for any other. */
function cronSpecOf(definition: ActionDefinition): CronDefinition[typeof CRON] | null {
  return (definition as Partial<CronDefinition>)[CRON] ?? null
}

/**
 * For the project loader: loads an action made with `onEvent` or `onCron`. An `onEvent` action may
 * name the configured sources and the built-in `schedule`; an `onCron` action gets the type
 * `cron.<name>` and the source `cron`, and its schedule is checked.
 * @throws ConfigError for what `loadAction` refuses, a pattern or time zone croner cannot read, or a bad `catchUp`.
 */
export function loadProjectAction(name: string, file: string, definition: ActionDefinition, sourceNames: string[]): LoadedAction {
  const spec = cronSpecOf(definition)
  if (spec === null) return loadAction(name, file, definition, [...sourceNames, SCHEDULE_SOURCE])
  const where = `${file} (action "${name}")`
  if (spec.catchUp !== undefined && typeof spec.catchUp !== 'boolean') {
    throw new ConfigError(`${where}: catchUp: expected true or false`)
  }
  try {
    // Reading the next tick also checks the time zone, which croner resolves lazily.
    new Cron(spec.pattern, { paused: true, ...(spec.timezone !== undefined ? { timezone: spec.timezone } : {}) }).nextRun()
  } catch (error) {
    throw new ConfigError(`${where}: cron "${spec.pattern}"${spec.timezone ? ` (timezone ${spec.timezone})` : ''}: ${(error as Error).message}`)
  }
  const options = { ...definition.options, types: [cronType(name)], source: CRON_SOURCE }
  const action = loadAction(name, file, { ...definition, options }, [CRON_SOURCE])
  const cron: CronSchedule = { pattern: spec.pattern, ...(spec.timezone !== undefined ? { timezone: spec.timezone } : {}), catchUp: spec.catchUp ?? false }
  return { ...action, cron }
}

/** The event type of a cron action's ticks. */
export function cronType(action: string): string {
  return `cron.${action}`
}
