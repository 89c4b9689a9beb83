/**
 * OpenTelemetry, end to end: with an SDK registered as a user would (in-memory exporter, the
 * async-hooks context manager, the W3C propagator), a real storehook ingests an event carrying a
 * `traceparent`, runs an action whose step calls the ERP simulator, and answers an external
 * resource call. The spans have the names, kinds, attributes and parents docs/tracing.md gives,
 * and the ERP receives the `traceparent` of the outbound span, whose trace id the run's outbound
 * call record keeps.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { context, propagation, SpanKind, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { signCommerceLayer } from '../src/sources/commerce-layer/signature.ts'
import { startHarness, type StorehookHarness } from '../src/testkit/harness.ts'
import { eventually, makeProject, signedEvent, webhooksConfig } from './helpers.ts'

const exporter = new InMemorySpanExporter()
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
propagation.setGlobalPropagator(new W3CTraceContextPropagator())

const CL_SECRET = 'cl-shared-secret-for-tracing-test'
const project = makeProject({
  '.env': `CL_SHARED_SECRET=${CL_SECRET}\n`,
  'storehook.config.ts': webhooksConfig(`connections: { erp: { kind: 'http', baseUrl: env('ERP_URL') } },
  worker: { pollIntervalMs: 50 },`).replace('import { defineConfig }', 'import { defineConfig, env }'),
  'actions/forward.ts': `import { onEvent } from 'storehook'
export default onEvent('order.created', async (event, ctx) => {
  await ctx.step('send to the ERP', async () => (await ctx.connections.erp.post('orders', { json: event.payload.data })).status)
})`,
  'external/price.ts': `import { commerceLayer, env } from 'storehook'
export default commerceLayer.price(async () => ({ unit_amount_cents: 4900 }), { secrets: [env('CL_SHARED_SECRET')] })`,
})

let sh: StorehookHarness
before(async () => {
  sh = await startHarness({ project, simulators: ['erp'] })
})
after(() => sh?.close())

const named = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name)
/** The finished spans of this name, once there are `count` (a span is exported when it ends). */
async function spans(name: string, count: number): Promise<ReadableSpan[]> {
  await eventually(() => named(name).length >= count, 10_000, `${count} "${name}" spans`)
  return named(name)
}
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId

describe('OpenTelemetry spans', () => {
  it('traces ingest → run → step → outbound call in one trace, and the ERP gets the outbound span as its parent', async () => {
    const senderTrace = '0af7651916cd43dd8448eb211c80319c'
    const senderSpan = 'b7ad6b7169203331'
    const event = signedEvent({ type: 'order.created', data: { id: 'A-1' } })
    const post = () =>
      fetch(`${sh.url}/events/webhooks`, { method: 'POST', headers: { ...event.headers, traceparent: `00-${senderTrace}-${senderSpan}-01` }, body: event.body })
    assert.equal((await post()).status, 200)
    const { run } = await sh.waitForRun({ eventId: event.id })
    assert.equal(run.state, 'succeeded')

    const [attempt] = await spans('run forward', 1)
    const [ingest] = named('POST /events/webhooks')
    assert.ok(ingest && attempt)
    assert.equal(ingest.kind, SpanKind.SERVER)
    assert.equal(ingest.spanContext().traceId, senderTrace, "the ingest continues the sender's trace")
    assert.equal(parentOf(ingest), senderSpan)
    assert.deepEqual(
      [ingest.attributes['http.route'], ingest.attributes['storehook.source'], ingest.attributes['storehook.event.id'], ingest.attributes['storehook.event.type'], ingest.attributes['storehook.event.duplicate'], ingest.attributes['http.response.status_code']],
      ['/events/:source', 'webhooks', event.id, 'order.created', false, 200],
    )

    assert.equal(attempt.kind, SpanKind.CONSUMER)
    assert.equal(parentOf(attempt), ingest.spanContext().spanId, 'a run started by the ingest is its child')
    assert.deepEqual(
      [attempt.attributes['storehook.action'], attempt.attributes['storehook.run.id'], attempt.attributes['storehook.run.attempt'], attempt.attributes['storehook.run.outcome']],
      ['forward', run.id, 1, 'succeeded'],
    )
    const [step] = named('step send to the ERP')
    assert.ok(step)
    assert.equal(parentOf(step), attempt.spanContext().spanId)
    assert.equal(step.attributes['storehook.step.name'], 'send to the ERP')
    const [outbound] = named('POST').filter((s) => s.kind === SpanKind.CLIENT)
    assert.ok(outbound)
    assert.equal(parentOf(outbound), step.spanContext().spanId)
    assert.deepEqual(
      [outbound.attributes['http.request.method'], outbound.attributes['url.full'], outbound.attributes['server.address'], outbound.attributes['http.response.status_code'], outbound.attributes['storehook.connection']],
      ['POST', `${sh.erp.url}/orders`, '127.0.0.1', 200, 'erp'],
    )
    for (const span of [attempt, step, outbound]) assert.equal(span.spanContext().traceId, senderTrace)

    const [delivery] = sh.erpRequests()
    assert.equal(delivery?.headers.traceparent, `00-${senderTrace}-${outbound.spanContext().spanId}-01`)
    const calls = () => sh.storehook.runtime.store.listOutboundCalls!({ runId: run.id })
    await eventually(async () => (await calls()).length === 1, 10_000, 'the outbound call record')
    assert.equal((await calls())[0]!.traceId, senderTrace)

    // The platform delivers the same event again: a duplicate, on its own ingest span.
    assert.equal((await post()).status, 200)
    const ingests = await spans('POST /events/webhooks', 2)
    assert.equal(ingests[1]!.attributes['storehook.event.duplicate'], true)
  })

  it('traces an external resource call around its handler, and an unknown source under the route name', async () => {
    const body = JSON.stringify({
      data: { id: 'li_1', type: 'line_items', attributes: { sku_code: 'A', quantity: 1 }, relationships: { order: { data: { type: 'orders', id: 'o1' } } } },
      included: [{ id: 'o1', type: 'orders', attributes: { currency_code: 'EUR' } }],
    })
    const answer = await fetch(`${sh.url}/external/price`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-commercelayer-signature': signCommerceLayer(CL_SECRET, body) },
      body,
    })
    assert.equal(answer.status, 200, await answer.text())
    const [external] = await spans('external price', 1)
    assert.equal(external!.attributes['storehook.external.resource'], 'price')
    assert.equal(external!.attributes['storehook.external.kind'], 'commerce-layer/price')

    assert.equal((await fetch(`${sh.url}/events/no-such-source`, { method: 'POST', body: '{}' })).status, 404)
    const [unknown] = await spans('POST /events/:source', 1)
    assert.equal(unknown!.attributes['http.response.status_code'], 404)
    assert.equal(unknown!.status.code, 0, 'a 4xx is not a server error')
  })
})
