/**
 * The platform connection kinds send through the same flow control as `http`, against their
 * simulators: an `adobe-commerce` breaker refuses calls unsent, and a 429 from Commerce Layer
 * throttles a `commerce-layer` budget for as long as its rate-limit headers say. Token requests
 * are not flow-controlled: they go to another endpoint than the one the budget protects.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { TargetPausedError } from '../../core/errors.ts'
import { startCommerceLayerSimulator, type CommerceLayerSimulator } from '../../testkit/commerce-layer-simulator.ts'
import { startCommerceSimulator, type CommerceSimulator } from '../../testkit/commerce-simulator.ts'
import { adobeCommerceConfigSchema, adobeCommerceConnection } from '../adobe-commerce/index.ts'
import { commerceLayerConfigSchema, commerceLayerConnection } from '../commerce-layer/index.ts'
import { flowOf, FlowRegistry } from './index.ts'

let commerce: CommerceSimulator
let cl: CommerceLayerSimulator
before(async () => {
  commerce = await startCommerceSimulator()
  commerce.seedOrder({ entity_id: 42 })
  cl = await startCommerceLayerSimulator()
})
after(async () => {
  await commerce.close()
  await cl.close()
})

describe('flow control in the platform connections', () => {
  test('adobe-commerce: an open breaker refuses calls without sending them', async () => {
    const flow = new FlowRegistry()
    const config = adobeCommerceConfigSchema.parse({ baseUrl: `${commerce.url}/`, oauth1: commerce.credentials, breaker: { failures: 2, probeAfterMs: 60_000 }, maxConcurrency: 3 })
    const client = adobeCommerceConnection.create('commerce', config, { flow })
    commerce.respondWith(500, 503)
    await assert.rejects(client.getOrder(42), { status: 500 })
    await assert.rejects(client.getOrder(42), { status: 503 })
    const sent = commerce.requests.length
    await assert.rejects(client.getOrder(42), TargetPausedError)
    assert.equal(commerce.requests.length, sent)
    assert.deepEqual(
      flow.status().map((s) => [s.connection, s.kind, s.maxConcurrency, s.breaker?.state]),
      [['commerce', 'adobe-commerce', 3, 'open']],
    )
    assert.equal(flowOf(client)?.kind, 'adobe-commerce')
  })

  test('commerce-layer: a 429 halves the budget and pauses it as long as its headers say', async () => {
    const flow = new FlowRegistry()
    const config = commerceLayerConfigSchema.parse({
      baseUrl: cl.url,
      tokenUrl: cl.tokenUrl,
      ...cl.credentials,
      rateLimit: { requests: 50, perMs: 10_000 },
      burstBackoffMs: 7_000,
    })
    const client = commerceLayerConnection.create('cl', config, { flow })
    // The burst limit: no header describes it, so the pause is burstBackoffMs.
    cl.respondWith({ status: 429, body: { errors: [{ title: 'Too many requests' }] } })
    const error = await client.get('skus').catch((thrown: unknown) => thrown)
    assert.equal((error as { status?: number }).status, 429)
    assert.equal((error as { retryAfterMs?: number }).retryAfterMs, 7_000)
    const [status] = flow.status()
    assert.equal(status?.kind, 'commerce-layer')
    assert.equal(status?.rateLimit?.effective, 25)
    assert.ok(status!.rateLimit!.pausedForMs > 6_000 && status!.rateLimit!.pausedForMs <= 7_000, `paused for ${status?.rateLimit?.pausedForMs} ms`)
    assert.equal(status?.throttled, 1)
    assert.equal(cl.tokenRequests.length, 1, 'the token request went out, outside the budget')
  })
})
