/**
 * What `storehook send` builds, checked by storehook's own verifiers: each platform's request is
 * accepted by the source or external-resource check that guards it in production, carries the
 * event id storehook will derive, and has `--data` and `--type` where they belong. Fixtures that
 * are not what they claim are refused with the file and field named.
 */
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { verifyCommerceLayerSignature } from '../../sources/commerce-layer/signature.ts'
import { commerceLayerWebhooks } from '../../sources/commerce-layer/webhooks.ts'
import { standardWebhooks } from '../../sources/standard-webhooks/index.ts'
import { listFixtures, loadFixture, mergeData } from './fixtures.ts'
import { send, type SignedRequest } from './request.ts'

const WHSEC = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const CL_SECRET = '1c0994cc4e996e8c6ee56a2198f66f3c'
const URL_BASE = 'http://127.0.0.1:3000'
const dir = mkdtempSync(join(tmpdir(), 'storehook-send-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const asRequest = (request: SignedRequest) => ({ method: 'POST', url: new URL(request.url), headers: new Headers(request.headers), body: new TextEncoder().encode(request.body) })

describe('send: requests as the platforms sign them', () => {
  it('signs a Standard Webhook the source accepts, with the type where typeField says', async () => {
    const target = { call: 'event', platform: 'standard-webhooks', name: 'shop', secret: WHSEC, typeField: 'data.event_type' } as const
    const { request, answer } = await send(target, loadFixture('order.created', 'standard-webhooks', 'event'), URL_BASE, { dryRun: true, data: { order_id: 'ord_9' } })
    assert.equal(answer, null)
    assert.equal(request.url, `${URL_BASE}/events/shop`)
    const source = standardWebhooks.create('shop', standardWebhooks.configSchema.parse({ secrets: WHSEC, typeField: 'data.event_type' }))
    const [event] = source.receive(asRequest(request), Date.now())
    assert.equal(event!.id, request.eventId)
    assert.equal(event!.type, 'order.created')
    assert.equal((event!.payload as any).type, undefined)
    assert.equal((event!.payload as any).data.order_id, 'ord_9')
    assert.equal((event!.payload as any).data.currency, 'EUR', 'the rest of the fixture is kept')
  })

  for (const eventIdMode of ['resource', 'body'] as const) {
    it(`signs a Commerce Layer webhook the source accepts, and predicts its event id (eventId: ${eventIdMode})`, async () => {
      const target = { call: 'event', platform: 'commerce-layer', name: 'cl', secret: CL_SECRET, eventIdMode } as const
      const fixture = loadFixture('orders.place', 'commerce-layer', 'event')
      const { request } = await send(target, fixture, URL_BASE, { dryRun: true, type: 'orders.approve', data: { status: 'approved' } })
      const source = commerceLayerWebhooks.create('cl', commerceLayerWebhooks.configSchema.parse({ secrets: CL_SECRET, eventId: eventIdMode }))
      const [event] = source.receive(asRequest(request), Date.now())
      assert.equal(event!.id, request.eventId)
      assert.equal(event!.type, 'orders.approve')
      const attributes = (event!.payload as any).data.attributes
      assert.equal(attributes.status, 'approved')
      assert.notEqual(attributes.updated_at, (fixture.payload as any).data.attributes.updated_at, 'a new change, not a redelivery')
    })
  }

  it('signs an external-resource call with the shared secret, leaving updated_at as it is', async () => {
    const target = { call: 'external', platform: 'commerce-layer', name: 'pricing/eu', secret: CL_SECRET, kind: 'price' } as const
    const fixture = loadFixture('price', 'commerce-layer', 'external')
    const { request } = await send(target, fixture, `${URL_BASE}/`, { dryRun: true, data: { sku_code: 'SKU-1' } })
    assert.equal(request.url, `${URL_BASE}/external/pricing/eu`)
    assert.equal(request.eventId, undefined)
    verifyCommerceLayerSignature({ headers: new Headers(request.headers), body: new TextEncoder().encode(request.body), secrets: [CL_SECRET] })
    const body = JSON.parse(request.body)
    assert.equal(body.data.attributes.sku_code, 'SKU-1')
    assert.equal(body.data.attributes.updated_at, (fixture.payload as any).data.attributes.updated_at)
    assert.deepEqual(body.included, (fixture.payload as any).included)
  })

  it('builds the CloudEvent I/O Events sends, signed with both keys, with the legacy signature when asked', async () => {
    const target = { call: 'event', platform: 'adobe-io-events', name: 'commerce', clientId: 'client-1', publicKeyBaseUrl: 'http://127.0.0.1:4100', legacySecret: 'legacy' } as const
    const { request } = await send(target, loadFixture('com.adobe.commerce.observer.customer_save_after', 'adobe-io-events', 'event'), URL_BASE, { dryRun: true, type: 'observer.customer_save_commit_after' })
    const event = JSON.parse(request.body)
    assert.equal(request.type, 'observer.customer_save_commit_after')
    assert.equal(event.type, 'com.adobe.commerce.observer.customer_save_commit_after')
    assert.equal(event.recipientclientid, 'client-1')
    assert.equal(event.eventid, request.eventId)
    assert.equal(event.data.value.email, 'veronica.costello@example.com')
    for (const n of [1, 2]) {
      assert.match(request.headers[`x-adobe-digital-signature-${n}`]!, /^[A-Za-z0-9+/]+=*$/)
      assert.match(request.headers[`x-adobe-public-key${n}-path`]!, /^\/prod\/keys\/pub-key-[0-9a-f-]+\.pem$/)
    }
    assert.equal(request.headers['x-adobe-signature'], createHmac('sha256', 'legacy').update(request.body).digest('base64'))
    assert.equal(request.headers['x-adobe-event-code'], event.type)
  })
})

describe('send: fixtures', () => {
  it('bundles the common events and resources of each platform', () => {
    assert.deepEqual(listFixtures('adobe-io-events', 'event').map((f) => f.name), ['observer.catalog_product_save_after', 'observer.customer_save_after', 'observer.sales_order_invoice_save_after', 'observer.sales_order_save_after', 'observer.sales_order_shipment_save_after'])
    assert.deepEqual(listFixtures('commerce-layer', 'event').map((f) => f.name), ['orders.place'])
    assert.deepEqual(
      listFixtures('commerce-layer', 'external').map((f) => f.name),
      ['order-validation', 'payment.authorize', 'payment.capture', 'payment.refund', 'payment.void', 'price', 'promotion', 'shipping', 'tax'],
    )
    assert.deepEqual(listFixtures('standard-webhooks', 'event').map((f) => f.name), ['order.created'])
    // A Commerce Layer external fixture's type is its kind, which is also its name.
    for (const f of listFixtures('commerce-layer', 'external')) assert.equal(f.type, f.name)
  })

  it('merges --data key by key, replacing arrays and anything that is not an object', () => {
    assert.deepEqual(mergeData({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { c: [3] }, d: null, e: { f: 1 } }), { a: { b: 1, c: [3] }, d: null, e: { f: 1 } })
  })

  it('refuses a fixture file that is not what this target takes, naming the file and field', () => {
    const file = (name: string, content: unknown) => {
      const path = join(dir, name)
      writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
      return path
    }
    const cases: [string, RegExp][] = [
      [file('a.json', '{nope'), /a\.json: not valid JSON/],
      [file('b.json', { platform: 'shopify', type: 't', payload: {} }), /b\.json: platform: expected one of adobe-io-events, commerce-layer, standard-webhooks/],
      [file('c.json', { platform: 'standard-webhooks', type: 't' }), /c\.json: payload: expected an object/],
      [file('d.json', { platform: 'standard-webhooks', type: 't', payload: {}, call: 'external' }), /d\.json: call: expected "external" only with platform commerce-layer/],
      [file('e.json', { platform: 'commerce-layer', type: 'orders.place', payload: {} }), /e\.json is a commerce-layer webhook fixture; this target takes standard-webhooks event/],
    ]
    for (const [path, message] of cases) assert.throws(() => loadFixture(path, 'standard-webhooks', 'event'), message)
  })
})
