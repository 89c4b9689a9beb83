/**
 * @module
 * An App Builder project as the runtime holds it: its manifest, the invoker that runs its actions
 * in isolated threads, and the activation records of every invocation — whatever started it (an
 * event's run, a web request, the OpenWhisk API, a webhook). The server's App Builder routes
 * (`server/app-builder.ts`) reach the project through this object.
 */
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { ActivationFilter, ActivationRecord, Store } from '../../store/store.ts'
import type { LoadedAction } from '../subscriptions.ts'
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../core/retry.ts'
import { eventActions, type InvokeForRun } from './event-actions.ts'
import { Invoker, type InvokeOptions } from './invoker.ts'
import type { Activation, AppBuilderAction, AppBuilderManifest } from './types.ts'

/** The namespace storehook answers to when `__OW_NAMESPACE` is not set. */
export const DEFAULT_NAMESPACE = 'storehook'

export class AppBuilderApp {
  readonly manifest: AppBuilderManifest
  /** `__OW_NAMESPACE` of the actions, and the `<ns>` of `/api/v1/namespaces/<ns>/…`. */
  readonly namespace: string
  /**
   * The key the `openwhisk` client presents (`__OW_API_KEY` inside actions, so an action's
   * `openwhisk()` invokes its siblings here): `STOREHOOK_OW_API_KEY`, else made up per process.
   */
  readonly apiKey: string
  /** The storehook actions bound by the manifest's I/O Events registrations. */
  readonly eventActions: LoadedAction[]
  #invoker: Invoker | undefined
  #store: Store | undefined
  #logger: Logger | undefined
  #apiHost = 'http://127.0.0.1'

  constructor(manifest: AppBuilderManifest, options: { namespace?: string; apiKey?: string; retry?: RetryPolicy } = {}) {
    this.manifest = manifest
    this.namespace = options.namespace || DEFAULT_NAMESPACE
    // OpenWhisk keys are `<uuid>:<secret>`; the client sends them as Basic credentials.
    this.apiKey = options.apiKey || `${crypto.randomUUID()}:${randomBytes(32).toString('base64url')}`
    const invoke: InvokeForRun = (action, params, run) => this.invoke(action, params, { cause: 'event', ...run })
    this.eventActions = eventActions(manifest, invoke, options.retry ?? DEFAULT_RETRY_POLICY)
  }

  /** Called by the runtime once its store and logger exist. */
  start(options: { store: Store; logger: Logger }): void {
    this.#store = options.store
    this.#logger = options.logger
    // Webhook and journal registrations are I/O Events' to deliver, not storehook's: said once, at start.
    for (const skipped of this.manifest.skippedRegistrations ?? []) {
      options.logger.warn({ registration: skipped.name, eventCodes: skipped.eventCodes, file: skipped.declaredIn }, skipped.reason)
    }
    this.#invoker = new Invoker({
      namespace: this.namespace,
      apiHost: () => this.#apiHost,
      apiKey: this.apiKey,
      logger: options.logger,
    })
  }

  /** For the routes: failures of invocations nobody waits for (non-blocking API calls). */
  get logger(): Logger | undefined {
    return this.#logger
  }

  /** Where actions reach storehook (`__OW_API_HOST`): set once the server listens. */
  setApiHost(url: string): void {
    this.#apiHost = url
  }

  action(fullName: string): AppBuilderAction | undefined {
    return this.manifest.actions.find((a) => a.fullName === fullName)
  }

  /**
   * Invokes an action and records its activation (a record that cannot be written is logged,
   * never allowed to change the invocation's outcome).
   *
   * @example
   * const activation = await app.invoke(app.action('my-app/hello')!, { name: 'Ada' }, { cause: 'invoke' })
   * activation.result // { body: 'Hello, Ada' }
   */
  async invoke(action: AppBuilderAction, params: Record<string, unknown>, options: InvokeOptions): Promise<Activation> {
    if (!this.#invoker) throw new Error('the App Builder project is not started yet (AppBuilderApp.start)')
    const activation = await this.#invoker.invoke(action, params, options)
    await this.#store?.recordActivation?.(toRecord(activation)).catch((error: unknown) => {
      this.#logger?.error({ err: error, activationId: activation.activationId }, 'could not record an activation')
    })
    return activation
  }

  async activation(id: string): Promise<Activation | undefined> {
    const record = await this.#store?.getActivation?.(id)
    return record ? fromRecord(record) : undefined
  }

  async activations(filter: ActivationFilter): Promise<Activation[]> {
    return ((await this.#store?.listActivations?.(filter)) ?? []).map(fromRecord)
  }

  /** Ends every action thread; invocations still in flight end as developer errors. */
  async close(): Promise<void> {
    await this.#invoker?.close()
  }
}

function toRecord(a: Activation): ActivationRecord {
  return { ...a, runId: a.runId ?? null, attempt: a.attempt ?? null }
}

function fromRecord(r: ActivationRecord): Activation {
  const { runId, attempt, ...rest } = r
  return {
    ...rest,
    cause: r.cause as Activation['cause'],
    status: r.status as Activation['status'],
    ...(runId !== null ? { runId } : {}),
    ...(attempt !== null ? { attempt } : {}),
  }
}
