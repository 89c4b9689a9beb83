import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MalformedRequestError, VerificationError } from '../../core/errors.ts'
import { signCommerceLayer } from './signature.ts'
import { commerceLayerEventId, commerceLayerWebhooks } from './webhooks.ts'

const SECRET = 'cl-webhook-secret'
const source = commerceLayerWebhooks.create('cl', commerceLayerWebhooks.configSchema.parse({ secrets: `old ${SECRET}` }))
const request = (body: string, headers: Record<string, string> = {}) => ({
  method: 'POST',
  url: new URL('http://127.0.0.1/events/cl'),
  headers: new Headers({ 'x-commercelayer-signature': signCommerceLayer(SECRET, body), 'x-commercelayer-topic': 'orders.place', ...headers }),
  body: new TextEncoder().encode(body),
})
const order = JSON.stringify({ data: { id: 'o1', type: 'orders', attributes: { number: '1', updated_at: '2026-02-03T04:05:06.000Z' } } })

describe('commerce-layer source', () => {
  it('turns a signed delivery into one event typed by its topic, with an id from topic, data.id and updated_at', () => {
    const [event] = source.receive(request(order), Date.now())
    assert.equal(event!.type, 'orders.place')
    assert.equal(event!.id, 'orders.place/o1/2026-02-03T04:05:06.000Z')
    assert.deepEqual(event!.payload, JSON.parse(order))
    assert.equal(event!.headers['x-commercelayer-topic'], 'orders.place')
  })

  it('falls back to a body digest when there is no updated_at (.destroy topics), stable across retries', () => {
    const destroyed = '{"data":{"id":"c1","type":"customers"}}'
    const headers = { 'x-commercelayer-topic': 'customers.destroy' }
    const [first] = source.receive(request(destroyed, headers), 0)
    const [again] = source.receive(request(destroyed, headers), 0)
    assert.match(first!.id, /^customers\.destroy\/c1\/body-[0-9a-f]{64}$/)
    assert.equal(first!.id, again!.id)
  })

  it('uses only the body digest with eventId: body', () => {
    const body = new TextEncoder().encode(order)
    assert.match(commerceLayerEventId('orders.place', JSON.parse(order), body, 'body'), /^orders\.place\/o1\/body-/)
  })

  it('refuses a wrong signature (401) before reading the body, and a missing or odd topic (400)', () => {
    assert.throws(() => source.receive({ ...request(order), headers: new Headers({ 'x-commercelayer-signature': signCommerceLayer('x', order) }) }, 0), VerificationError)
    assert.throws(() => source.receive(request('not json at all'), 0), MalformedRequestError)
    const noTopic = request(order)
    noTopic.headers.delete('x-commercelayer-topic')
    assert.throws(() => source.receive(noTopic, 0), /missing x-commercelayer-topic/)
    assert.throws(() => source.receive(request(order, { 'x-commercelayer-topic': 'orders place' }), 0), /expected a topic/)
    assert.throws(() => source.receive(request('{"data":[]}'), 0), /string "type"/)
  })

  it('requires at least one secret in its config', () => {
    assert.equal(commerceLayerWebhooks.configSchema.safeParse({ secrets: '  ' }).success, false)
    assert.equal(commerceLayerWebhooks.configSchema.safeParse({}).success, false)
  })
})
