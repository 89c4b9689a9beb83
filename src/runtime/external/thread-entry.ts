/**
 * @module
 * The entry of a handler thread: a `worker_threads` Worker that runs external-resource handlers
 * away from the main thread's event loop, so a handler that blocks its loop (`while (true)`)
 * stalls this thread only, and the main thread can cut it off (`worker.terminate()`).
 *
 * The thread loads the project the way the main thread did (`loadProject`: `.env`, the config,
 * TypeScript files through Node's type stripping, `import 'storehook'` resolved to this copy), so
 * it has the handlers and builds connections of its own; it leaves out the action files and App
 * Builder actions, whose import-time code must run once per process, not once per thread. For
 * each call it gets the raw request (already verified and parsed once by the main thread) and
 * parses it again: the parsed input is an object graph with methods and cycles, which cannot be
 * cloned across threads. Calls run concurrently, as on the main thread; an abort message aborts a
 * call's `ctx.signal`.
 *
 * Loaded from source it is `thread-entry.ts`, once built `thread-entry.js` (handler-thread.ts).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { SourceRequest } from '../../sources/source.ts'
import { createLogger } from '../logger.ts'
import { loadProject } from '../project.ts'
import { DeadlineExceededError } from './deadline.ts'
import { ExternalHandlerContext, type LoadedExternal } from './load.ts'
import { BEAT_MS, HANDLER_THREAD_MARK, jsonForm, sendError, type CallMessage, type CallResult, type HandlerThreadData, type MainMessage, type ThreadMessage } from './thread-protocol.ts'

async function host(data: HandlerThreadData): Promise<void> {
  const port = parentPort!
  const post = (message: ThreadMessage) => port.postMessage(message)
  const logger = createLogger({ level: data.logLevel, destination: { write: (line: string) => post({ type: 'log', line }) } })
  // As `storehook start` does on the main thread: a promise user code forgot is logged, not fatal.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection in an external resource handler thread (a promise in handler code was not awaited?)'))

  let resources: Map<string, LoadedExternal>
  let connections: Record<string, unknown>
  try {
    const project = await loadProject(data.projectDir, { onCall: (call) => logger.debug({ call }, 'outbound call') }, { externalOnly: true })
    resources = new Map(project.external.map((resource) => [resource.name, resource]))
    connections = project.connections
  } catch (error) {
    post({ type: 'failed', message: (error as Error).message })
    return
  }

  const running = new Map<number, AbortController>()
  // Beats only while calls run: an idle thread owes nobody an answer.
  let beat: NodeJS.Timeout | undefined
  port.on('message', (message: MainMessage) => {
    if (message.type === 'abort') running.get(message.id)?.abort(new DeadlineExceededError(message.deadlineMs))
    else if (message.type === 'forget') settled(message.id)
    else void call(message)
  })

  // Also for a call forgotten past its late-answer time: a handler that never settles must not
  // keep the thread beating, nor its controller, forever.
  const settled = (id: number): void => {
    running.delete(id)
    if (running.size === 0) {
      clearInterval(beat)
      beat = undefined
    }
  }

  const call = async (message: CallMessage): Promise<void> => {
    const controller = new AbortController()
    running.set(message.id, controller)
    beat ??= setInterval(() => post({ type: 'beat' }), BEAT_MS)
    let result: CallResult
    try {
      result = { kind: 'value', value: await invoke(message, controller.signal) }
    } catch (error) {
      result = { kind: 'threw', error: sendError(error) }
    }
    settled(message.id)
    done(message.id, result)
  }

  const invoke = (message: CallMessage, signal: AbortSignal): unknown => {
    const resource = resources.get(message.resource)
    if (!resource) throw new Error(`the handler thread has no external resource "${message.resource}" (was its file added after start?)`)
    const { input, context } = resource.kind.parse(message.body, new LazyRequest(message))
    const { deadline, inputDigest } = message
    let callLogger: Logger | undefined
    const childLogger = () => (callLogger ??= logger.child({ resource: resource.name, inputDigest }))
    return resource.handler(input, new ExternalHandlerContext(resource, context, { signal, deadline, inputDigest, logger: childLogger, connections }))
  }

  const done = (id: number, result: CallResult): void => {
    try {
      post({ type: 'done', id, result })
    } catch {
      // Not structured-cloneable (a function inside): its JSON form, or the reason it has none.
      try {
        const sent: CallResult =
          result.kind === 'value' ? { kind: 'value', value: jsonForm(result.value) } : { kind: 'threw', error: { ...result.error, ...('data' in result.error ? { data: jsonForm(result.error.data) as Record<string, unknown> } : {}) } }
        post({ type: 'done', id, result: sent })
      } catch (error) {
        post({ type: 'done', id, result: { kind: 'threw', error: sendError(error) } })
      }
    }
  }

  post({ type: 'ready' })
}

/**
 * The request as the kind's parser sees it; its URL and headers are built only if it reads them.
 * A class, not a literal with getters, for the reason in runtime/attempt-context.ts.
 */
class LazyRequest implements SourceRequest {
  readonly method = 'POST'
  readonly body: Uint8Array
  readonly #message: CallMessage
  #url: URL | undefined
  #headers: Headers | undefined

  constructor(message: CallMessage) {
    this.body = message.body
    this.#message = message
  }

  get url(): URL {
    return (this.#url ??= new URL(this.#message.url))
  }

  get headers(): Headers {
    return (this.#headers ??= new Headers(this.#message.headers))
  }
}

if (!isMainThread && (workerData as Partial<HandlerThreadData> | null)?.mark === HANDLER_THREAD_MARK) {
  void host(workerData as HandlerThreadData)
}
