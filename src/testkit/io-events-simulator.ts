/**
 * @module
 * A stand-in for Adobe I/O Events delivering Commerce events to a webhook: it holds two RSA key
 * pairs, serves their public keys over HTTP on 127.0.0.1 the way `static.adobeioevents.com`
 * does, and builds, signs and POSTs CloudEvents exactly as I/O Events sends them (envelope,
 * headers, either-key signatures, batches), so a source can be tested end to end without an
 * Adobe account. Point the source's `publicKeyBaseUrl` at {@link IoEventsSimulator.publicKeyBaseUrl}.
 *
 * Not simulated yet: I/O Events' own retry schedule and registration states, and the journal.
 */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface CloudEventOptions {
  /** Default: a new UUID (also used as `id`). */
  eventId?: string
  /** Default: the simulator's client id. */
  recipientClientId?: string
  providerId?: string
  /** Commerce's `data.source`: `<merchant id>.<environment id>`. */
  merchantSource?: string
}

export interface DeliverOptions {
  /** Sign with key 1 only, key 2 only, both (default), or a key Adobe never published. */
  signWith?: 'both' | 1 | 2 | 'forged'
  /** Overrides or extra headers, e.g. to point a key path elsewhere. */
  headers?: Record<string, string>
}

export interface IoEventsSimulator {
  /** Where the public keys are served: the source's `publicKeyBaseUrl`. */
  publicKeyBaseUrl: string
  clientId: string
  /** How many times each key path was fetched, to check caching. */
  keyFetches: Map<string, number>
  /** A CloudEvent as I/O Events delivers a Commerce event, with `value` as `data.value`. */
  cloudEvent(code: string, value: unknown, options?: CloudEventOptions): Record<string, unknown>
  /** The headers I/O Events sends with `body`, signatures included. */
  signedHeaders(body: Uint8Array, options?: DeliverOptions & { eventCode?: string; eventId?: string }): Record<string, string>
  /** POSTs one CloudEvent, or an array of them as a `webhook_batch` delivery, to `url`. */
  deliver(url: string, events: Record<string, unknown> | Record<string, unknown>[], options?: DeliverOptions): Promise<Response>
  close(): Promise<void>
}

const KEY_PATHS: readonly string[] = [`/prod/keys/pub-key-${randomUUID()}.pem`, `/prod/keys/pub-key-${randomUUID()}.pem`]

/**
 * @example
 * const io = await startIoEventsSimulator({ clientId: 'my-client-id' })
 * // storehook.config.ts: sources: { commerce: { kind: 'adobe-io-events', clientId: 'my-client-id', publicKeyBaseUrl: io.publicKeyBaseUrl } }
 * const order = io.cloudEvent('com.adobe.commerce.observer.sales_order_save_after', { entity_id: '42', increment_id: '000000042' })
 * const response = await io.deliver(`${storehookUrl}/events/commerce`, order)
 * await io.close()
 */
export async function startIoEventsSimulator(options: { clientId?: string } = {}): Promise<IoEventsSimulator> {
  const clientId = options.clientId ?? `client-${randomUUID().slice(0, 8)}`
  const pairs = KEY_PATHS.map(() => generateKeyPairSync('rsa', { modulusLength: 2048 }))
  const forged = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pems = new Map(KEY_PATHS.map((path, i) => [path, pairs[i]!.publicKey.export({ type: 'spki', format: 'pem' }) as string]))
  const keyFetches = new Map<string, number>()

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const pem = pems.get(path)
    keyFetches.set(path, (keyFetches.get(path) ?? 0) + 1)
    if (req.method !== 'GET' || !pem) return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(pem)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const publicKeyBaseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const signature = (body: Uint8Array, key: KeyObject) => sign('sha256', body, key).toString('base64')

  const simulator: IoEventsSimulator = {
    publicKeyBaseUrl,
    clientId,
    keyFetches,
    cloudEvent(code, value, { eventId = randomUUID(), recipientClientId = clientId, providerId = randomUUID(), merchantSource = 'merchant.environment' } = {}) {
      // Field order and the deprecated duplicates as I/O Events sends them (reference §3.1).
      return {
        specversion: '1.0',
        id: eventId,
        source: `urn:uuid:${providerId}`,
        type: code,
        datacontenttype: 'application/json',
        time: new Date().toISOString(),
        eventid: eventId,
        event_id: eventId,
        recipientclientid: recipientClientId,
        recipient_client_id: recipientClientId,
        data: {
          key: randomUUID(),
          value,
          source: merchantSource,
          _metadata: { commerceEdition: 'Adobe Commerce', commerceVersion: '2.4.7', eventsClientVersion: '1.12.1', storeId: '1', websiteId: '1', storeGroupId: '1' },
        },
      }
    },
    signedHeaders(body, { signWith = 'both', headers = {}, eventCode = '', eventId = '' } = {}) {
      const keyFor = (n: 1 | 2) => (signWith === 'forged' ? forged.privateKey : pairs[n - 1]!.privateKey)
      const signed: Record<string, string> = {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Adobe/1.0',
        'x-adobe-delivery-id': randomUUID(),
        'x-adobe-event-code': eventCode,
        'x-adobe-event-id': eventId,
        'x-adobe-provider': 'dx_commerce_events',
      }
      for (const n of [1, 2] as const) {
        if (signWith !== 'both' && signWith !== 'forged' && signWith !== n) continue
        signed[`x-adobe-digital-signature-${n}`] = signature(body, keyFor(n))
        signed[`x-adobe-public-key${n}-path`] = KEY_PATHS[n - 1]!
      }
      return { ...signed, ...headers }
    },
    deliver(url, events, deliverOptions = {}) {
      const body = new TextEncoder().encode(JSON.stringify(events))
      const first = (Array.isArray(events) ? events[0] : events) ?? {}
      const headers = simulator.signedHeaders(body, { ...deliverOptions, eventCode: String(first.type ?? ''), eventId: String(first.eventid ?? '') })
      return fetch(url, { method: 'POST', headers, body })
    },
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
  return simulator
}
