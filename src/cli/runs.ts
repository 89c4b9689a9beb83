/**
 * @module
 * `storehook runs list|show|replay`: the same store the runtime uses, opened directly, so they
 * work whether or not the runtime is up. A replay is picked up by a running worker at its next
 * poll on SQLite, and at once on PostgreSQL (LISTEN/NOTIFY).
 */
import { resolve } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { ConfigError } from '../core/errors.ts'
import { RUN_STATES, type Run, type RunState } from '../core/types.ts'
import { openStore } from '../store/open.ts'
import { isPayloadRemovedError } from '../store/retention.ts'
import { MAX_PAGE_SIZE, type RunFilter, type Store } from '../store/store.ts'
import { printJson as print, startProgress, storeOptions, withExamples } from './options.ts'

export interface StoreOptions {
  project: string
  db?: string
  json?: boolean
}

interface FilterOptions {
  state?: RunState
  action?: string
  source?: string
  type?: string
  since?: number
  until?: number
  limit?: number
}

export function registerRunsCommands(program: Command): void {
  const runs = withExamples(program.command('runs').description('list, inspect and replay runs'), [
    'storehook runs list --state dead',
    'storehook runs show 42',
    'storehook runs replay --dead --action order-to-erp',
  ])
  const withStore = (command: Command) => storeOptions(command).option('--json', 'print JSON for scripts')
  const withFilters = (command: Command) =>
    command
      .option('--action <name>', 'only runs of this action')
      .option('--source <name>', 'only runs of events from this source')
      .option('--type <type>', 'only runs of events of this type')
      .option('--since <time>', 'created at or after (ISO 8601 or epoch ms)', parseTime)
      .option('--until <time>', 'created before (ISO 8601 or epoch ms)', parseTime)

  withExamples(
    withFilters(withStore(runs.command('list').description('list runs, newest first')))
      .option('--state <state>', `one of ${RUN_STATES.join(', ')}`, parseState)
      .option('--limit <n>', `how many (default 50, at most ${MAX_PAGE_SIZE})`, parsePositive),
    [
      'storehook runs list                                  # the last 50 runs of ./.storehook/storehook.db',
      'storehook runs list --state dead --since 2026-01-01T00:00:00Z',
      'storehook runs list --action order-to-erp --limit 10 --json',
      "storehook runs list --db 'postgres://storehook@db/shop?schema=storehook'",
    ],
  )
    .action((options: StoreOptions & FilterOptions) =>
      usingStore(options, async (store) => {
        const found = await store.listRuns(filterFrom(options))
        if (options.json) return print(found)
        console.log(table(found))
      }),
    )

  withExamples(withStore(runs.command('show').description('show one run with its attempts and steps').argument('<id>', 'run id', parsePositive)), [
    'storehook runs show 42',
    'storehook runs show 42 --json                        # { run, attempts, steps }',
  ])
    .action((id: number, options: StoreOptions) =>
      usingStore(options, async (store) => {
        const run = await store.getRun(id)
        if (!run) throw new ConfigError(`run ${id} does not exist in this store`)
        const [attempts, steps] = await Promise.all([store.listAttempts(id), store.listSteps(id)])
        if (options.json) return print({ run, attempts, steps })
        console.log(table([run]))
        for (const a of attempts) {
          const took = a.endedAt === null ? 'unfinished' : `${a.endedAt - a.startedAt} ms`
          console.log(`\nattempt ${a.number} on ${a.workerId} at ${iso(a.startedAt)}: ${a.outcome ?? 'running'} (${took})`)
          for (const step of steps.filter((x) => x.attempt === a.number)) {
            console.log(indent(`step "${step.name}" finished at ${iso(step.finishedAt)}: ${JSON.stringify(step.result) ?? 'undefined'}`))
          }
          if (a.errorStack ?? a.errorMessage) console.log(indent(a.errorStack ?? a.errorMessage ?? ''))
        }
      }),
    )

  withExamples(
    withFilters(withStore(runs.command('replay').description('replay one run, or with --dead every dead run matching the filters')))
      .argument('[id]', 'run id', parsePositive)
      .option('--dead', 'replay every dead run matching the filters (each once), with progress on stderr'),
    [
      'storehook runs replay 42',
      'storehook runs replay --dead                         # every dead run not replayed yet',
      'storehook runs replay --dead --action order-to-erp --since 2026-01-01T00:00:00Z --json',
    ],
  )
    .action((id: number | undefined, options: StoreOptions & FilterOptions & { dead?: boolean }) =>
      usingStore(options, async (store) => {
        if ((id === undefined) === !options.dead) throw new ConfigError('runs replay: give either a run id or --dead, not both')
        const replayed = id !== undefined ? [await store.replayRun(id)] : await replayDeadWithProgress(store, filterFrom(options))
        if (options.json) return print(replayed)
        console.log(replayed.length === 0 ? 'nothing to replay' : replayed.map((r) => `run ${r.replayOf} replayed as run ${r.id}`).join('\n'))
      }),
    )
}

/**
 * Opens the store the options name, runs `body`, closes it; a mistake of the user's (no such run,
 * a payload already removed) becomes a ConfigError (exit 1).
 *
 * @example
 * await usingStore({ project: '.', db: undefined }, async (store) => console.log(await store.countRunsByState()))
 */
export async function usingStore(options: StoreOptions, body: (store: Store) => Promise<void>): Promise<void> {
  const store = await openStore(options.db, { projectDir: resolve(options.project) })
  try {
    await body(store)
  } catch (error) {
    if (error instanceof RangeError || isPayloadRemovedError(error)) throw new ConfigError(error.message)
    throw error
  } finally {
    await store.close()
  }
}

function filterFrom(options: FilterOptions): RunFilter {
  const { state, action, source, type, since, until, limit } = options
  return Object.fromEntries(
    Object.entries({ state, action, source, type, since, until, limit }).filter(([, v]) => v !== undefined),
  ) as RunFilter
}

function table(runs: Run[]): string {
  const rows = [
    ['ID', 'STATE', 'ACTION', 'SOURCE', 'TYPE', 'EVENT', 'ATTEMPTS', 'CREATED', 'LAST ERROR'],
    ...runs.map((r) => [
      String(r.id),
      r.state,
      r.action,
      r.source,
      r.eventType,
      r.eventId,
      `${r.attempts}/${r.maxAttempts}`,
      iso(r.createdAt),
      (r.lastError ?? '').slice(0, 60),
    ]),
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')
}

/** Dead runs replayed per store call: small enough for the progress to move, large enough to be quick. */
const REPLAY_BATCH = 500

/**
 * `store.replayDeadRuns` in slices of creation time, for a progress indication on big backlogs.
 * Each slice is one store call with the same meaning as one call over everything (dead, matching
 * the filters, not replayed yet), and the slices cover exactly the filter's time range, so the
 * result is the same set of replays; only a crash midway leaves part of it done (running the
 * command again finishes it: already replayed runs are skipped).
 *
 * @example
 * const replayed = await replayDeadWithProgress(store, { action: 'order-to-erp' }) // progress on stderr
 */
export async function replayDeadWithProgress(
  store: Store,
  filter: RunFilter,
  { batch = REPLAY_BATCH, stream = process.stderr }: { batch?: number; stream?: NodeJS.WriteStream } = {},
): Promise<Run[]> {
  const dead = await listAll(store, { ...filter, state: 'dead' })
  const times = dead.map((run) => run.createdAt).sort((a, b) => a - b)
  // Cut points where the creation time changes, every `batch` runs or so.
  const cuts: number[] = []
  for (let i = batch; i < times.length; i += batch) {
    while (i < times.length && times[i] === times[i - 1]) i++
    if (i < times.length) cuts.push(times[i]!)
  }
  const { since: first, until: last, state: _state, limit: _limit, beforeId: _beforeId, ...rest } = filter
  const progress = startProgress('replaying dead runs', times.length, stream)
  const replayed: Run[] = []
  try {
    for (let slice = 0; slice <= cuts.length; slice++) {
      const since = slice === 0 ? first : cuts[slice - 1]
      const until = slice === cuts.length ? last : cuts[slice]
      replayed.push(...(await store.replayDeadRuns({ ...rest, ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) })))
      const examined = slice === cuts.length ? times.length : times.findIndex((t) => t >= cuts[slice]!)
      progress.update(examined, `${replayed.length} replayed`)
    }
  } finally {
    progress.finish()
  }
  return replayed
}

/** Every run matching `filter`, newest first, a page at a time. */
async function listAll(store: Store, filter: RunFilter): Promise<Run[]> {
  const all: Run[] = []
  for (;;) {
    const page = await store.listRuns({ ...filter, limit: MAX_PAGE_SIZE, ...(all.length ? { beforeId: all.at(-1)!.id } : {}) })
    all.push(...page)
    if (page.length < MAX_PAGE_SIZE) return all
  }
}

const iso = (ms: number) => new Date(ms).toISOString()
const indent = (text: string) => text.split('\n').map((line) => `    ${line}`).join('\n')

function parsePositive(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('expected a positive integer')
  return Number(value)
}

function parseState(value: string): RunState {
  if (!RUN_STATES.includes(value as RunState)) throw new InvalidArgumentError(`expected one of ${RUN_STATES.join(', ')}`)
  return value as RunState
}

function parseTime(value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
  if (!Number.isFinite(ms)) throw new InvalidArgumentError('expected an ISO 8601 time or epoch milliseconds')
  return ms
}
