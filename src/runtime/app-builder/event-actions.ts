/**
 * @module
 * Event-consuming App Builder actions: the project's I/O Events registrations turned into storehook
 * actions. Each verified event from the `io-events` source becomes a durable run; an attempt
 * invokes the OpenWhisk action with params built as I/O Events builds them (the CloudEvent's
 * fields at the top level, the delivery headers in `__adobe_headers`, the action's inputs), and
 * its result is judged as I/O Events judges a delivery: 2xx succeeded; 429, 5xx (but 505), 6xx,
 * a throw, a timeout or a failed floating promise are retried; any other status is dead — where
 * I/O Events would drop it silently, storehook keeps it in the dead-letter list to replay.
 * See ../../../../shared/reference/adobe-commerce.md §3.1, §3.4, §7.1.
 */
import { PermanentError } from '../../core/errors.ts'
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../core/retry.ts'
import { normalizeEventCode } from '../../sources/adobe-io-events/index.ts'
import type { ActionEvent, ActionContext } from '../action.ts'
import type { LoadedAction } from '../subscriptions.ts'
import type { Activation, AppBuilderAction, AppBuilderManifest } from './types.ts'

/** The source App Builder projects receive I/O Events deliveries on: `POST /events/io-events`. */
export const IO_EVENTS_SOURCE = 'io-events'

/** Runs an invocation for an attempt; the runtime supplies it (it owns the invoker and the store). */
export type InvokeForRun = (
  action: AppBuilderAction,
  params: Record<string, unknown>,
  options: { runId: number; attempt: number; signal: AbortSignal },
) => Promise<Activation>

/** Headers I/O Events strips before invoking a runtime action (its signature validator consumes them). */
const STRIPPED_HEADER = /^x-adobe-(digital-signature-\d|public-key\d-path|signature)$/

/**
 * The storehook actions for a manifest's registrations: one per bound OpenWhisk action, consuming
 * every event code registered to it (matched as the `io-events` source normalizes them, so a
 * prefixed `com.adobe.commerce.<app>.observer.x` matches `observer.x`).
 *
 * @example
 * const actions = eventActions(manifest, (action, params, run) => invoker.invoke(action, params, { cause: 'event', ...run }))
 */
export function eventActions(manifest: AppBuilderManifest, invoke: InvokeForRun, retry: RetryPolicy = DEFAULT_RETRY_POLICY): LoadedAction[] {
  const byAction = new Map<string, Set<string>>()
  for (const registration of manifest.registrations) {
    const types = byAction.get(registration.action) ?? new Set<string>()
    for (const code of registration.eventCodes) types.add(normalizeEventCode(code))
    byAction.set(registration.action, types)
  }
  return [...byAction].map(([fullName, types]) => {
    const action = manifest.actions.find((a) => a.fullName === fullName)!
    const typeList = [...types]
    return {
      name: fullName,
      file: action.declaredIn,
      types: typeList,
      sources: [IO_EVENTS_SOURCE],
      retry,
      concurrency: null,
      // The invoker cuts the invocation at the action's own limit and says so; the worker's
      // timeout, a little later, only guards against the invoker itself hanging.
      timeoutMs: action.timeoutMs + 5_000,
      handler: async (event: ActionEvent, ctx: ActionContext) => {
        const activation = await invoke(action, eventParams(action, event), { runId: ctx.runId, attempt: ctx.attempt, signal: ctx.signal })
        judge(activation)
      },
      matchesType: (type: string) => typeList.includes(type),
      orderingKey: () => null,
      version: null,
    }
  })
}

/**
 * The params an I/O Events delivery gives a runtime action: its inputs, under the CloudEvent's
 * fields, plus `__adobe_headers`. With `final`, the inputs win over the event's fields.
 */
export function eventParams(action: AppBuilderAction, event: Pick<ActionEvent, 'payload' | 'headers'>): Record<string, unknown> {
  const cloudEvent = typeof event.payload === 'object' && event.payload !== null ? (event.payload as Record<string, unknown>) : { data: event.payload }
  const headers = Object.fromEntries(Object.entries(event.headers).filter(([name]) => !STRIPPED_HEADER.test(name)))
  const delivered = { ...cloudEvent, __adobe_headers: headers }
  return action.final ? { ...delivered, ...action.inputs } : { ...action.inputs, ...delivered }
}

/**
 * The HTTP status an activation's result stands for: `statusCode` (default 200), or an error's
 * `statusCode`; a developer error or an error without one stands for a 500.
 */
export function resultStatus(activation: Pick<Activation, 'status' | 'result'>): number {
  if (activation.status === 'action developer error') return 500
  const { result } = activation
  const error = result.error ?? (result.type === 'error' ? result : undefined)
  if (error !== undefined) {
    const code = (error as { statusCode?: unknown } | null)?.statusCode
    return typeof code === 'number' && Number.isInteger(code) ? code : 500
  }
  return typeof result.statusCode === 'number' && Number.isInteger(result.statusCode) ? result.statusCode : 200
}

/** I/O Events retries 429, 5xx except 505, and 6xx (retry-doc.md). */
export function isRetriedStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status < 700 && status !== 505)
}

/** Finishes the attempt as I/O Events would judge the delivery: returns, throws, or throws permanently. */
function judge(activation: Activation): void {
  const status = resultStatus(activation)
  if (status >= 200 && status < 300) return
  const detail = describeFailure(activation)
  const message = `action ${activation.action} answered ${status}${detail ? `: ${detail}` : ''} (activation ${activation.activationId})`
  if (isRetriedStatus(status)) throw new Error(message)
  throw new PermanentError(`${message}; I/O Events would not retry a ${status}, so the run is dead (replay it once fixed)`)
}

function describeFailure(activation: Activation): string {
  const error = activation.result.error
  if (typeof error === 'string') return error
  const body = (error as { body?: unknown } | undefined)?.body ?? activation.result.body
  if (body === undefined) return ''
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  return text.length > 500 ? `${text.slice(0, 500)}…` : text
}
