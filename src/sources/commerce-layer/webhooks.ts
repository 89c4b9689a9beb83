/**
 * @module
 * The `commerce-layer` source: Commerce Layer's real-time webhooks on `POST /events/<source>`
 * (shared/reference/commerce-layer.md §5). Each delivery is one event: the topic header
 * (`X-CommerceLayer-Topic: orders.place`) is its type and the JSON:API body its payload.
 *
 * Commerce Layer sends no delivery id and retries up to 10 times (and `_trigger` re-fires), so the
 * event id is derived: `<topic>/<data.id>/<data.attributes.updated_at>` when the resource has an
 * `updated_at` (the same change of the same resource under the same topic is the same event),
 * otherwise `<topic>/<data.id>/body-<sha256 of the body>` (`.destroy` topics carry only the id).
 * A repeated delivery is therefore acknowledged as a duplicate and never run twice.
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { MalformedRequestError } from '../../core/errors.ts'
import { parseJsonBody } from '../../core/json.ts'
import { redactHeaders } from '../../core/redact.ts'
import type { InboundEvent } from '../../core/types.ts'
import type { Source, SourceKind, SourceRequest } from '../source.ts'
import { commerceLayerKey, sharedSecrets, TOPIC_HEADER, verifyCommerceLayerSignature } from './signature.ts'

const configSchema = z.object({
  /** The webhooks' shared secrets; one string may hold several separated by spaces (rotation). */
  secrets: sharedSecrets,
  /**
   * `resource` (default): the id comes from topic, `data.id` and `updated_at`, falling back to a
   * body digest. `body`: always the body digest (two deliveries are one event only when
   * byte-identical).
   */
  eventId: z.enum(['resource', 'body']).default('resource'),
})

export type CommerceLayerWebhooksConfig = z.output<typeof configSchema>

/** A topic is `{resource}.{event}`: letters, digits, `_`, `.`. */
const TOPIC = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/i

/**
 * Derives the event id of one delivery (see the module comment).
 *
 * @example
 * commerceLayerEventId('orders.place', { data: { id: 'ZxY', type: 'orders', attributes: { updated_at: '2026-01-01T00:00:00.000Z' } } }, body)
 * // 'orders.place/ZxY/2026-01-01T00:00:00.000Z'
 */
export function commerceLayerEventId(topic: string, payload: Record<string, unknown>, body: Uint8Array, mode: 'resource' | 'body' = 'resource'): string {
  const data = payload.data as { id?: unknown; attributes?: { updated_at?: unknown } } | undefined
  const id = typeof data?.id === 'string' && data.id !== '' ? data.id : '-'
  const updatedAt = data?.attributes?.updated_at
  if (mode === 'resource' && id !== '-' && typeof updatedAt === 'string' && updatedAt !== '') return `${topic}/${id}/${updatedAt}`
  return `${topic}/${id}/body-${createHash('sha256').update(body).digest('hex')}`
}

function parseBody(body: Uint8Array): Record<string, unknown> {
  const parsed = parseJsonBody(body)
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MalformedRequestError('body must be a JSON:API document: a JSON object with "data"')
  }
  const data = (parsed as { data?: unknown }).data
  if (typeof data !== 'object' || data === null || Array.isArray(data) || typeof (data as { type?: unknown }).type !== 'string') {
    throw new MalformedRequestError('data: expected a JSON:API resource object with a string "type"')
  }
  return parsed as Record<string, unknown>
}

/** Verification is synchronous, so callers that know the kind (tests, bench) need not await. */
export interface CommerceLayerWebhooksSource extends Source {
  receive(request: SourceRequest, now: number): InboundEvent[]
}

/**
 * Receives Commerce Layer real-time webhooks. Register `https://<host>/events/<source>` as the
 * webhook's `callback_url`; the event payload is the JSON:API body as sent (denormalize it with
 * `commerceLayer.parseJsonApi(event.payload)`).
 *
 * @example
 * // storehook.config.ts
 * sources: { cl: { kind: 'commerce-layer', secrets: env('CL_SHARED_SECRET') } }
 * // actions/order-placed.ts
 * export default onEvent({ types: 'orders.place', source: 'cl' }, async (event) => { … })
 */
export const commerceLayerWebhooks = {
  kind: 'commerce-layer',
  configSchema,
  create(name: string, config: CommerceLayerWebhooksConfig): CommerceLayerWebhooksSource {
    const keys = config.secrets.map(commerceLayerKey)
    return {
      name,
      kind: 'commerce-layer',
      receive(request: SourceRequest): InboundEvent[] {
        verifyCommerceLayerSignature({ headers: request.headers, body: request.body, secrets: keys })
        const topic = request.headers.get(TOPIC_HEADER)?.trim()
        if (!topic) throw new MalformedRequestError(`missing ${TOPIC_HEADER} header: the event type`)
        if (!TOPIC.test(topic)) throw new MalformedRequestError(`${TOPIC_HEADER}: expected a topic such as orders.place`)
        const payload = parseBody(request.body)
        const id = commerceLayerEventId(topic, payload, request.body, config.eventId)
        return [{ id, type: topic, payload, headers: redactHeaders(request.headers) }]
      },
    }
  },
} satisfies SourceKind<typeof configSchema>
