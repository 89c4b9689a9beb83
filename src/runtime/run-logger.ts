/**
 * @module
 * `ctx.logger` of one attempt: a pino child of the process's logger that writes every line where
 * the process's logger writes it, as before, and also adds it to the attempt's log. Lines reach
 * the attempt's log from `info` up whatever the process's level (a process logging only errors
 * still keeps its runs' logs), and from lower levels too when the process logs them.
 *
 * How: pino writes a line to its logger's stream, and a child shares its parent's stream object;
 * this child gets its own stream (pino's documented `symbols.streamSym`) that takes each line,
 * with the metadata pino hands streams that ask for it (`needsMetadataGsym`: the level and
 * message), and passes it on to the parent's stream. Children the action makes of `ctx.logger`
 * inherit it.
 */
import { pino, type DestinationStream, type Logger } from 'pino'
import type { AttemptLog } from './run-log.ts'
import { quietly } from './run-console.ts'

const { streamSym, needsMetadataGsym, messageKeySym } = pino.symbols
const METADATA = ['lastLevel', 'lastObj', 'lastMsg', 'lastTime', 'lastLogger'] as const

type Metadata = { [K in (typeof METADATA)[number]]?: unknown }
type Stream = DestinationStream & Metadata & { [needsMetadataGsym]?: boolean; flush?: (cb: (error?: Error) => void) => void; flushSync?: () => void }

/**
 * @example
 * const logger = attemptLogger(rootLogger, { runId: 7, action: 'order-to-erp', attempt: 1 }, log)
 * logger.info({ sku: 'A' }, 'order sent') // on stdout as before, and in run 7's log
 */
export function attemptLogger(root: Logger, bindings: Record<string, unknown>, log: AttemptLog): Logger {
  const values = root.levels.values
  const kept = Math.min(root.levelVal, values.info ?? 30)
  const child = root.child(bindings, kept < root.levelVal ? { level: root.levels.labels[kept] ?? 'info' } : {})
  const parent = (root as unknown as Record<symbol, Stream>)[streamSym]!
  const messageKey = String((root as unknown as Record<symbol, unknown>)[messageKeySym] ?? 'msg')
  // What every line of this attempt carries anyway: the run's bindings, pino's own keys (bindings() leaves out pid and hostname).
  const known = new Set([...Object.keys(child.bindings()), 'pid', 'hostname', 'level', 'time', messageKey])

  const stream: Stream = {
    [needsMetadataGsym]: true,
    write(line: string) {
      const level = Number(this.lastLevel)
      if (level >= kept) log.add(root.levels.labels[level] ?? String(level), messageOf(this.lastMsg), fieldsOf(line, known))
      if (level < root.levelVal) return
      if (parent[needsMetadataGsym]) for (const key of METADATA) parent[key] = this[key]
      quietly(() => parent.write(line))
    },
    flush(cb) {
      if (typeof parent.flush === 'function') parent.flush(cb)
      else cb()
    },
    flushSync() {
      parent.flushSync?.()
    },
  }
  ;(child as unknown as Record<symbol, Stream>)[streamSym] = stream
  return child
}

function messageOf(message: unknown): string {
  return message === undefined || message === null ? '' : String(message)
}

/** The line's own fields: what the call (or a child the action made) added. Null for none. */
function fieldsOf(line: string, known: Set<string>): Record<string, unknown> | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch {
    // A process logger that does not write JSON: the message is what there is.
    return null
  }
  if (typeof parsed !== 'object' || parsed === null) return null
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(parsed)) if (!known.has(key)) fields[key] = value
  return Object.keys(fields).length ? fields : null
}
