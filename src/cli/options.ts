/**
 * @module
 * What the CLI's commands share: option parsers, the examples at the end of every `--help`, JSON
 * output for scripts, progress output for long operations, and the exit codes.
 *
 * Conventions every command keeps (docs/cli.md lists them for users):
 * - stdout carries the result (a table, a summary, or with `--json` one JSON document and nothing
 *   else); progress and diagnostics go to stderr, so `--json | jq` always parses.
 * - exit codes: {@link EXIT_OK}, {@link EXIT_USER_ERROR}, {@link EXIT_FAILURE}.
 */
import { InvalidArgumentError, type Command } from 'commander'
import { ConfigError } from '../core/errors.ts'

/** The command did what was asked (also `--help`). */
export const EXIT_OK = 0
/**
 * The user's mistake, said in one line without a stack trace: a bad option or argument, a
 * project that does not load, a run that does not exist, a port in use, a non-empty copy target.
 * Running the same command again gives the same answer.
 */
export const EXIT_USER_ERROR = 1
/**
 * Something else failed: a database that cannot be reached, a disk error, a bug. The message
 * comes with a stack trace; running the command again may succeed.
 */
export const EXIT_FAILURE = 2

/** The exit code an error thrown out of a command ends the process with. */
export function exitCodeFor(error: unknown): number {
  return error instanceof ConfigError || error instanceof InvalidArgumentError ? EXIT_USER_ERROR : EXIT_FAILURE
}

export function parsePort(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('expected a port number, 0–65535')
  return port
}

/**
 * Adds `--project <dir>` and `--db <url>`, which every command that opens the store takes, with
 * one help text and one default (`$STOREHOOK_DB`, else the project's own SQLite file).
 *
 * @example
 * storeOptions(program.command('migrate')).option('--json', 'print JSON for scripts')
 */
export function storeOptions(command: Command): Command {
  return command.option('--project <dir>', 'project directory', '.').option(
    '--db <url>',
    'sqlite:PATH, or postgres://USER:PASSWORD@HOST:PORT/DATABASE[?schema=NAME&pool_max=N] to share one database between ' +
      'processes (default: $STOREHOOK_DB, else sqlite:<project>/.storehook/storehook.db)',
    process.env.STOREHOOK_DB,
  )
}

/**
 * Ends `command`'s `--help` with examples, one command line each (a `# comment` may follow).
 *
 * @example
 * withExamples(program.command('migrate'), ['storehook migrate --db postgres://storehook@db/shop   # before a rollout'])
 */
export function withExamples(command: Command, examples: string[]): Command {
  return command.addHelpText('after', examplesText(examples))
}

/** The examples block itself, for `.addHelpText('after', …)` inside a chain of options. */
export function examplesText(examples: string[]): string {
  return `\nExamples:\n${examples.map((line) => `  ${line}`).join('\n')}\n`
}

/** Prints `value` as the command's one JSON document on stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2))
}

export interface Progress {
  /** `done` of `total` units are finished; `detail` says what is being worked on. */
  update(done: number, detail?: string): void
  /** Moves the total (when it becomes known, or grows). */
  setTotal(total: number): void
  /** Ends the indication (the bar's line is cleared, so the next output starts clean). */
  finish(): void
}

/** How often a bar is redrawn at most: more is flicker and wasted writes. */
const REDRAW_MS = 100
const BAR_WIDTH = 24

/**
 * A progress indication on stderr: a bar redrawn in place on a terminal, and on anything else
 * (a CI log, a pipe) plain lines at each tenth of the way, which read well in a log file.
 *
 * @example
 * const progress = startProgress('replaying dead runs', 1200)
 * progress.update(500)
 * progress.finish()
 */
export function startProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true
  let shownAt = 0
  let lastTenth = -1
  let drawn = false
  let state = { done: 0, total, detail: '' }
  const detail = () => (state.detail ? `, ${state.detail}` : '')
  const draw = (force: boolean) => {
    const ratio = state.total > 0 ? Math.min(1, state.done / state.total) : 1
    if (tty) {
      if (!force && Date.now() - shownAt < REDRAW_MS) return
      shownAt = Date.now()
      const filled = Math.round(ratio * BAR_WIDTH)
      const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${state.done}/${state.total}${detail()}`
      stream.write(`\r\x1b[K${line.slice(0, Math.max(20, (stream.columns ?? 80) - 1))}`)
      drawn = true
      return
    }
    const tenth = Math.floor(ratio * 10)
    if (tenth === lastTenth && !force) return
    lastTenth = tenth
    stream.write(`${label}: ${state.done}/${state.total} (${Math.floor(ratio * 100)}%)${detail()}\n`)
  }
  draw(true)
  return {
    update(done, detail) {
      state = { ...state, done, detail: detail ?? state.detail }
      draw(false)
    },
    setTotal(next) {
      state = { ...state, total: next }
    },
    finish() {
      if (tty) {
        if (drawn) stream.write('\r\x1b[K')
      } else if (lastTenth !== 10) draw(true)
    },
  }
}
