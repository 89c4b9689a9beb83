/**
 * @module
 * One attempt's log: the lines its action writes through `ctx.logger` (run-logger.ts) and to the
 * console (run-console.ts), redacted, capped, and handed to a writer that stores them off the
 * run's path (run-records.ts). Lines are capped per attempt and in length, so a chatty or looping
 * action cannot fill the store; the attempt's last line then says how many were dropped.
 */
import { HttpError } from '../core/errors.ts'
import { redactPayload } from '../core/redact.ts'
import { MAX_PAGE_SIZE, pageSize, type NewRunLogLine, type RunLogFilter } from '../store/store.ts'
import { redactText } from './redact-text.ts'

export interface RunLogLimits {
  /** Lines kept per attempt; the rest are counted and dropped (default 1000). */
  linesPerAttempt: number
  /** Characters kept of a line's message, and of its fields' JSON (default 4000). */
  lineLength: number
}

export const DEFAULT_RUN_LOG_LIMITS: RunLogLimits = { linesPerAttempt: 1000, lineLength: 4000 }

/** pino's levels, lowest first, then the console's streams. */
export const RUN_LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'stdout', 'stderr'] as const

/** How console output ranks among pino's levels when filtering by a minimum level. */
const RANK: Record<string, number> = { trace: 10, debug: 20, info: 30, stdout: 30, warn: 40, stderr: 40, error: 50, fatal: 60 }

/**
 * The levels a filter by `level` selects: for one of pino's, that level and above, console output
 * included (stdout ranks as info, stderr as warn); for `stdout` or `stderr`, that stream only.
 * Undefined for a level storehook does not know.
 *
 * @example
 * levelsFrom('warn') // ['warn', 'stderr', 'error', 'fatal']
 */
export function levelsFrom(level: string): string[] | undefined {
  if (level === 'stdout' || level === 'stderr') return [level]
  const minimum = RANK[level]
  if (minimum === undefined) return undefined
  return Object.keys(RANK).filter((name) => RANK[name]! >= minimum)
}

/**
 * The filter a search of a run's log asks for (the admin API's and the run page's query
 * parameters: `q`, `level`, `attempt`, `after`, `limit`); at most {@link MAX_PAGE_SIZE} lines.
 *
 * @throws HttpError 400 naming the parameter that is wrong
 * @example
 * runLogFilter(7, { q: 'erp', level: 'warn' }) // { runId: 7, contains: 'erp', levels: ['warn', 'stderr', 'error', 'fatal'], limit: 1000 }
 */
export function runLogFilter(runId: number, query: Record<string, string | undefined>): RunLogFilter {
  const filter: RunLogFilter = { runId, limit: MAX_PAGE_SIZE }
  if (query.q) filter.contains = query.q
  if (query.level) {
    const levels = levelsFrom(query.level)
    if (!levels) throw new HttpError(400, `level: expected one of ${RUN_LOG_LEVELS.join(', ')}`)
    filter.levels = levels
  }
  for (const [key, field] of [['attempt', 'attempt'], ['after', 'afterSeq'], ['limit', 'limit']] as const) {
    const value = query[key]
    if (value === undefined || value === '') continue
    if (!/^\d{1,15}$/.test(value)) throw new HttpError(400, `${key}: expected a non-negative integer`)
    // The store's own rule for the page size (0 means its default), so a full page is recognised.
    filter[field] = field === 'limit' ? pageSize(Number(value)) : Number(value)
  }
  return filter
}

export type ConsoleStream = 'stdout' | 'stderr'

export class AttemptLog {
  readonly runId: number
  readonly attempt: number
  readonly #push: (line: NewRunLogLine) => void
  readonly #limits: RunLogLimits
  #kept = 0
  #dropped = 0
  #ended = false
  /** Console output written without its newline yet. */
  readonly #partial: Record<ConsoleStream, string> = { stdout: '', stderr: '' }

  /**
   * @example
   * const log = new AttemptLog(7, 1, (line) => writer.push(line))
   * log.add('info', 'order sent', { sku: 'A', password: 'hunter2' }) // stored with password: '[redacted]'
   * log.end()
   */
  constructor(runId: number, attempt: number, push: (line: NewRunLogLine) => void, limits: RunLogLimits = DEFAULT_RUN_LOG_LIMITS) {
    this.runId = runId
    this.attempt = attempt
    this.#push = push
    this.#limits = limits
  }

  /** Whether the attempt is over: what its action still writes (work it left running) is not kept. */
  get ended(): boolean {
    return this.#ended
  }

  /** Adds one line; `fields` is redacted by name, `message` by {@link redactText}. */
  add(level: string, message: string, fields: Record<string, unknown> | null = null): void {
    if (this.#ended) return
    if (this.#kept >= this.#limits.linesPerAttempt) {
      this.#dropped += 1
      return
    }
    this.#kept += 1
    this.#push({ runId: this.runId, attempt: this.attempt, at: Date.now(), level, message: this.#clip(redactText(message)), fields: this.#fields(fields) })
  }

  /** Console output as written: complete lines are added, a partial one waits for its newline. */
  write(stream: ConsoleStream, text: string): void {
    if (this.#ended) return
    const lines = (this.#partial[stream] + text).split('\n')
    this.#partial[stream] = lines.pop()!
    for (const line of lines) this.add(stream, line.endsWith('\r') ? line.slice(0, -1) : line)
    // A huge write without a newline must not grow without bound.
    if (this.#partial[stream].length > this.#limits.lineLength) {
      const line = this.#partial[stream]
      this.#partial[stream] = ''
      this.add(stream, line)
    }
  }

  /** Adds what is still partial and, when lines were dropped, a last line saying how many. */
  end(): void {
    if (this.#ended) return
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream] !== '') this.add(stream, this.#partial[stream])
      this.#partial[stream] = ''
    }
    this.#ended = true
    if (this.#dropped > 0) {
      const message = `… ${this.#dropped} more ${this.#dropped === 1 ? 'line' : 'lines'} dropped (at most ${this.#limits.linesPerAttempt} lines are kept per attempt)`
      this.#push({ runId: this.runId, attempt: this.attempt, at: Date.now(), level: 'warn', message, fields: null })
    }
  }

  #clip(text: string): string {
    const over = text.length - this.#limits.lineLength
    return over > 0 ? `${text.slice(0, this.#limits.lineLength)}… (${over} more characters)` : text
  }

  #fields(fields: Record<string, unknown> | null): string | null {
    if (fields === null || Object.keys(fields).length === 0) return null
    // Secret fields by name; secrets inside other strings (a URL with a token) by their shape.
    const json = JSON.stringify(redactPayload(fields), (_key, value: unknown) => (typeof value === 'string' ? redactText(value) : value))
    // Cut JSON is no longer JSON: what fits is kept as text under one field.
    return json.length > this.#limits.lineLength ? JSON.stringify({ truncated: this.#clip(json) }) : json
  }
}
