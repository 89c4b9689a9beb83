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
import type { RunFilter, Store } from '../store/store.ts'

interface StoreOptions {
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
  const runs = program.command('runs').description('list, inspect and replay runs')
  const withStore = (command: Command) =>
    command
      .option('--project <dir>', 'project directory', '.')
      .option(
        '--db <url>',
        'the store the runtime uses: sqlite:PATH or postgres://…[?schema=NAME] (default: $STOREHOOK_DB, else sqlite:<project>/.storehook/storehook.db)',
        process.env.STOREHOOK_DB,
      )
      .option('--json', 'print JSON for scripts')
  const withFilters = (command: Command) =>
    command
      .option('--action <name>', 'only runs of this action')
      .option('--source <name>', 'only runs of events from this source')
      .option('--type <type>', 'only runs of events of this type')
      .option('--since <time>', 'created at or after (ISO 8601 or epoch ms)', parseTime)
      .option('--until <time>', 'created before (ISO 8601 or epoch ms)', parseTime)

  withFilters(withStore(runs.command('list').description('list runs, newest first')))
    .option('--state <state>', `one of ${RUN_STATES.join(', ')}`, parseState)
    .option('--limit <n>', 'how many (default 50)', parsePositive)
    .action((options: StoreOptions & FilterOptions) =>
      usingStore(options, async (store) => {
        const list = await store.listRuns(filterFrom(options))
        if (options.json) return print(list)
        console.log(table(list))
      }),
    )

  withStore(runs.command('show').description('show one run with its attempts and steps').argument('<id>', 'run id', parsePositive))
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

  withFilters(withStore(runs.command('replay').description('replay one run, or with --dead every dead run matching the filters')))
    .argument('[id]', 'run id', parsePositive)
    .option('--dead', 'replay every dead run matching the filters (each once)')
    .action((id: number | undefined, options: StoreOptions & FilterOptions & { dead?: boolean }) =>
      usingStore(options, async (store) => {
        if ((id === undefined) === !options.dead) throw new ConfigError('runs replay: give either a run id or --dead, not both')
        const replayed = id !== undefined ? [await store.replayRun(id)] : await store.replayDeadRuns(filterFrom(options))
        if (options.json) return print(replayed)
        console.log(replayed.length === 0 ? 'nothing to replay' : replayed.map((r) => `run ${r.replayOf} replayed as run ${r.id}`).join('\n'))
      }),
    )
}

async function usingStore(options: StoreOptions, body: (store: Store) => Promise<void>): Promise<void> {
  const store = await openStore(options.db, { projectDir: resolve(options.project) })
  try {
    await body(store)
  } catch (error) {
    if (error instanceof RangeError) throw new ConfigError(error.message)
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

const iso = (ms: number) => new Date(ms).toISOString()
const indent = (text: string) => text.split('\n').map((line) => `    ${line}`).join('\n')
const print = (value: unknown) => console.log(JSON.stringify(value, null, 2))

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
