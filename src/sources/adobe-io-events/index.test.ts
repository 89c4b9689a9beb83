import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, test } from 'node:test'
import { HttpError, MalformedRequestError, VerificationError } from '../../core/errors.ts'
import { startIoEventsSimulator } from '../../testkit/io-events-simulator.ts'
import type { SourceRequest } from '../source.ts'
import { adobeIoEvents, normalizeEventCode } from './index.ts'

const io = await startIoEventsSimulator({ clientId: 'storehook-test-client' })
after(() => io.close())

const ORDER_SAVED = 'com.adobe.commerce.observer.sales_order_save_after'

function source(config: Record<string, unknown> = {}) {
  return adobeIoEvents.create('commerce', adobeIoEvents.configSchema.parse({ clientId: io.clientId, publicKeyBaseUrl: io.publicKeyBaseUrl, ...config }))
}

function delivery(events: unknown, options: Parameters<typeof io.signedHeaders>[1] = {}): SourceRequest {
  const body = new TextEncoder().encode(JSON.stringify(events))
  return { method: 'POST', url: new URL('http://127.0.0.1/events/commerce'), headers: new Headers(io.signedHeaders(body, options)), body }
}

async function rejects(promise: Promise<unknown>, type: new (...args: any[]) => HttpError, status: number, message: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`)
    assert.equal(error.status, status)
    assert.match(error.message, message)
    return true
  })
}

describe('normalizeEventCode', () => {
  test('drops com.adobe.commerce. and any alias or app-id segment before observer./plugin.', () => {
    for (const code of [
      'com.adobe.commerce.observer.sales_order_save_after',
      'com.adobe.commerce.my_app.observer.sales_order_save_after',
      'com.adobe.commerce.a.b_c.observer.sales_order_save_after',
    ]) {
      assert.equal(normalizeEventCode(code), 'observer.sales_order_save_after')
    }
    assert.equal(normalizeEventCode('com.adobe.commerce.plugin.sales.api.order_management.place'), 'plugin.sales.api.order_management.place')
    assert.equal(normalizeEventCode('com.adobe.commerce.custom_event'), 'custom_event')
    assert.equal(normalizeEventCode('com.example.other.observer.x'), 'com.example.other.observer.x')
  })
})

describe('adobe-io-events source', () => {
  test('a signed delivery becomes one event: id from eventid, normalized type, the CloudEvent as payload', async () => {
    const cloudEvent = io.cloudEvent('com.adobe.commerce.storehook.observer.sales_order_save_after', { entity_id: '42' })
    const [event] = await source().receive(delivery(cloudEvent), Date.now())
    assert.equal(event!.id, cloudEvent.eventid)
    assert.equal(event!.type, 'observer.sales_order_save_after')
    assert.deepEqual(event!.payload, cloudEvent)
    assert.ok(event!.headers['x-adobe-digital-signature-1'])
  })

  test('a webhook_batch delivery of up to 20 events becomes as many events; 21 is refused', async () => {
    const batch = Array.from({ length: 20 }, (_, i) => io.cloudEvent(ORDER_SAVED, { entity_id: String(i) }))
    const events = await source().receive(delivery(batch), Date.now())
    assert.deepEqual(events.map((e) => e.id), batch.map((e) => e.eventid))
    await rejects(Promise.resolve(source().receive(delivery([...batch, io.cloudEvent(ORDER_SAVED, {})]), Date.now())), MalformedRequestError, 400, /1 to 20 events/)
  })

  test('either signature is enough: key 1 alone, key 2 alone', async () => {
    for (const signWith of [1, 2] as const) {
      assert.equal((await source().receive(delivery(io.cloudEvent(ORDER_SAVED, {}), { signWith }), Date.now())).length, 1)
    }
  })

  test('falls back to the deprecated recipient_client_id and event_id', async () => {
    const { recipientclientid: _, eventid: __, id: ___, ...legacy } = io.cloudEvent(ORDER_SAVED, {})
    const [event] = await source().receive(delivery(legacy), Date.now())
    assert.equal(event!.id, legacy.event_id)
  })

  test('refuses a signature from a key Adobe never published, a tampered body, and missing signatures (401)', async () => {
    const s = source()
    await rejects(s.receive(delivery(io.cloudEvent(ORDER_SAVED, {}), { signWith: 'forged' }), Date.now()) as Promise<unknown>, VerificationError, 401, /no digital signature matches/)
    const request = delivery(io.cloudEvent(ORDER_SAVED, { grand_total: 10 }))
    const tampered = new TextEncoder().encode(new TextDecoder().decode(request.body).replace('"grand_total":10', '"grand_total":1'))
    await rejects(s.receive({ ...request, body: tampered }, Date.now()) as Promise<unknown>, VerificationError, 401, /no digital signature matches/)
    const bare = { ...request, headers: new Headers({ 'content-type': 'application/json' }) }
    await rejects(s.receive(bare, Date.now()) as Promise<unknown>, VerificationError, 401, /missing x-adobe-digital-signature/)
  })

  test('never fetches a key from another host or outside the base path', async () => {
    let fetchedElsewhere = 0
    const evil = createServer((_req, res) => {
      fetchedElsewhere += 1
      res.end('not a key')
    })
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve))
    const evilPort = (evil.address() as AddressInfo).port
    try {
      for (const path of [`//127.0.0.1:${evilPort}/k.pem`, '/../etc/k.pem', '/prod/keys/%2e%2e/k.pem', `@127.0.0.1:${evilPort}/k.pem`, '/prod/keys/key.txt']) {
        const request = delivery(io.cloudEvent(ORDER_SAVED, {}), { signWith: 1, headers: { 'x-adobe-public-key1-path': path } })
        await rejects(source().receive(request, Date.now()) as Promise<unknown>, VerificationError, 401, /./)
      }
      assert.equal(fetchedElsewhere, 0)
    } finally {
      evil.close()
    }
  })

  test('refuses an event addressed to another client id, even when Adobe signed it', async () => {
    const request = delivery(io.cloudEvent(ORDER_SAVED, {}, { recipientClientId: 'someone-else' }))
    await rejects(source().receive(request, Date.now()) as Promise<unknown>, VerificationError, 401, /recipientclientid/)
  })

  test('fetches each key once, caches it at most publicKeyCacheMs, and answers 503 (so Adobe retries) when keys cannot be fetched', async () => {
    const s = source({ publicKeyCacheMs: 60_000 })
    const now = Date.now()
    const path = () => delivery(io.cloudEvent(ORDER_SAVED, {}), { signWith: 2 }).headers.get('x-adobe-public-key2-path')!
    const before = io.keyFetches.get(path()) ?? 0
    await Promise.all([1, 2, 3].map(() => s.receive(delivery(io.cloudEvent(ORDER_SAVED, {}), { signWith: 2 }), now)))
    assert.equal(io.keyFetches.get(path()), before + 1)
    await s.receive(delivery(io.cloudEvent(ORDER_SAVED, {}), { signWith: 2 }), now + 61_000)
    assert.equal(io.keyFetches.get(path()), before + 2)

    const down = source({ publicKeyBaseUrl: 'http://127.0.0.1:9' })
    await rejects(down.receive(delivery(io.cloudEvent(ORDER_SAVED, {})), now) as Promise<unknown>, HttpError, 503, /could not fetch the public key/)
  })

  test('legacySignature: requires x-adobe-signature, the HMAC of the event with the client secret', async () => {
    const { createHmac } = await import('node:crypto')
    const s = source({ legacySignature: true, clientSecret: 'p8e-secret' })
    const cloudEvent = io.cloudEvent(ORDER_SAVED, {})
    const hmac = createHmac('sha256', 'p8e-secret').update(JSON.stringify(cloudEvent)).digest('base64')
    assert.equal((await s.receive(delivery(cloudEvent, { headers: { 'x-adobe-signature': hmac } }), Date.now())).length, 1)
    await rejects(s.receive(delivery(cloudEvent, { headers: { 'x-adobe-signature': 'AAAA' } }), Date.now()) as Promise<unknown>, VerificationError, 401, /x-adobe-signature does not match/)
    await rejects(s.receive(delivery(cloudEvent), Date.now()) as Promise<unknown>, VerificationError, 401, /missing x-adobe-signature/)
  })

  test('answers the challenge as text, or as JSON when asked for JSON', () => {
    const s = source()
    const url = new URL('http://127.0.0.1/events/commerce?challenge=8ec8d794-e0ab-42df-9017-e3dada8e84f7')
    assert.deepEqual(s.handshake(url, new Headers()), { contentType: 'text/plain; charset=utf-8', body: '8ec8d794-e0ab-42df-9017-e3dada8e84f7' })
    assert.deepEqual(s.handshake(url, new Headers({ accept: 'application/json' })), {
      contentType: 'application/json',
      body: '{"challenge":"8ec8d794-e0ab-42df-9017-e3dada8e84f7"}',
    })
    assert.equal(s.handshake(new URL('http://127.0.0.1/events/commerce'), new Headers()), null)
  })

  test('records a signed validationUrl on csm.adobe.io for the user to open, and refuses any other URL', async () => {
    const s = source()
    const validationUrl = 'https://csm.adobe.io/csm/registrations/validate?id=abc&challenge=def'
    assert.deepEqual(await s.receive(delivery({ validationUrl }), Date.now()), [])
    assert.equal(s.status().pendingValidations[0]!.validationUrl, validationUrl)
    await rejects(s.receive(delivery({ validationUrl: 'https://evil.example/validate' }), Date.now()) as Promise<unknown>, MalformedRequestError, 400, /csm\.adobe\.io/)
  })

  test('config: publicKeyBaseUrl must be https (http only on loopback); cache at most 24 h; legacySignature needs clientSecret', () => {
    const parse = (extra: Record<string, unknown>) => adobeIoEvents.configSchema.safeParse({ clientId: 'c', ...extra })
    assert.equal(parse({}).data?.publicKeyBaseUrl, 'https://static.adobeioevents.com')
    assert.equal(parse({ publicKeyBaseUrl: 'http://keys.example.com' }).success, false)
    assert.equal(parse({ publicKeyCacheMs: 25 * 3600_000 }).success, false)
    assert.equal(parse({ legacySignature: true }).success, false)
    assert.equal(adobeIoEvents.configSchema.safeParse({}).success, false)
  })
})
