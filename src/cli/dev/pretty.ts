/**
 * @module
 * Readable log lines for `storehook dev`: the runtime logs JSON (pino) for machines; a developer
 * watching a terminal wants `12:03:04.512 INFO  order sent to the ERP entityId=42 status=200`,
 * errors with their stack, and colour when the terminal has it. A small formatter of our own
 * instead of pino-pretty: one dependency less, and the runtime's log format stays the only one.
 */

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '90' },
  30: { name: 'INFO', color: '32' },
  40: { name: 'WARN', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '35' },
}

/** pino's own fields, shown in the line's head or not at all. */
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v', 'err'])

export interface PrettyOptions {
  /** ANSI colours (a terminal that is not told NO_COLOR). */
  color: boolean
}

/**
 * Formats one line of the runtime's output: a JSON log line becomes a readable one; anything else
 * (an action's console.log) is returned as it is.
 *
 * @example
 * formatLogLine('{"level":30,"time":1767261784512,"msg":"order sent to the ERP","entityId":42}', { color: false })
 * // '10:03:04.512 INFO  order sent to the ERP entityId=42' (in local time)
 */
export function formatLogLine(line: string, options: PrettyOptions): string {
  if (!line.startsWith('{')) return line
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line
  }
  if (typeof entry.level !== 'number' || typeof entry.time !== 'number') return line
  const paint = (code: string, text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text)
  const level = LEVELS[entry.level] ?? { name: `L${entry.level}`, color: '0' }
  const fields = Object.entries(entry)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${paint('2', `${key}=`)}${show(value)}`)
  const head = `${paint('90', clock(entry.time))} ${paint(level.color, level.name.padEnd(5))} ${String(entry.msg ?? '')}`
  const err = entry.err as { message?: unknown; stack?: unknown } | undefined
  const stack = typeof err?.stack === 'string' ? err.stack : typeof err?.message === 'string' ? err.message : undefined
  const tail = stack ? `\n${stack.split('\n').map((l) => `    ${l}`).join('\n')}` : ''
  return [head, ...fields].join(' ') + tail
}

/** `HH:MM:SS.mmm`, local time: what the developer's clock shows. */
function clock(ms: number): string {
  const d = new Date(ms)
  const two = (n: number) => String(n).padStart(2, '0')
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`
}

/** A value as the eye reads it: bare when it is one word, JSON otherwise. */
function show(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value)
  return JSON.stringify(value) ?? String(value)
}

/** Whether `stream` should get colour: a terminal, unless NO_COLOR says otherwise (https://no-color.org). */
export function wantsColor(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR) return false
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true
  return stream.isTTY === true
}
