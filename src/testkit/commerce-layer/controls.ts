/**
 * @module
 * The simulator's own control routes, with no Commerce Layer counterpart, so a simulator run by
 * `storehook simulate commerce-layer` can be driven with curl:
 * - `POST /_simulator/calls/<kind>[?action=&id=&ownerId=]` makes one external call and answers its record;
 * - `POST /_simulator/webhooks/<topic>[?type=&id=]` fires a topic (default: the sample order) and
 *   answers the deliveries.
 */
import type { ExternalCallOptions, ExternalCallRecord } from './external.ts'
import { NotConfiguredError } from './external.ts'
import { EXTERNAL_KINDS, PAYMENT_ACTIONS, TargetError, type ExternalKind, type PaymentAction } from './kinds.ts'
import type { Ref } from './store.ts'
import type { WebhookDelivery } from './webhooks.ts'

export interface Controllable {
  call(kind: ExternalKind, options?: ExternalCallOptions): Promise<ExternalCallRecord>
  fire(topic: string, resource: Ref): Promise<WebhookDelivery[]>
  defaultOrderId: string
}

/**
 * Answers a control route as `[status, body]`, or `undefined` when `path` is not one.
 *
 * @example
 * await handleControl(simulator, 'POST', '/_simulator/calls/payment', new URLSearchParams('action=capture'))
 */
export async function handleControl(target: Controllable, method: string, path: string, query: URLSearchParams): Promise<[number, unknown] | undefined> {
  const control = /^\/_simulator\/(calls|webhooks)\/([^/]+)$/.exec(path)
  if (!control || method !== 'POST') return undefined
  const [, route, name = ''] = control
  if (route === 'webhooks') return [200, await target.fire(name, { type: query.get('type') ?? 'orders', id: query.get('id') ?? target.defaultOrderId })]
  const kind = name as ExternalKind
  const action = query.get('action') as PaymentAction | null
  if (!EXTERNAL_KINDS.includes(kind) || (action !== null && !PAYMENT_ACTIONS.includes(action))) {
    return [404, { error: `kinds: ${EXTERNAL_KINDS.join(', ')}; actions: ${PAYMENT_ACTIONS.join(', ')}` }]
  }
  const options: ExternalCallOptions = {}
  if (action !== null) options.action = action
  const id = query.get('id')
  if (id !== null) options.id = id
  const ownerId = query.get('ownerId')
  if (ownerId !== null) options.ownerId = ownerId
  try {
    return [200, await target.call(kind, options)]
  } catch (error) {
    // Not configured, or no such resource: the caller's mistake, said plainly.
    if (error instanceof NotConfiguredError || error instanceof TargetError) return [409, { error: error.message }]
    throw error
  }
}
