/**
 * @module
 * Console output of runs: while at least one worker runs, `console.log/info/debug/warn/error` and
 * `process.stdout/stderr.write` are wrapped so that what code inside a run's scope (run-scope.ts)
 * writes is also added to that run's log. Everything still reaches the process's stdout and
 * stderr as before; outside a run the wrappers only pass through.
 *
 * A console method's arguments are kept with secret fields of objects redacted by name (its own
 * write to the stream is then not counted twice); a raw stream write is kept as text, redacted by
 * shape (redact-text.ts).
 */
import { formatWithOptions } from 'node:util'
import { isSecretField, REDACTED } from '../core/redact.ts'
import type { ConsoleStream } from './run-log.ts'
import { currentRunScope } from './run-scope.ts'

const METHODS = { log: 'stdout', info: 'stdout', debug: 'stdout', warn: 'stderr', error: 'stderr' } as const satisfies Record<string, ConsoleStream>

let installs = 0
let uninstall: (() => void) | null = null
/** Above 0 while text already added to a run's log is being written to a stream. */
let quiet = 0

/**
 * Starts capturing (counted: the last release stops it). Returns the release function.
 *
 * @example
 * const release = captureConsole() // when the worker starts
 * release() // when it stops
 */
export function captureConsole(): () => void {
  if (installs++ === 0) uninstall = install()
  let released = false
  return () => {
    if (released) return
    released = true
    if (--installs === 0) {
      uninstall?.()
      uninstall = null
    }
  }
}

/** Runs `fn`, whose stream writes hold text some run's log has already (a logger line, a console call). */
export function quietly<T>(fn: () => T): T {
  quiet += 1
  try {
    return fn()
  } finally {
    quiet -= 1
  }
}

function install(): () => void {
  const restores: (() => void)[] = []
  for (const [name, stream] of Object.entries(METHODS) as [keyof typeof METHODS, ConsoleStream][]) {
    const original = console[name]
    const wrapped = function (this: Console, ...args: unknown[]): void {
      const log = quiet === 0 ? currentRunScope()?.log : undefined
      if (log && !log.ended) log.add(stream, formatWithOptions({ colors: false }, ...args.map((arg) => redactArgument(arg))))
      quietly(() => original.apply(this, args))
    }
    console[name] = wrapped
    // Put back only what is still ours: whoever wrapped it after us keeps their wrapper.
    restores.push(() => {
      if (console[name] === wrapped) console[name] = original
    })
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    const target = process[stream]
    const original = target.write
    const wrapped = function (this: NodeJS.WriteStream, chunk: string | Uint8Array, encoding?: unknown): boolean {
      const log = quiet === 0 ? currentRunScope()?.log : undefined
      if (log && !log.ended) log.write(stream, decode(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined))
      // Passed on exactly as given: the callback may come second or third.
      return original.apply(this, arguments as unknown as Parameters<typeof original>)
    } as typeof target.write
    target.write = wrapped
    restores.push(() => {
      if (target.write === wrapped) target.write = original
    })
  }
  return () => restores.forEach((restore) => restore())
}

/**
 * A copy of a console argument with the secret fields of its plain objects redacted (by name, as
 * `redactPayload` does), at any depth through plain objects and arrays; anything else (a Date, a
 * Map, an Error) is left for util.inspect to show as it is.
 */
function redactArgument(value: unknown, ancestors: object[] = []): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (ancestors.includes(value)) return '[Circular]'
  if (Array.isArray(value)) return value.map((item) => redactArgument(item, [...ancestors, value]))
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return value
  const copy: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) {
    copy[key] = isSecretField(key) && field !== null && field !== '' ? REDACTED : redactArgument(field, [...ancestors, value])
  }
  return copy
}

function decode(chunk: string | Uint8Array, encoding: BufferEncoding | undefined): string {
  if (typeof chunk === 'string') {
    return encoding === undefined || encoding === 'utf8' || encoding === 'utf-8' ? chunk : Buffer.from(chunk, encoding).toString('utf8')
  }
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8')
}
