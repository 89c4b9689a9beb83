/**
 * @module
 * The entry of an action thread: a `worker_threads` Worker that hosts one App Builder action,
 * as an OpenWhisk container with concurrency 1 does. It runs one invocation at a time (warm
 * reuse: the next one only after this one is complete), so invocations running at the same time
 * never share module state or globals; the seed's undeclared `event_payload` stays per-invocation.
 *
 * For each invocation it sets the `__OW_*` variables on its own `process.env` (a copy made for
 * this thread, not storehook's), loads the module on first use (load-main.ts), captures console
 * output (console-capture.ts), awaits main, then waits for the work main left running
 * (settled.ts). An uncaught exception or unhandled rejection meanwhile fails the invocation, as it
 * would kill the container on I/O Runtime; the thread is then retired, since the action's state
 * may be broken. The invoker (invoker.ts) enforces the time limit by terminating the thread.
 *
 * Loaded from source it is `action-thread.ts`, once built `action-thread.js` (thread-pool.ts).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import { ConsoleCapture } from './console-capture.ts'
import { loadMain, messageOf, type ActionMain } from './load-main.ts'
import { activeResources, waitForFloatingWork } from './settled.ts'
import { ACTION_THREAD_MARK, NOT_A_DICTIONARY, type ActionThreadData, type InvokeMessage, type ThreadMessage, type ThreadOutcome } from './thread-protocol.ts'

interface Current {
  id: number
  /** The first error of the invocation: main's throw, or an uncaught one. */
  error: string | null
  retire: boolean
}

function hostAction(data: ActionThreadData): void {
  const port = parentPort!
  const post = (message: ThreadMessage) => port.postMessage(message)
  const capture = new ConsoleCapture(post)
  capture.install()
  let main: ActionMain | null = null
  let current: Current | null = null

  const uncaught = (label: string) => (error: unknown) => {
    capture.write('stderr', `${label}: ${stackOf(error)}\n`)
    if (!current) return post({ type: 'idle-error', message: messageOf(error) })
    current.error ??= messageOf(error)
    current.retire = true
  }
  process.on('uncaughtException', uncaught('Uncaught exception'))
  process.on('unhandledRejection', uncaught('Unhandled promise rejection'))
  // process.exit() in the action ends the thread at once: what it printed before still counts.
  process.on('exit', () => capture.end())

  const invoke = async (message: InvokeMessage): Promise<void> => {
    const invocation: Current = { id: message.id, error: null, retire: false }
    current = invocation
    capture.begin(message.id, message.maxLogBytes)
    Object.assign(process.env, message.env)
    let outcome: ThreadOutcome
    let floating = { leftWork: false, waitedMs: 0 }
    try {
      if (!main) {
        try {
          main = await loadMain(data.file)
        } catch (error) {
          // A failed import stays cached in this thread: the next invocation needs a fresh one.
          invocation.retire = true
          throw error
        }
      }
      const baseline = activeResources()
      let value: unknown
      try {
        value = await main(message.params)
      } catch (error) {
        capture.write('stderr', `${stackOf(error)}\n`)
        invocation.error ??= messageOf(error)
      }
      floating = await waitForFloatingWork(baseline, () => post({ type: 'returned', invocation: message.id }), message.waitForFloatingWork)
      outcome = invocation.error !== null ? developerError(invocation.error) : serializeResult(value, capture)
    } catch (error) {
      capture.write('stderr', `${stackOf(error instanceof Error && error.cause ? error.cause : error)}\n`)
      outcome = developerError(messageOf(error))
    }
    current = null
    capture.end()
    post({ type: 'done', invocation: message.id, outcome, ...floating, retire: invocation.retire })
  }
  port.on('message', (message: InvokeMessage) => void invoke(message))
  post({ type: 'ready' })
}

/**
 * The result as OpenWhisk sends it on: JSON text. `return;` (undefined) is `{}`, as the Node.js
 * runtime's runner makes it; anything but an object is refused here, before paying for JSON.
 */
function serializeResult(value: unknown, capture: ConsoleCapture): ThreadOutcome {
  if (value === undefined) return { kind: 'result', json: '{}' }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
    capture.write('stderr', `Result must be of type object but has type "${type}"\n`)
    return developerError(NOT_A_DICTIONARY)
  }
  try {
    const json = JSON.stringify(value)
    // A toJSON() may turn the object into something else.
    if (json === undefined || !json.startsWith('{')) return developerError(NOT_A_DICTIONARY)
    return { kind: 'result', json }
  } catch (error) {
    return developerError(`The action returned a result that cannot be serialized to JSON: ${messageOf(error)}`)
  }
}

function developerError(message: string): ThreadOutcome {
  return { kind: 'developer-error', message }
}

function stackOf(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`
  return messageOf(error)
}

if (!isMainThread && (workerData as Partial<ActionThreadData> | null)?.mark === ACTION_THREAD_MARK) {
  hostAction(workerData as ActionThreadData)
}
