/**
 * @module
 * Builds the request a platform would send for a fixture, signs it as that platform signs, and
 * sends it: an Adobe I/O Events CloudEvent (RSA signatures whose public keys are served, for the
 * time of the delivery, where the source fetches them), a Standard Webhook (`whsec_` HMAC), a
 * Commerce Layer webhook or external-resource call (shared-secret HMAC). Each send is a new event
 * (fresh event id, `updated_at` or message id), so sending a fixture twice runs it twice.
 */
import { createHmac, randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { ConfigError } from '../../core/errors.ts'
import { signStandardWebhook } from '../../core/standard-webhooks.ts'
import { normalizeEventCode } from '../../sources/adobe-io-events/index.ts'
import { signCommerceLayer, SIGNATURE_HEADER, TOPIC_HEADER } from '../../sources/commerce-layer/signature.ts'
import { commerceLayerEventId } from '../../sources/commerce-layer/webhooks.ts'
import { startIoEventsSimulator } from '../../testkit/io-events-simulator.ts'
import { mergeData, type Fixture } from './fixtures.ts'
import type { Target } from './target.ts'

export interface BuildOptions {
  /** Overrides the fixture's event type, code or topic. */
  type?: string
  /** Merged into the fixture's payload (see {@link payloadWith}). */
  data?: Record<string, unknown>
}

export interface SignedRequest {
  url: string
  headers: Record<string, string>
  body: string
  /** The event type storehook will store (`observer.sales_order_save_after`); the kind for an external call. */
  type: string
  /** The id storehook will give the event; absent for an external call. */
  eventId?: string
}

export interface Answer {
  status: number
  /** The body as JSON when it is JSON, else as text. */
  body: unknown
}

/** storehook did not answer at all: not running there, or not reachable. */
export class UnreachableError extends Error {}

/**
 * Builds, signs and (unless `dryRun`) sends one request for `fixture` to `target` on the
 * storehook at `baseUrl`.
 *
 * @example
 * const { request, answer } = await send(target, loadFixture('order.created', 'standard-webhooks', 'event'), 'http://127.0.0.1:3000')
 * answer?.status // 200
 */
export async function send(
  target: Target,
  fixture: Fixture,
  baseUrl: string,
  options: BuildOptions & { dryRun?: boolean } = {},
): Promise<{ request: SignedRequest; answer: Answer | null }> {
  const path = target.call === 'external' ? `/external/${target.name}` : `/events/${target.name}`
  const url = `${baseUrl.replace(/\/+$/, '')}${path}`
  const payload = payloadWith(fixture, options.data)
  const type = options.type ?? fixture.type
  if (target.platform === 'adobe-io-events') return sendIoEvent(target, url, type, payload, options.dryRun === true)
  const request = target.platform === 'standard-webhooks' ? standardWebhook(target, url, type, payload) : commerceLayer(target, url, type, payload)
  return { request, answer: options.dryRun ? null : await post(request) }
}

/**
 * The payload with `--data` merged in: into the Commerce fields (`data.value`) of an I/O Events
 * fixture, into a Standard Webhook's `data`, into the attributes of a Commerce Layer document's
 * primary resource.
 */
export function payloadWith(fixture: Fixture, data: Record<string, unknown> | undefined): Record<string, unknown> {
  const payload = structuredClone(fixture.payload)
  if (!data) return payload
  if (fixture.platform !== 'commerce-layer') return mergeData(payload, data) as Record<string, unknown>
  const resource = payload.data as { attributes?: unknown } | undefined
  if (typeof resource !== 'object' || resource === null) throw new ConfigError(`send: fixture ${fixture.name}: payload.data: expected the JSON:API resource --data is merged into`)
  resource.attributes = mergeData(resource.attributes ?? {}, data)
  return payload
}

async function sendIoEvent(target: Extract<Target, { platform: 'adobe-io-events' }>, url: string, type: string, value: Record<string, unknown>, dryRun: boolean) {
  const port = dryRun ? 0 : await keyServerPort(target)
  const io = await startIoEventsSimulator({ port, clientId: target.clientId })
  try {
    const code = /^(observer|plugin)\./.test(type) ? `com.adobe.commerce.${type}` : type
    const event = io.cloudEvent(code, value)
    const body = JSON.stringify(event)
    const bytes = new TextEncoder().encode(body)
    const eventId = String(event.eventid)
    // Adobe's deprecated scheme, for a source that still requires it: HMAC of the body with the client secret.
    const legacy: Record<string, string> = target.legacySecret ? { 'x-adobe-signature': createHmac('sha256', target.legacySecret).update(bytes).digest('base64') } : {}
    const headers = io.signedHeaders(bytes, { eventCode: code, eventId, headers: legacy })
    const request: SignedRequest = { url, headers, body, type: normalizeEventCode(code), eventId }
    // The simulator must still be serving its keys while storehook verifies: close only after the answer.
    return { request, answer: dryRun ? null : await post(request) }
  } finally {
    await io.close()
  }
}

/**
 * The port on 127.0.0.1 where the source fetches its keys, checked free: the simulator serves
 * them there while the event is delivered (each send uses new key paths, so keys cached from an
 * earlier send never get in the way).
 */
async function keyServerPort(target: Extract<Target, { platform: 'adobe-io-events' }>): Promise<number> {
  const base = new URL(target.publicKeyBaseUrl)
  const fix = `set the source's publicKeyBaseUrl (in the examples, IO_EVENTS_PUBLIC_KEY_BASE_URL) to http://127.0.0.1:4100 and restart storehook`
  if (base.protocol !== 'http:' || base.hostname !== '127.0.0.1' || base.pathname.replace(/\/+$/, '') !== '') {
    throw new ConfigError(
      `send: source "${target.name}" fetches Adobe I/O Events public keys from ${base.origin}${base.pathname}; ` +
        `storehook send signs with the testkit's keys, which it can serve only at http://127.0.0.1:<port>: ${fix}`,
    )
  }
  const port = Number(base.port || 80)
  const free = await new Promise<boolean>((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
  if (!free) {
    throw new ConfigError(
      `send: 127.0.0.1:${port} (publicKeyBaseUrl of source "${target.name}") is in use; storehook send serves its signing keys there ` +
        'while it delivers: stop what listens there (storehook simulate io-events?), or point publicKeyBaseUrl at a free port',
    )
  }
  return port
}

function standardWebhook(target: Extract<Target, { platform: 'standard-webhooks' }>, url: string, type: string, data: Record<string, unknown>): SignedRequest {
  const id = `msg_${randomUUID().replaceAll('-', '')}`
  const timestamp = Math.floor(Date.now() / 1000)
  const message: Record<string, unknown> = { type, timestamp: new Date(timestamp * 1000).toISOString(), data }
  // A source reading its type elsewhere (`typeField: 'data.event_type'`) gets it there instead.
  if (target.typeField !== 'type') {
    delete message.type
    setPath(message, target.typeField.split('.'), type)
  }
  const body = JSON.stringify(message)
  const headers = {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandardWebhook(target.secret, id, timestamp, new TextEncoder().encode(body)),
  }
  return { url, headers, body, type, eventId: id }
}

function commerceLayer(target: Extract<Target, { platform: 'commerce-layer' }>, url: string, type: string, document: Record<string, unknown>): SignedRequest {
  const resource = document.data as { attributes?: Record<string, unknown> } | undefined
  // Commerce Layer sends no delivery id: storehook derives the event id from updated_at, which a
  // real change moves on. Moving it here makes each send a new change, not a redelivery.
  if (target.call === 'event' && resource && typeof resource.attributes === 'object' && resource.attributes !== null) {
    resource.attributes.updated_at = new Date().toISOString()
  }
  const body = JSON.stringify(document)
  const headers: Record<string, string> = { 'content-type': 'application/json', [SIGNATURE_HEADER]: signCommerceLayer(target.secret, body) }
  if (target.call === 'external') return { url, headers, body, type: target.kind }
  headers[TOPIC_HEADER] = type
  return { url, headers, body, type, eventId: commerceLayerEventId(type, document, new TextEncoder().encode(body), target.eventIdMode) }
}

async function post(request: SignedRequest): Promise<Answer> {
  let response: Response
  try {
    response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(30_000) })
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message
    throw new UnreachableError(`nothing answers at ${new URL(request.url).origin} (${cause}): is storehook running there? Start it with storehook start, or give --url`)
  }
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: shown as text
  }
  return { status: response.status, body }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {}
    node = node[key] as Record<string, unknown>
  }
  node[path[path.length - 1]!] = value
}
