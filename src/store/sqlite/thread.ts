/**
 * @module
 * Runs the SQLite store on a worker thread, behind the same Store contract.
 *
 * Why: `node:sqlite` is synchronous, so on the main thread every COMMIT — and with
 * `synchronous=FULL` its fsync, plus the WAL checkpoints that land inside some commits — stops
 * the event loop. Every request arriving meanwhile waits: ingest acknowledgements, and worse, the
 * synchronous external resources that must answer within the platform's deadline. On its own
 * thread the store fsyncs while the main thread goes on parsing, verifying and answering, and
 * the requests that arrive during one commit naturally form the next group commit.
 *
 * The protocol is one request per Store call (`{ id, method, args }` → `{ id, ok, value | error }`),
 * values passed by structured clone. Requests (and replies) made in one turn of the event loop
 * travel as one message: each message wakes the other thread, a system call that on a small VM
 * cost more than the SQL it carried. This file is both ends: imported on the main thread it
 * exports {@link openThreadedSqliteStore}; loaded as the thread's entry it hosts the store.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import type { FinishAttempt, Store } from '../store.ts'
import { openSqliteStore, type SqliteStoreOptions } from './index.ts'

/** The Store methods forwarded to the thread (everything but `kind` and `close`). */
const METHODS = [
  'ingest',
  'claimRuns',
  'finishAttempt',
  'releaseRuns',
  'nextRunAt',
  'replayRun',
  'replayDeadRuns',
  'listEvents',
  'getEvent',
  'listRuns',
  'getRun',
  'listAttempts',
  'runsForEvent',
  'countRunsByState',
  'countEventsPerMinute',
  'fingerprintMatches',
  'listSteps',
  'saveStep',
  'resumePausedRuns',
  'latestVersion',
  'ping',
  'recordExternalCalls',
  'listExternalCalls',
  'recordActivation',
  'getActivation',
  'listActivations',
  'applyRetention',
  'searchExpunge',
  'applyExpunge',
  'listExpunges',
  'recordRunLogs',
  'listRunLogs',
  'recordOutboundCalls',
  'listOutboundCalls',
] as const satisfies readonly (keyof Store)[]

type Method = (typeof METHODS)[number] | 'close'
type Request = { id: number; method: Method; args: unknown[] }
type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError }
type Ready = { ready: true } | { ready: false; error: SerializedError }
interface SerializedError {
  name: string
  message: string
  stack?: string
}

const THREAD_MARK = 'storehook-sqlite-store'

/**
 * Opens (creating and migrating if needed) a SQLite store on its own thread.
 *
 * @example
 * const store = await openThreadedSqliteStore({ path: '.storehook/storehook.db' })
 * await store.ingest([{ source: 'webhooks', event, runs: [] }])
 * await store.close()
 */
export async function openThreadedSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  // This same file is the thread's entry; from source it is .ts, once built it is .js.
  const worker = new Worker(new URL(import.meta.url), { workerData: { mark: THREAD_MARK, options } })
  const pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>()
  let nextId = 1
  let stopped: Error | null = null

  // The thread keeps the process alive only while a call waits on it, like a socket would.
  worker.unref()
  const settle = (id: number) => {
    const call = pending.get(id)
    pending.delete(id)
    if (pending.size === 0) worker.unref()
    return call
  }
  const stop = (error: Error) => {
    stopped ??= error
    for (const id of [...pending.keys()]) settle(id)!.reject(stopped)
  }

  await new Promise<void>((resolve, reject) => {
    worker.ref()
    worker.once('message', (ready: Ready) => {
      worker.unref()
      if (ready.ready) resolve()
      else reject(deserializeError(ready.error))
    })
    worker.once('error', reject)
  })
  worker.on('message', (replies: Reply[]) => {
    for (const reply of replies) {
      const call = settle(reply.id)
      if (!call) continue
      if (reply.ok) call.resolve(reply.value)
      else call.reject(deserializeError(reply.error))
    }
  })
  worker.on('error', (error) => stop(new Error('the SQLite store thread failed', { cause: error })))
  worker.on('exit', () => stop(new Error('the SQLite store is closed')))

  const send = batched<Request>((requests) => {
    try {
      worker.postMessage(requests)
    } catch {
      // Structured clone refused something (too deeply nested, a function): that call fails,
      // not its batch — and not the process, as a throw here, outside any caller, would.
      for (const request of requests) {
        try {
          worker.postMessage([request])
        } catch (error) {
          settle(request.id)?.reject(new Error(`the SQLite store cannot take this ${request.method} call: ${(error as Error).message}`, { cause: error }))
        }
      }
    }
  })
  const call = (method: Method, args: unknown[]): Promise<any> => {
    if (stopped) return Promise.reject(stopped)
    const id = nextId++
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject })
      worker.ref()
      send({ id, method, args: method === 'finishAttempt' ? [cloneableEnd(args[0] as FinishAttempt)] : args })
    })
  }

  const store = { kind: 'sqlite' } as Record<string, unknown>
  for (const method of METHODS) store[method] = (...args: unknown[]) => call(method, args)
  let closing: Promise<void> | undefined
  store.close = () => {
    closing ??= stopped ? Promise.resolve() : call('close', []).then(() => worker.terminate()).then(() => {})
    return closing
  }
  return store as unknown as Store
}

/**
 * An attempt's error may carry anything as its `cause` (a socket, a function) that structured
 * clone refuses; the store keeps only its message and stack.
 */
function cloneableEnd(finish: FinishAttempt): FinishAttempt {
  if (finish.end.outcome === 'succeeded' || finish.end.outcome === 'skipped') return finish
  const { name, message, stack } = finish.end.error
  return { ...finish, end: { ...finish.end, error: deserializeError({ name, message, ...(stack ? { stack } : {}) }) } }
}

/** Collects what is sent during one turn of the event loop and hands it to `post` as one batch. */
function batched<T>(post: (batch: T[]) => void): (message: T) => void {
  let batch: T[] | null = null
  return (message) => {
    if (batch) return void batch.push(message)
    batch = [message]
    setImmediate(() => {
      const full = batch!
      batch = null
      post(full)
    })
  }
}

function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) }
  return { name: 'Error', message: String(error) }
}

function deserializeError({ name, message, stack }: SerializedError): Error {
  const error = name === 'RangeError' ? new RangeError(message) : new Error(message)
  if (name !== error.name) error.name = name
  if (stack) error.stack = stack
  return error
}

function hostStore(options: SqliteStoreOptions): void {
  const port = parentPort!
  let store: Store
  try {
    store = openSqliteStore(options)
  } catch (error) {
    port.postMessage({ ready: false, error: serializeError(error) } satisfies Ready)
    return
  }
  port.postMessage({ ready: true } satisfies Ready)
  const reply = batched<Reply>((replies) => port.postMessage(replies))
  port.on('message', (requests: Request[]) => {
    for (const { id, method, args } of requests) {
      const fn = store[method] as (...args: unknown[]) => Promise<unknown>
      Promise.resolve()
        .then(() => fn.apply(store, args))
        .then(
          (value) => reply({ id, ok: true, value }),
          (error: unknown) => reply({ id, ok: false, error: serializeError(error) }),
        )
    }
  })
}

if (!isMainThread && (workerData as { mark?: string } | null)?.mark === THREAD_MARK) {
  hostStore((workerData as { options: SqliteStoreOptions }).options)
}
