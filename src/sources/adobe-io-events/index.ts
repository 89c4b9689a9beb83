/**
 * @module
 * The `adobe-io-events` source: deliveries from Adobe I/O Events to a webhook, as Adobe Commerce
 * events reach integrations (`com.adobe.commerce.observer.sales_order_save_after`, …).
 *
 * - Body: one CloudEvent, or a JSON array of up to 20 of them (`webhook_batch` registrations).
 * - Signatures: `x-adobe-digital-signature-1` and `-2`, each a base64 RSA-SHA256 signature of the
 *   raw body under the public key at `x-adobe-public-key1-path` / `-2-path`; either passing is
 *   enough (Adobe rotates keys by sending both). Optionally the legacy `x-adobe-signature` HMAC.
 * - Recipient: `recipientclientid` (or the deprecated `recipient_client_id`, removed by Adobe at
 *   the end of 2026) must be the configured client id, so a delivery meant for another
 *   integration is refused even though Adobe signed it.
 * - Handshake: `GET ?challenge=…` is answered by {@link AdobeIoEventsSource.handshake}; a POSTed
 *   `{"validationUrl": …}` is recorded for the user to open (see `status()`), never fetched by us.
 * See ../../../../shared/reference/adobe-commerce.md §3.
 */
import { createHmac, timingSafeEqual, verify } from 'node:crypto'
import { z } from 'zod'
import { HttpError, MalformedRequestError, VerificationError } from '../../core/errors.ts'
import { parseJsonBody } from '../../core/json.ts'
import { redactHeaders } from '../../core/redact.ts'
import type { InboundEvent } from '../../core/types.ts'
import type { Source, SourceKind, SourceRequest } from '../source.ts'
import { DEFAULT_PUBLIC_KEY_BASE_URL, MAX_KEY_CACHE_MS, PublicKeys } from './public-keys.ts'

/** I/O Events batches hold at most 20 events. */
export const MAX_BATCH = 20
const COMMERCE_PREFIX = 'com.adobe.commerce.'
/** Where a Commerce event name starts once prefixes and app ids are gone. */
const COMMERCE_EVENT_NAME = /(?:^|\.)((?:observer|plugin)\..+)$/

/**
 * The event type actions subscribe to: a Commerce event code without `com.adobe.commerce.` and
 * without any alias or app-id segment, so `observer.x` matches every prefixed form Adobe sends.
 * Codes of other providers are kept as they are.
 *
 * @example
 * normalizeEventCode('com.adobe.commerce.my_app.observer.sales_order_save_after') // 'observer.sales_order_save_after'
 */
export function normalizeEventCode(code: string): string {
  if (!code.startsWith(COMMERCE_PREFIX)) return code
  const rest = code.slice(COMMERCE_PREFIX.length)
  return COMMERCE_EVENT_NAME.exec(rest)?.[1] ?? rest
}

const isLoopbackHttp = (url: URL) => url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)

const configSchema = z.object({
  /** The integration's client id (API key): deliveries addressed to any other are refused. */
  clientId: z.string().min(1),
  /** Only with `legacySignature`: the client secret the legacy `x-adobe-signature` HMAC uses. */
  clientSecret: z.string().min(1).optional(),
  /** Also require the legacy `x-adobe-signature` HMAC (default false: Adobe deprecated it). */
  legacySignature: z.boolean().default(false),
  /** Keys are fetched from here only. https, or http on loopback for the testkit's simulator. */
  publicKeyBaseUrl: z
    .url({ error: 'publicKeyBaseUrl must be a URL' })
    // URL.parse: zod runs this check even after the URL check failed, and `new URL` would throw.
    .refine((value) => {
      const url = URL.parse(value)
      return url !== null && (url.protocol === 'https:' || isLoopbackHttp(url))
    }, 'publicKeyBaseUrl must be https:// (http:// only on loopback, for tests)')
    .default(DEFAULT_PUBLIC_KEY_BASE_URL),
  /** How long a fetched public key is trusted; at most 24 h, as Adobe requires. */
  publicKeyCacheMs: z.number().int().positive().max(MAX_KEY_CACHE_MS).default(MAX_KEY_CACHE_MS),
  publicKeyFetchTimeoutMs: z.number().int().positive().default(5000),
  /** Hosts a POSTed `validationUrl` may point at; anything else is refused (400). */
  validationUrlHosts: z.array(z.string().min(1)).default(['csm.adobe.io']),
}).refine((config) => !config.legacySignature || config.clientSecret, {
  message: 'legacySignature needs clientSecret',
  path: ['clientSecret'],
})

export type AdobeIoEventsConfig = z.output<typeof configSchema>

export interface PendingValidation {
  validationUrl: string
  receivedAt: string
}

export interface AdobeIoEventsSource extends Source {
  /** Answers `GET /events/<source>?challenge=…`: the value as JSON if asked for, else as text. */
  handshake(url: URL, headers: Headers): { contentType: string; body: string } | null
  /** Validation URLs received: open one in a browser within 5 minutes to activate the registration. */
  status(): { pendingValidations: PendingValidation[] }
}

/**
 * @example
 * // storehook.config.ts
 * sources: { commerce: { kind: 'adobe-io-events', clientId: env('IO_CLIENT_ID') } }
 * // actions/order-to-erp.ts
 * export default onEvent('observer.sales_order_save_after', async (event, ctx) => { … event.payload.data.value … })
 */
export const adobeIoEvents = {
  kind: 'adobe-io-events',
  configSchema,
  create(name: string, config: AdobeIoEventsConfig): AdobeIoEventsSource {
    const keys = new PublicKeys({
      baseUrl: config.publicKeyBaseUrl,
      cacheMs: config.publicKeyCacheMs,
      fetchTimeoutMs: config.publicKeyFetchTimeoutMs,
    })
    const validations: PendingValidation[] = []

    return {
      name,
      kind: 'adobe-io-events',
      async receive(request: SourceRequest, now: number): Promise<InboundEvent[]> {
        await verifyDigitalSignatures(request, keys, now)
        const body = parseJsonBody(request.body)
        if (config.legacySignature) verifyLegacySignature(request, body, config.clientSecret!)
        if (isValidationRequest(body)) {
          validations.push({ validationUrl: checkedValidationUrl(body.validationUrl, config.validationUrlHosts), receivedAt: new Date(now).toISOString() })
          validations.splice(0, validations.length - 10)
          return []
        }
        const cloudEvents = Array.isArray(body) ? body : [body]
        if (cloudEvents.length === 0 || cloudEvents.length > MAX_BATCH) {
          throw new MalformedRequestError(`a batch holds 1 to ${MAX_BATCH} events, got ${cloudEvents.length}`)
        }
        const headers = redactHeaders(request.headers)
        return cloudEvents.map((cloudEvent, index) => toEvent(cloudEvent, index, config.clientId, headers))
      },
      handshake(url, headers) {
        const challenge = url.searchParams.get('challenge')
        if (challenge === null) return null
        if ((headers.get('accept') ?? '').includes('application/json')) {
          return { contentType: 'application/json', body: JSON.stringify({ challenge }) }
        }
        return { contentType: 'text/plain; charset=utf-8', body: challenge }
      },
      status: () => ({ pendingValidations: [...validations] }),
    }
  },
} satisfies SourceKind<typeof configSchema>

async function verifyDigitalSignatures(request: SourceRequest, keys: PublicKeys, now: number): Promise<void> {
  const pairs = [1, 2]
    .map((n) => ({
      signature: request.headers.get(`x-adobe-digital-signature-${n}`),
      path: request.headers.get(`x-adobe-public-key${n}-path`),
    }))
    .filter((pair): pair is { signature: string; path: string } => Boolean(pair.signature && pair.path))
  if (pairs.length === 0) {
    throw new VerificationError('missing x-adobe-digital-signature-1/-2 with their x-adobe-public-key1/2-path headers')
  }
  let unavailable: HttpError | null = null
  for (const { signature, path } of pairs) {
    try {
      const key = await keys.get(path, now)
      if (verify('sha256', request.body, key, Buffer.from(signature, 'base64'))) return
    } catch (error) {
      // One bad or unreachable key must not fail a delivery the other key verifies.
      if (error instanceof HttpError && error.status === 503) unavailable = error
      else if (!(error instanceof VerificationError)) throw error
    }
  }
  // If a key could not be fetched, the delivery may be genuine: have Adobe retry it.
  throw unavailable ?? new VerificationError('no digital signature matches the body')
}

/** Adobe's legacy scheme: base64 HMAC-SHA256 with the client secret over the JSON of the event. */
function verifyLegacySignature(request: SourceRequest, body: unknown, clientSecret: string): void {
  const given = request.headers.get('x-adobe-signature')
  if (!given) throw new VerificationError('missing x-adobe-signature header (legacySignature is required)')
  // Adobe signed JSON.stringify of the event, which is the raw body whenever Adobe sent it compact.
  const candidates = [request.body, Buffer.from(JSON.stringify(body))]
  const offered = Buffer.from(given)
  for (const bytes of candidates) {
    const expected = Buffer.from(createHmac('sha256', clientSecret).update(bytes).digest('base64'))
    if (expected.length === offered.length && timingSafeEqual(expected, offered)) return
  }
  throw new VerificationError('x-adobe-signature does not match')
}

function isValidationRequest(body: unknown): body is { validationUrl: unknown } {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && 'validationUrl' in body
}

function checkedValidationUrl(value: unknown, hosts: string[]): string {
  const url = typeof value === 'string' ? URL.parse(value) : null
  if (!url || url.protocol !== 'https:' || !hosts.includes(url.hostname)) {
    throw new MalformedRequestError(`validationUrl must be an https URL on ${hosts.join(', ')}`)
  }
  return url.href
}

function toEvent(value: unknown, index: number, clientId: string, headers: Record<string, string>): InboundEvent {
  const where = `event ${index + 1}`
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MalformedRequestError(`${where}: expected a CloudEvent object`)
  const cloudEvent = value as Record<string, unknown>
  const recipient = cloudEvent.recipientclientid ?? cloudEvent.recipient_client_id
  if (recipient !== clientId) {
    // Signed by Adobe but addressed to another integration: not ours to run.
    throw new VerificationError(`${where}: recipientclientid is not this source's clientId`)
  }
  const id = cloudEvent.eventid ?? cloudEvent.event_id ?? cloudEvent.id
  if (typeof id !== 'string' || id === '') throw new MalformedRequestError(`${where}: expected an event id in eventid`)
  if (typeof cloudEvent.type !== 'string' || cloudEvent.type === '') throw new MalformedRequestError(`${where}: expected the event code in type`)
  return { id, type: normalizeEventCode(cloudEvent.type), payload: cloudEvent, headers }
}
