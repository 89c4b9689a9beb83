/**
 * @module
 * The messages between the invoker (main thread) and an action thread (action-thread.ts): types
 * and two constants, so neither end imports the other's code.
 *
 * One thread hosts one action file and runs one invocation at a time. Once up, the thread says
 * `ready`; then for each {@link InvokeMessage} the invoker posts, it answers with any number of
 * `logs`, at most one `returned`, and one `done`. Everything crosses by structured clone; the action's result crosses as the JSON
 * text OpenWhisk would have made of it, parsed once on the main thread.
 */

/** `workerData` of an action thread. */
export interface ActionThreadData {
  mark: typeof ACTION_THREAD_MARK
  /** Absolute path of the action's module. */
  file: string
}

export const ACTION_THREAD_MARK = 'storehook-app-builder-action'

/** OpenWhisk's words for a result that is not a JSON object. */
export const NOT_A_DICTIONARY = 'The action did not return a dictionary.'

/** Main → thread: run `main(params)` once. */
export interface InvokeMessage {
  type: 'invoke'
  id: number
  params: Record<string, unknown>
  /** The `__OW_*` variables of this invocation, set on the thread's own `process.env`. */
  env: Record<string, string>
  /** The invocation's console output stops being recorded past this many bytes. */
  maxLogBytes: number
  /** Wait for the work main left running before `done` (false: only report that it left some). */
  waitForFloatingWork: boolean
}

/** One line of console output. */
export interface LogEntry {
  stream: 'stdout' | 'stderr'
  /** Epoch ms when it was written. */
  time: number
  line: string
}

/**
 * What an invocation came to, as far as the thread can tell: a JSON result (its shape is checked
 * on the main thread, after the one parse), or a developer error's message.
 */
export type ThreadOutcome = { kind: 'result'; json: string } | { kind: 'developer-error'; message: string }

export type ThreadMessage =
  /** The thread is up and listening; an invocation's time starts counting once it is handed over. */
  | { type: 'ready' }
  /** `invocation` is null for output written while the thread is idle (a module-level timer). */
  | { type: 'logs'; invocation: number | null; entries: LogEntry[]; truncated: boolean }
  /** main returned (or threw) while work it started was still going; the thread waits for it. */
  | { type: 'returned'; invocation: number }
  | {
      type: 'done'
      invocation: number
      outcome: ThreadOutcome
      /** main returned before the work it started had settled. */
      leftWork: boolean
      /** How long the thread waited for that work after main returned. */
      waitedMs: number
      /** The thread must not run another invocation (load error, uncaught error). */
      retire: boolean
    }
  /** An uncaught error while no invocation ran (a module-level timer): the thread must go. */
  | { type: 'idle-error'; message: string }
