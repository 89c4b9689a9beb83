/**
 * @module
 * Inside an action thread: turns everything written to `process.stdout` / `process.stderr`
 * (and so `console.log/info/debug` and `console.warn/error`) into log lines of the invocation
 * that is running, posted to the invoker in batches.
 *
 * Why here and not by reading the Worker's stdio on the main thread: stdio travels on its own
 * channel, so lines could arrive after the invocation's `done` message; posting them on the same
 * port keeps them in order. Batches are cut per microtask checkpoint (no timer, so the capture
 * itself never counts as work the action left running, see settled.ts).
 */
import type { LogEntry, ThreadMessage } from './thread-protocol.ts'

type Stream = LogEntry['stream']

export class ConsoleCapture {
  private invocation: number | null = null
  private limit = Number.POSITIVE_INFINITY
  private bytes = 0
  private truncated = false
  private truncationPosted = false
  private pending: LogEntry[] = []
  private flushScheduled = false
  private readonly partial: Record<Stream, string> = { stdout: '', stderr: '' }
  private readonly post: (message: ThreadMessage) => void

  constructor(post: (message: ThreadMessage) => void) {
    this.post = post
  }

  /** Replaces `process.stdout.write` and `process.stderr.write` of this thread. */
  install(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const target = process[stream]
      target.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void) => {
        if (typeof encoding === 'function') {
          callback = encoding
          encoding = undefined
        }
        this.write(stream, decode(chunk, encoding))
        // A stream calls back asynchronously; nextTick is not a resource, so it is not floating work.
        if (callback) process.nextTick(callback)
        return true
      }) as typeof target.write
    }
  }

  /** Starts recording for an invocation; its lines stop being kept past `maxBytes`. */
  begin(invocation: number, maxBytes: number): void {
    this.end()
    this.invocation = invocation
    this.limit = maxBytes
  }

  /** Posts everything recorded for the current invocation, unfinished lines included. */
  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] !== '') {
        const line = this.partial[stream]
        this.partial[stream] = ''
        this.record(stream, line)
      }
    }
    this.flush()
    this.invocation = null
    this.limit = Number.POSITIVE_INFINITY
    this.bytes = 0
    this.truncated = false
    this.truncationPosted = false
  }

  /** Writes text as the action would have, e.g. a stack trace to stderr. */
  write(stream: Stream, text: string): void {
    const lines = (this.partial[stream] + text).split('\n')
    this.partial[stream] = lines.pop()!
    for (const line of lines) this.record(stream, line.endsWith('\r') ? line.slice(0, -1) : line)
    // A huge write without a newline must not grow without bound.
    if (this.partial[stream].length > Math.min(this.limit, 1 << 20)) {
      const line = this.partial[stream]
      this.partial[stream] = ''
      this.record(stream, line)
    }
  }

  private record(stream: Stream, line: string): void {
    if (this.truncated) return
    const size = Buffer.byteLength(line) + 1
    if (this.bytes + size > this.limit) this.truncated = true
    else {
      this.bytes += size
      this.pending.push({ stream, time: Date.now(), line })
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true
      queueMicrotask(() => this.flush())
    }
  }

  private flush(): void {
    this.flushScheduled = false
    const report = this.truncated && !this.truncationPosted
    if (this.pending.length === 0 && !report) return
    this.truncationPosted ||= report
    const entries = this.pending
    this.pending = []
    this.post({ type: 'logs', invocation: this.invocation, entries, truncated: this.truncated })
  }
}

function decode(chunk: string | Uint8Array, encoding: BufferEncoding | undefined): string {
  if (typeof chunk === 'string') {
    return encoding === undefined || encoding === 'utf8' || encoding === 'utf-8' ? chunk : Buffer.from(chunk, encoding).toString('utf8')
  }
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8')
}
