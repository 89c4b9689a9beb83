/**
 * `examples/app-builder` end to end: an Adobe App Builder project, as it would be deployed to I/O
 * Runtime, run by storehook against the testkit's simulators. The seed's order consumer (its old
 * form, the ERP call not awaited) gets signed I/O Events deliveries, calls Adobe Commerce back with
 * OAuth 1.0a, and the ERP gets the enriched order — also when the ERP fails at first, because the
 * un-awaited call's rejection fails the run and storehook retries it. The web action answers as
 * OpenWhisk answers, the shipping-rates webhook verifies Commerce's signature itself and answers
 * operations, and every activation keeps the action's console output.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { startCommerceSimulator } from '../src/testkit/commerce-simulator.ts'
import { createCommerceWebhooksSimulator } from '../src/testkit/commerce-webhooks-simulator.ts'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { startIoEventsSimulator } from '../src/testkit/io-events-simulator.ts'
import { eventually, makeProject, REPO_ROOT, start } from './helpers.ts'

const io = await startIoEventsSimulator({ timeScale: 0.001 })
const commerce = await startCommerceSimulator()
const erp = await startErpSimulator()
// Commerce's side of its synchronous webhooks; the shipping-rates action has its public key as an input.
const webhooks = createCommerceWebhooksSimulator()
after(() => Promise.all([io.close(), commerce.close(), erp.close(), webhooks.close()]))

// Everything reaches the actions as App Builder gives it to them: app.config.yaml inputs, `$VAR`s
// filled from the environment.
Object.assign(process.env, {
  IO_CLIENT_ID: io.clientId,
  IO_EVENTS_PUBLIC_KEY_BASE_URL: io.publicKeyBaseUrl,
  COMMERCE_BASE_URL: `${commerce.url}/`,
  COMMERCE_CONSUMER_KEY: commerce.credentials.consumerKey,
  COMMERCE_CONSUMER_SECRET: commerce.credentials.consumerSecret,
  COMMERCE_ACCESS_TOKEN: commerce.credentials.accessToken,
  COMMERCE_ACCESS_TOKEN_SECRET: commerce.credentials.accessTokenSecret,
  ERP_URL: erp.url,
  COMMERCE_WEBHOOKS_PUBLIC_KEY: webhooks.publicKeyPem!,
  LOG_LEVEL: 'info',
})
const storehook = await start({ project: join(REPO_ROOT, 'examples/app-builder'), db: `sqlite:${join(makeProject({}), 'store.db')}` })
const endpoint = `${storehook.url}/events/io-events`
const web = (action: string) => `${storehook.url}/api/v1/web/storehook-demo/${action}`
const admin = async (path: string) => (await fetch(`${storehook.url}/admin/api${path}`)).json() as Promise<any>

const ORDER_SAVED = 'com.adobe.commerce.observer.sales_order_save_after'
const GET_RATES = 'plugin.magento.out_of_process_shipping_methods.api.shipping_rate_repository.get_rates'
// A cold action thread loads @adobe/aio-sdk (1.5–2 s on a fast machine); retries wait up to 10 s.
const COLD = 30_000
let nextEntityId = 300

/** A new order in the shop, and the event Commerce emits for it (without extension_attributes). */
function newOrder() {
  const entityId = nextEntityId++
  commerce.seedOrder({ entity_id: entityId, extension_attributes: { erp_customer_code: `C-${entityId}` } } as never)
  return { entityId, event: io.cloudEvent(ORDER_SAVED, { entity_id: entityId, increment_id: `000000${entityId}`, grand_total: 42.5 }) }
}

const erpRequests = (entityId: number) => erp.deliveries.filter((d) => JSON.parse(d.body).entity_id === entityId)
const erpOrders = (entityId: number) => erpRequests(entityId).filter((d) => d.status === 200)

/** The run of the order consumer for `event`, with its attempts, once it is in `state`. */
async function runOf(event: Record<string, unknown>, state: string, timeoutMs = COLD) {
  return eventually(
    async () => {
      const { runs } = await admin(`/events/io-events/${String(event.eventid)}`)
      if (!runs?.length) return null
      const detail = await admin(`/runs/${runs[0].id}`)
      return detail.run.state === state ? detail : null
    },
    timeoutMs,
    `the run to be ${state}`,
  )
}

describe('examples/app-builder', () => {
  it('runs the seed action unchanged: Commerce callback with OAuth 1.0a, then the enriched order to the ERP', { timeout: 60_000 }, async () => {
    const { entityId, event } = newOrder()
    assert.equal(await io.publish(endpoint, event).outcome, 'delivered')
    await eventually(() => erpOrders(entityId).length === 1, COLD, 'the ERP to receive the order')

    const callback = commerce.requests.find((r) => r.resource === `orders/${entityId}`)!
    assert.equal(callback.auth, 'oauth1', 'Commerce checked the OAuth 1.0a signature as Magento does')
    assert.equal(callback.status, 200)
    assert.equal(callback.form, 'rest', 'oauth1a.js builds ${COMMERCE_BASE_URL}rest/V1/orders/<id>')
    assert.match(String(callback.headers.authorization), /oauth_signature_method="HMAC-SHA256"/)

    const [delivery] = erpOrders(entityId)
    assert.equal(delivery!.path, '/orders')
    const order = JSON.parse(delivery!.body)
    assert.equal(order.increment_id, `000000${entityId}`, 'the order as the event delivered it')
    assert.deepEqual(order.extension_attributes, { erp_customer_code: `C-${entityId}` }, '… with the extension_attributes from Commerce')

    const { run, attempts } = await runOf(event, 'succeeded')
    assert.equal(run.attempts, 1)
    assert.equal(run.action, 'storehook-demo/order-consumer')
    const [activation] = attempts[0].activations
    assert.equal(activation.status, 'success')
    assert.equal(activation.result.statusCode, 200)
    assert.equal(activation.result.body.extension_attributes.erp_customer_code, `C-${entityId}`)
  })

  it('retries the run when the un-awaited ERP call fails, until the ERP has the order: nothing lost', { timeout: 90_000 }, async () => {
    erp.failFirst(1, 500)
    const { entityId, event } = newOrder()
    assert.equal(await io.publish(endpoint, event).outcome, 'delivered')
    // The seed returned 200 on its first try, yet the ERP refused the order: the run must go on.
    const { run, attempts } = await runOf(event, 'succeeded', 60_000)
    assert.deepEqual(
      erpRequests(entityId).map((d) => d.status),
      [500, 200],
      'the ERP refused the first send and took the retried one',
    )
    assert.equal(run.attempts, 2)
    const [failed, succeeded] = attempts
    assert.equal(failed.outcome, 'failed')
    assert.match(failed.errorMessage, new RegExp(`ERP at ${erp.url}/orders did not take order ${entityId}: Response code 500`))
    assert.equal(failed.activations[0].status, 'action developer error')
    assert.ok(
      failed.activations[0].logs.some((line: string) => line.includes(`did not take order ${entityId}`)),
      `the rejection is in the failed activation's logs:\n${failed.activations[0].logs.join('\n')}`,
    )
    assert.equal(succeeded.outcome, 'succeeded')
    assert.equal(succeeded.activations[0].status, 'success')
    assert.equal((await admin('/runs?state=dead')).runs.length, 0)
    assert.equal(erpOrders(entityId).length, 1)
  })

  describe('the order-status web action answers as OpenWhisk would', () => {
    const entityId = 900
    commerce.seedOrder({ entity_id: entityId, status: 'processing', state: 'processing' } as never)

    it('GET with the query string as params: 200, its headers, a JSON body', { timeout: COLD }, async () => {
      const response = await fetch(`${web('order-status')}?id=${entityId}`)
      assert.equal(response.status, 200)
      assert.match(String(response.headers.get('content-type')), /^application\/json/)
      assert.equal(response.headers.get('cache-control'), 'no-store', 'the result\'s headers are the response\'s')
      const body = (await response.json()) as any
      assert.deepEqual(
        { entity_id: body.entity_id, increment_id: body.increment_id, status: body.status, state: body.state },
        { entity_id: entityId, increment_id: `000000${entityId}`, status: 'processing', state: 'processing' },
      )
    })

    it('POST with a JSON body merged into params', { timeout: COLD }, async () => {
      const response = await fetch(web('order-status'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: entityId }) })
      assert.equal(response.status, 200)
      assert.equal(((await response.json()) as any).entity_id, entityId)
    })

    it("an { error: { statusCode, body } } result is that status and that body", { timeout: COLD }, async () => {
      const missing = await fetch(web('order-status'))
      assert.equal(missing.status, 400)
      assert.deepEqual(await missing.json(), { error: "missing parameter(s) 'id'" })
      const unknown = await fetch(`${web('order-status')}?id=987654`)
      assert.equal(unknown.status, 404)
      assert.deepEqual(await unknown.json(), { error: 'no order 987654' })
    })
  })

  describe("the shipping-rates webhook, called by Commerce, verifies Commerce's signature itself", () => {
    const rateRequest = { dest_country_id: 'US', dest_postcode: '78701', package_weight: 2.5, all_items: [] }
    const standard = { carrier_code: 'DPS', method: 'dps_standard', method_title: 'Standard (3-5 days)', price: 6.24, cost: 6.24, additional_data: [{ key: 'delivery_days', value: '3-5' }] }
    const express = { carrier_code: 'DPS', method: 'dps_express', method_title: 'Express (next day)', price: 12.48, cost: 12.48, additional_data: [{ key: 'delivery_days', value: '1' }] }
    // The checkout starter kit's soft timeout; the hard one leaves room for a cold action thread.
    const hook = () => ({ name: 'storehook_shipping_rates', url: web('shipping-rates'), timeout: COLD, softTimeout: 1000, fallbackErrorMessage: 'Shipping rates are unavailable' })

    it('a signed call: HTTP 200 with an add operation per rate, which Commerce adds to the quote', { timeout: COLD + 5_000 }, async () => {
      webhooks.setHooks(GET_RATES, [hook()])
      const { payload, exception, calls } = await webhooks.dispatch(GET_RATES, { rateRequest, result: [] })
      assert.equal(exception, undefined, `Commerce went on with the checkout: ${JSON.stringify(exception)}`)
      assert.equal(calls[0]!.status, 200)
      assert.ok(calls[0]!.request.headers['x-adobe-commerce-webhook-signature'], 'Commerce signed the call')
      assert.deepEqual(calls[0]!.operations, [
        { op: 'add', path: 'result', value: standard },
        { op: 'add', path: 'result', value: express },
      ])
      assert.deepEqual(payload.result, [standard, express])
    })

    it("what Commerce did not sign gets the action's own refusal: HTTP 200 with an exception operation", { timeout: COLD + 5_000 }, async () => {
      webhooks.setHooks(GET_RATES, [hook()])
      const { calls } = await webhooks.dispatch(GET_RATES, { rateRequest, result: [] })
      const { request } = calls[0]!
      const resend = async (body: string, headers: Record<string, string>) => {
        const response = await fetch(request.url, { method: 'POST', headers, body })
        assert.equal(response.status, 200, 'Commerce webhooks always answer 200; the operations say yes or no')
        return JSON.parse(await response.text())
      }
      // raw-http gives the action the exact bytes: the same request verifies again, one more space does not.
      assert.equal((await resend(request.body, request.headers)).length, 2)
      const refused = { op: 'exception', message: 'Failed to verify the webhook signature: The signature is invalid.' }
      assert.deepEqual(await resend(request.body.replace('{', '{ '), request.headers), refused)
      const { 'x-adobe-commerce-webhook-signature': _, ...unsigned } = request.headers
      const missing = await resend(request.body, unsigned)
      assert.equal(missing.op, 'exception')
      assert.match(missing.message, /x-adobe-commerce-webhook-signature` not found/)

      // Commerce's key pair regenerated, the action still holding the old public key: the checkout stops, with the action's reason.
      webhooks.regenerateKeys()
      const rotated = await webhooks.dispatch(GET_RATES, { rateRequest, result: [] })
      assert.equal(rotated.exception?.reason, 'exception')
      assert.equal(rotated.exception?.message, refused.message)
      assert.deepEqual(rotated.payload.result, [], 'no rate was added')
    })
  })

  it("keeps each activation's console output: the Core.Logger lines, those of the floating ERP call included", { timeout: 60_000 }, async () => {
    const { entityId, event } = newOrder()
    assert.equal(await io.publish(endpoint, event).outcome, 'delivered')
    const { run } = await runOf(event, 'succeeded')
    const activation = await eventually(
      async () => ((await admin('/activations')).activations as any[])?.find((a) => a.runId === run.id),
      10_000,
      "the run's activation in /admin/api/activations",
    )
    assert.equal(activation.action, 'storehook-demo/order-consumer')
    assert.equal(activation.cause, 'event')
    const logs: string[] = activation.logs
    const shown = `\n${logs.join('\n')}`
    assert.ok(logs.some((line) => /^\S+ stdout: /.test(line) && line.includes(`Fetching URL: ${commerce.url}/rest/V1/orders/${entityId} with method: GET`)), `oauth1a.js's logger.info line${shown}`)
    assert.ok(logs.some((line) => line.includes(`order ${entityId} sent to the ERP`)), `erp.js's line, written after main had returned${shown}`)
  })
})
