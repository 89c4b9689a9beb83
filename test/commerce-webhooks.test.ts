/**
 * Adobe Commerce webhooks end to end: the project in test/fixtures/commerce-webhooks (the checkout
 * starter kit's shipping-rates action, ported) started as `storehook start` starts it, on a temp
 * SQLite file, and the Commerce webhooks simulator dispatching the starter kit's shipping-rates
 * webhook method at it over real HTTP on 127.0.0.1: what Commerce ends up doing with each answer.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { createCommerceWebhooksSimulator, type CommerceHook } from '../src/testkit/commerce-webhooks-simulator.ts'
import { eventually, start } from './helpers.ts'

const FIXTURE = new URL('./fixtures/commerce-webhooks', import.meta.url).pathname
const SHIPPING = 'plugin.magento.out_of_process_shipping_methods.api.shipping_rate_repository.get_rates'
const PLACE_ORDER = 'observer.sales_order_place_before'
const TOKEN = 'static-webhook-token-for-tests-7f3a'
const runs = ((globalThis as any).__commerceWebhookRuns ??= { rates: 0, lastRequestId: null })

const commerce = createCommerceWebhooksSimulator()
after(() => commerce.close())
process.env.COMMERCE_WEBHOOK_PUBLIC_KEY = commerce.publicKeyPem!
process.env.COMMERCE_WEBHOOK_TOKEN = TOKEN
const dbDir = mkdtempSync(join(tmpdir(), 'storehook-commerce-webhooks-'))
after(() => rmSync(dbDir, { recursive: true, force: true }))
const storehook = await start({ project: FIXTURE, db: `sqlite:${join(dbDir, 'storehook.db')}` })
const { url } = storehook
const admin = async (path: string) => (await fetch(`${url}/admin/api${path}`)).json() as Promise<any>

/** The starter kit's hook for shipping rates (apps/shipping-method/app.commerce.config.ts), aimed at `resource`. */
const starterKitHook = (resource: string, extra: Partial<CommerceHook> = {}): CommerceHook => ({
  name: 'add_shipping_rates_dps',
  batch: 'dps',
  url: `${url}/external/${resource}`,
  method: 'POST',
  priority: 100,
  required: true,
  softTimeout: 1000,
  timeout: 1500,
  ...extra,
})
const flatrate = { carrier_code: 'flatrate', method: 'flatrate', method_title: 'Fixed', price: 5 }
const rateRequest = (overrides: Record<string, unknown> = {}) => ({
  subject: [],
  rateRequest: { dest_country_id: 'US', dest_postcode: '12345', all_items: [], ...overrides },
  result: [flatrate],
})
const methods = (payload: Record<string, any>) => payload.result.map((rate: { method: string }) => rate.method)

describe('the starter kit\'s shipping-rates webhook against storehook', () => {
  it('signed by Commerce: the rates are added to the result, as Commerce would apply them', async () => {
    commerce.setHooks(SHIPPING, [starterKitHook('shipping-rates')])
    const china = { product: { attributes: { country_origin: 'China' } } }
    const { payload, exception, log, calls } = await commerce.dispatch(SHIPPING, rateRequest({ dest_postcode: '40000', all_items: [china] }), { requestId: 'req-rates-1' })
    assert.equal(exception, undefined)
    assert.deepEqual(methods(payload), ['flatrate', 'dps_shipping_one', 'dps_shipping_two', 'dps_shipping_from_china'])
    assert.deepEqual(payload.result[1], {
      carrier_code: 'DPS', method: 'dps_shipping_one', method_title: 'Demo Custom Shipping One', price: 17, cost: 17, additional_data: [{ key: 'k', value: 'v' }],
    })
    assert.equal(calls[0]!.status, 200)
    assert.deepEqual(log.filter((entry) => entry.level === 'error' || entry.level === 'warning'), [])
    assert.equal(runs.lastRequestId, 'req-rates-1')
  })

  it('the starter kit\'s "remove" is an add of { method, remove: true }: appended for the shipping module to act on', async () => {
    commerce.setHooks(SHIPPING, [starterKitHook('shipping-rates')])
    const { payload } = await commerce.dispatch(SHIPPING, rateRequest({ dest_country_id: 'CA' }))
    assert.deepEqual(payload.result.at(-1), { method: 'flatrate', remove: true })
    assert.ok(methods(payload).includes('dps_shipping_ca_one'))
  })

  it('a bad signature is answered 401 before any handler runs: a required hook then aborts the flow', async () => {
    const impostor = createCommerceWebhooksSimulator({ webhooks: { [SHIPPING]: [starterKitHook('shipping-rates')] } })
    const before = runs.rates
    const { exception, calls } = await impostor.dispatch(SHIPPING, rateRequest())
    assert.deepEqual([calls[0]!.status, exception?.reason], [401, 'status'])
    const unsigned = await fetch(`${url}/external/shipping-rates`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rateRequest()) })
    assert.equal(unsigned.status, 401)
    assert.deepEqual(await unsigned.json(), [{ op: 'exception', message: 'missing x-adobe-commerce-webhook-signature header (is signing enabled for webhooks in the Commerce Admin?)' }])
    assert.equal(runs.rates, before, 'no handler ran')
  })

  it('a slow handler: fail-open answers success before the hook\'s hard timeout, and checkout goes on with Commerce\'s own rates', async () => {
    commerce.setHooks(SHIPPING, [starterKitHook('shipping-rates')])
    const { payload, exception, calls } = await commerce.dispatch(SHIPPING, rateRequest({ dest_postcode: 'SLOW' }))
    assert.equal(exception, undefined)
    assert.deepEqual(methods(payload), ['flatrate'])
    assert.equal(calls[0]!.status, 200)
    assert.deepEqual(calls[0]!.operations, [{ op: 'success' }])
    assert.ok(calls[0]!.durationMs < 1500, `answered after ${Math.round(calls[0]!.durationMs)} ms, past the 1500 ms hard timeout`)
  })

  it('a slow handler: fail-closed answers an exception with its message, which Commerce throws', async () => {
    commerce.setHooks(SHIPPING, [starterKitHook('shipping-rates-strict')])
    const { exception, calls } = await commerce.dispatch(SHIPPING, rateRequest({ dest_postcode: 'SLOW' }))
    assert.equal(calls[0]!.status, 200)
    assert.deepEqual(exception, {
      message: 'Shipping rates are unavailable right now, please try again',
      class: 'Magento\\Framework\\Exception\\LocalizedException',
      hook: 'add_shipping_rates_dps',
      reason: 'exception',
    })
  })

  it('a handler that throws: the policy answers, and its error text never reaches Commerce', async () => {
    commerce.setHooks(SHIPPING, [starterKitHook('shipping-rates')])
    const open = await commerce.dispatch(SHIPPING, rateRequest({ dest_country_id: 'XX' }))
    assert.deepEqual([open.exception, methods(open.payload)], [undefined, ['flatrate']])
    commerce.setHooks(SHIPPING, [starterKitHook('shipping-rates-strict')])
    const closed = await commerce.dispatch(SHIPPING, rateRequest({ dest_country_id: 'XX' }))
    assert.equal(closed.exception?.message, 'Shipping rates are unavailable right now, please try again')
    assert.ok(!JSON.stringify(closed.calls).includes('internal-detail-not-for-shoppers'))
  })

  it('a required hook that times out at Commerce aborts the flow; an optional one is only logged', async () => {
    // The resource's deadline (3000 ms) is longer than the hook's hard timeout: Commerce gives up first.
    commerce.setHooks(SHIPPING, [starterKitHook('shipping-rates-unbounded', { timeout: 300, softTimeout: 100 })])
    const required = await commerce.dispatch(SHIPPING, rateRequest({ dest_postcode: 'SLOW' }))
    assert.equal(required.exception?.reason, 'hard-timeout')
    assert.ok(required.log.some((entry) => entry.event === 'hard-timeout'))
    commerce.setHooks(SHIPPING, [starterKitHook('shipping-rates-unbounded', { timeout: 300, required: false })])
    const optional = await commerce.dispatch(SHIPPING, rateRequest({ dest_postcode: 'SLOW' }))
    assert.deepEqual([optional.exception, methods(optional.payload)], [undefined, ['flatrate']])
    assert.ok(optional.log.some((entry) => entry.event === 'hard-timeout' && entry.level === 'error'))
  })
})

describe('a payment validation authenticated with a static bearer token', () => {
  const order = (method: string) => ({ eventName: PLACE_ORDER, data: { order: { increment_id: '000000042', payment: { method } } } })
  const hook = (token: string): CommerceHook => ({ name: 'validate_payment', url: `${url}/external/validate-payment`, timeout: 20000, headers: { Authorization: `Bearer ${token}` } })

  it('a deliberate WebhookException aborts the order with its message; a good method goes through', async () => {
    commerce.setHooks(PLACE_ORDER, [hook(TOKEN)])
    const refused = await commerce.dispatch(PLACE_ORDER, order('checkmo'))
    assert.deepEqual([refused.calls[0]!.status, refused.exception?.message], [200, 'Check / money order is not accepted for this order'])
    const accepted = await commerce.dispatch(PLACE_ORDER, order('card'))
    assert.equal(accepted.exception, undefined)
  })

  it('a wrong token is refused with 401', async () => {
    commerce.setHooks(PLACE_ORDER, [hook('not-the-token')])
    const { calls, exception } = await commerce.dispatch(PLACE_ORDER, order('card'))
    assert.deepEqual([calls[0]!.status, exception?.reason], [401, 'status'])
  })
})

describe('recorded, metered, and no secret shown', () => {
  it('records each call with its kind, outcome and fallback', async () => {
    const { calls } = await eventually(async () => {
      const listed = await admin('/external/calls?resource=shipping-rates&outcome=timeout')
      return listed.calls.length > 0 && listed
    })
    assert.deepEqual([calls[0].kind, calls[0].status, calls[0].fallback, calls[0].answer], ['adobe-commerce/webhook', 200, 'static', [{ op: 'success' }]])
    const refused = await eventually(async () => (await admin('/external/calls?resource=validate-payment&outcome=refused')).calls[0])
    assert.deepEqual(refused.answer, [{ op: 'exception', message: 'Check / money order is not accepted for this order' }])
  })

  it('lists the webhooks with their policy and no breaker; metrics count them; neither shows a key or token', async () => {
    const { resources } = await admin('/external')
    const rates = resources.find((r: any) => r.name === 'shipping-rates')
    assert.deepEqual([rates.kind, rates.onFailure, rates.publicKeys, rates.hookTimeoutMs, rates.deadlineMs, rates.breaker], ['adobe-commerce/webhook', 'fail-open', 1, 1500, 400, null])
    assert.equal(resources.find((r: any) => r.name === 'validate-payment').bearerTokens, 1)
    const metrics = await (await fetch(`${url}/metrics`)).text()
    assert.match(metrics, /storehook_external_calls_total\{resource="shipping-rates",outcome="timeout",fallback="static"\} [1-9]/)
    assert.match(metrics, /storehook_external_rejected_total\{resource="shipping-rates",reason="signature"\} [1-9]/)
    assert.doesNotMatch(metrics, /storehook_external_breaker_state\{resource="shipping-rates"\}/)
    for (const text of [JSON.stringify(resources), storehook.logs.join('\n')]) {
      assert.ok(!text.includes(TOKEN), 'the bearer token was shown')
      assert.ok(!text.includes('BEGIN PUBLIC KEY'), 'the public key was shown')
    }
  })
})
