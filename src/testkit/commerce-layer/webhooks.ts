/**
 * @module
 * Real-time webhooks as Commerce Layer sends them (reference/commerce-layer.md §5): a `POST` of the
 * resource with the webhook's `include_resources`, signed, with the topic in
 * `X-CommerceLayer-Topic`; a delivery fails unless a 2xx comes within 5 s; a failed delivery is
 * retried up to 10 times (intervals undocumented: `retryDelayMs`, UNVERIFIED); every attempt is
 * recorded as an `event_callbacks` resource; after 30 consecutive failures, retries included, the
 * webhook's breaker opens and nothing more is sent until `_reset_circuit`. `_trigger` on the
 * topic's `events` resource sends the last payload again, "regardless of its uniqueness".
 */
import { failureCount, isOpen, recordFailure, recordSuccess, WEBHOOK_BREAKER, type BreakerNotification } from './breaker.ts'
import { deliver } from './send.ts'
import type { Ref, ResourceStore, StoredResource } from './store.ts'

/** One delivery attempt, as its `event_callbacks` resource records it. */
export interface EventCallback {
  id: string
  webhook: Ref
  topic: string
  callback_url: string
  /** The exact body sent. */
  payload: string
  /** The signature header sent. */
  signature: string
  /** The status answered, or `null` on a timeout or no connection. */
  response_code: number | null
  response_message: string
  /** 0 for the first try, then 1…retries. */
  retry: number
  at: number
}

/** What became of one webhook's delivery of one event. */
export interface WebhookDelivery {
  webhook: Ref
  topic: string
  delivered: boolean
  /** Not sent at all: the webhook's breaker was already open, or the webhook is disabled. */
  skipped: boolean
  attempts: EventCallback[]
  circuit: { state: 'closed' | 'open'; failureCount: number }
}

export interface WebhookEngine {
  store: ResourceStore
  timeoutMs: number
  retries: number
  retryDelayMs(retry: number): number
  contentType: string
  notify(notification: BreakerNotification): void
  record(callback: EventCallback): void
  /** Waits `ms`, or rejects when the simulator closes. */
  sleep(ms: number): Promise<void>
  now(): number
}

/**
 * Sends `resource` to every enabled webhook on `topic`, each with its own retries; resolves when
 * every delivery has succeeded or given up. The topic's `events` resource remembers the payload
 * for `_trigger`.
 *
 * @example
 * const [delivery] = await fireTopic(engine, 'orders.place', { type: 'orders', id })
 * delivery.delivered // true once the endpoint answered 2xx
 */
export async function fireTopic(engine: WebhookEngine, topic: string, resource: Ref): Promise<WebhookDelivery[]> {
  const event = eventFor(engine.store, topic)
  event.attributes.last_resource = resource // the simulator's own field: what `_trigger` sends again
  const webhooks = engine.store.list('webhooks').filter((webhook) => webhook.attributes.topic === topic)
  return Promise.all(webhooks.map((webhook) => deliverWebhook(engine, webhook, resource)))
}

/** The topic's `events` resource, created on first use. */
export function eventFor(store: ResourceStore, topic: string): StoredResource {
  return store.list('events').find((event) => event.attributes.name === topic) ?? store.add('events', { name: topic }, { webhooks: [], last_event_callbacks: [] })
}

async function deliverWebhook(engine: WebhookEngine, webhook: StoredResource, resource: Ref): Promise<WebhookDelivery> {
  const topic = String(webhook.attributes.topic)
  const attempts: EventCallback[] = []
  const result = (delivered: boolean, skipped: boolean): WebhookDelivery => ({
    webhook: { type: webhook.type, id: webhook.id },
    topic,
    delivered,
    skipped,
    attempts,
    circuit: { state: isOpen(webhook.attributes) ? 'open' : 'closed', failureCount: failureCount(webhook.attributes) },
  })
  if (webhook.attributes.disabled_at != null || isOpen(webhook.attributes)) return result(false, true)
  const target = engine.store.get(resource.type, resource.id)
  const include = Array.isArray(webhook.attributes.include_resources) ? (webhook.attributes.include_resources as string[]) : []
  // A `.destroy` topic carries only the id (hookdeck's summary, third-party): the resource is gone.
  const body = JSON.stringify(target ? engine.store.serialize(target, { include, linkBase: '' }) : { data: { id: resource.id, type: resource.type } })

  for (let retry = 0; retry <= engine.retries; retry++) {
    if (retry > 0) await engine.sleep(engine.retryDelayMs(retry))
    if (isOpen(webhook.attributes) || webhook.attributes.disabled_at != null) return result(false, false)
    const sent = await deliver({ url: String(webhook.attributes.callback_url), body, sharedSecret: String(webhook.attributes.shared_secret), timeoutMs: engine.timeoutMs, topic, contentType: engine.contentType })
    const ok = sent.answered && sent.status >= 200 && sent.status < 300
    const callback = engine.store.add('event_callbacks', {
      callback_url: webhook.attributes.callback_url,
      payload: body,
      response_code: sent.answered ? String(sent.status) : null,
      response_message: sent.answered ? sent.body.slice(0, 1000) : sent.message,
    }, { webhook: { type: webhook.type, id: webhook.id } })
    engine.store.link(webhook, 'last_event_callbacks', { type: callback.type, id: callback.id })
    const record: EventCallback = {
      id: callback.id,
      webhook: { type: webhook.type, id: webhook.id },
      topic,
      callback_url: String(webhook.attributes.callback_url),
      payload: body,
      signature: sent.request.headers['X-CommerceLayer-Signature'] ?? '',
      response_code: sent.answered ? sent.status : null,
      response_message: sent.answered ? sent.body.slice(0, 1000) : sent.message,
      retry,
      at: engine.now(),
    }
    attempts.push(record)
    engine.record(record)
    if (ok) {
      recordSuccess(webhook.attributes)
      return result(true, false)
    }
    const event = recordFailure(webhook.attributes, WEBHOOK_BREAKER)
    if (event) engine.notify({ ...event, owner: { type: webhook.type, id: webhook.id }, at: engine.now() })
  }
  return result(false, false)
}
