/**
 * @module
 * A stand-in for Adobe I/O Events delivering Commerce events to a webhook: it holds two RSA key
 * pairs, serves their public keys over HTTP on 127.0.0.1 the way `static.adobeioevents.com`
 * does, and builds, signs and POSTs CloudEvents exactly as I/O Events sends them (envelope,
 * headers, either-key signatures, batches), so a source can be tested end to end without an
 * Adobe account. Point the source's `publicKeyBaseUrl` at {@link IoEventsSimulator.publicKeyBaseUrl}.
 *
 * {@link IoEventsSimulator.publish} delivers the way I/O Events does over time: a 10 s timeout,
 * retries on 429, 5xx (but 505) and network failures at 1, 2, 4, 8 minutes then every 15 minutes
 * for 24 h, and a drop on any other status. `timeScale` compresses that clock for tests.
 *
 * Not simulated yet: registration states (UNSTABLE/DISABLED) and the journal.
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

export interface PublishOptions extends DeliverOptions {
  /** Send each delivery this many extra times, as I/O Events may (at-least-once). */
  duplicates?: number
}

export interface Publication {
  /** One entry per try: the status answered, or 602 (network error) / 604 (timeout) as I/O records them. */
  attempts: { status: number; at: number }[]
  /** `delivered` on a 2xx; `dropped` on a status I/O does not retry; `expired` after 24 h of retries. */
  outcome: Promise<'delivered' | 'dropped' | 'expired'>
}

/**
 * I/O Events' retry delays for webhooks, in ms: 1, 2, 4, 8 minutes, then every 15 minutes.
 *
 * @example
 * ioEventsRetryDelay(1) // 60_000
 * ioEventsRetryDelay(6) // 900_000
 */
export function ioEventsRetryDelay(retry: number): number {
  const minutes = retry <= 4 ? 2 ** (retry - 1) : 15
  return minutes * 60_000
}

/**
 * Whether I/O Events tries a delivery again after this status (602/604: network error, timeout).
 *
 * @example
 * ioEventsRetries(503) // true
 * ioEventsRetries(422) // false: the event is dropped
 */
export function ioEventsRetries(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 505) || status >= 600
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
  /** Delivers with I/O Events' timeout and retry schedule (see the module comment). */
  publish(url: string, events: Record<string, unknown> | Record<string, unknown>[], options?: PublishOptions): Publication
  /**
   * Publishes each event as its own delivery, one after another (each once the previous is
   * settled), in the given order: I/O Events promises no ordering, so `reversed` or `shuffled`
   * shows what an action does when a newer change arrives before an older one.
   */
  publishEach(url: string, events: Record<string, unknown>[], options?: PublishOptions & { order?: 'as-given' | 'reversed' | 'shuffled' }): Promise<Publication[]>
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
export async function startIoEventsSimulator(
  options: {
    clientId?: string
    /** Port of the key server (default: a free one). */
    port?: number
    /** Multiplies I/O Events' retry delays: 0.001 turns its minutes into tens of milliseconds. */
    timeScale?: number
    /** Per try, including connection setup (I/O Events: 10 s for webhooks). */
    timeoutMs?: number
  } = {},
): Promise<IoEventsSimulator> {
  const { timeScale = 1, timeoutMs = 10_000 } = options
  /** Retries waiting for their time, and how to wake each at once (on close). */
  const sleeping = new Map<NodeJS.Timeout, () => void>()
  let closed = false
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
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const publicKeyBaseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const signature = (body: Uint8Array, key: KeyObject) => sign('sha256', body, key).toString('base64')

  const post = (url: string, events: Record<string, unknown> | Record<string, unknown>[], deliverOptions: DeliverOptions, signal?: AbortSignal) => {
    const body = new TextEncoder().encode(JSON.stringify(events))
    const first = (Array.isArray(events) ? events[0] : events) ?? {}
    const headers = simulator.signedHeaders(body, { ...deliverOptions, eventCode: String(first.type ?? ''), eventId: String(first.eventid ?? '') })
    return fetch(url, { method: 'POST', headers, body, ...(signal ? { signal } : {}) })
  }
  const tryOnce = async (url: string, events: Record<string, unknown> | Record<string, unknown>[], deliverOptions: DeliverOptions): Promise<number> => {
    try {
      const response = await post(url, events, deliverOptions, AbortSignal.timeout(timeoutMs))
      await response.arrayBuffer()
      return response.status
    } catch (error) {
      return (error as Error).name === 'TimeoutError' ? 604 : 602
    }
  }

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
    deliver: (url, events, deliverOptions = {}) => post(url, events, deliverOptions),
    publish(url, events, { duplicates = 0, ...deliverOptions } = {}) {
      const attempts: Publication['attempts'] = []
      const once = async (): Promise<'delivered' | 'dropped' | 'expired'> => {
        // I/O's clock: the retry delays scheduled so far (a try's own seconds are noise against them).
        let waited = 0
        for (let retry = 0; ; retry++) {
          if (retry > 0) {
            waited += ioEventsRetryDelay(retry)
            // A closed simulator schedules nothing more: its retries end as if their day were up.
            if (waited > 24 * 3600_000 || closed) return 'expired'
            const delay = ioEventsRetryDelay(retry) * timeScale
            await new Promise<void>((resolve) => {
              const timer = setTimeout(() => (sleeping.delete(timer), resolve()), delay)
              sleeping.set(timer, resolve)
            })
            if (closed) return 'expired'
          }
          const status = await tryOnce(url, events, deliverOptions)
          attempts.push({ status, at: Date.now() })
          if (status >= 200 && status < 300) return 'delivered'
          if (!ioEventsRetries(status)) return 'dropped'
        }
      }
      const tries = Array.from({ length: 1 + duplicates }, once)
      // Delivered if any copy was; otherwise what the first copy came to.
      const outcome = Promise.all(tries).then((outcomes) => (outcomes.includes('delivered') ? 'delivered' : outcomes[0]!))
      return { attempts, outcome }
    },
    async publishEach(url, events, { order = 'as-given', ...publishOptions } = {}) {
      const sequence = order === 'reversed' ? [...events].reverse() : order === 'shuffled' ? shuffled(events) : events
      const publications: Publication[] = []
      for (const event of sequence) {
        const publication = simulator.publish(url, event, publishOptions)
        await publication.outcome
        publications.push(publication)
      }
      return publications
    },
    close() {
      closed = true
      for (const [timer, wake] of sleeping) {
        clearTimeout(timer)
        wake()
      }
      sleeping.clear()
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
  return simulator
}

/** Fisher–Yates, so every order is equally likely. */
function shuffled<T>(items: T[]): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
  }
  return copy
}
