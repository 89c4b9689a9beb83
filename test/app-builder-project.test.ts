/**
 * An App Builder project started as it is (app.config.yaml, no storehook.config): its
 * registrations turn signed I/O Events deliveries into durable runs of the bound action, whose
 * results are judged as I/O Events judges a delivery; every invocation leaves an activation
 * record, shown with the run's attempts.
 */
import assert from 'node:assert/strict'
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import openwhisk from 'openwhisk'
import { startIoEventsSimulator } from '../src/testkit/io-events-simulator.ts'
import { eventually, makeProject, start } from './helpers.ts'

const io = await startIoEventsSimulator({ timeScale: 0.001 })
after(() => io.close())

const project = makeProject({
  'app.config.yaml': `application:
  runtimeManifest:
    packages:
      shop:
        inputs:
          GREETING: $GREETING
        actions:
          order:
            function: actions/order.js
            runtime: nodejs:22
            inputs:
              FAIL_FLAG: $FAIL_FLAG
              UNSET_INPUT: $NOT_SET_ANYWHERE
            annotations:
              require-adobe-auth: false
          refund:
            function: actions/refund.js
          hello:
            function: actions/hello.js
            web: 'yes'
          caller:
            function: actions/caller.js
  events:
    registrations:
      Orders:
        description: orders to the ERP
        events_of_interest:
          - provider_metadata: dx_commerce_events
            event_codes:
              - com.adobe.commerce.observer.sales_order_save_after
        runtime_action: shop/order
      Refunds:
        events_of_interest:
          - provider_metadata: dx_commerce_events
            event_codes: [com.adobe.commerce.observer.sales_order_creditmemo_save_after]
        runtime_action: shop/refund
`,
  '.env': 'GREETING=hello from .env\n',
  // Optional beside app.config.yaml: storehook's own settings (here, retries fast enough for a test).
  'storehook.config.mjs': 'export default { appBuilder: { retry: { baseDelayMs: 200, maxDelayMs: 400 } } }\n',
  'package.json': '{ "name": "shop", "private": true }\n',
  // The seed's shape: a CommonJS main, an implicit global, a 500 while a flag file exists.
  'actions/order.js': `const fs = require('node:fs')
async function main(params) {
  event_payload = params.data.value
  console.log('order', event_payload.entity_id, 'greeting', params.GREETING, 'unset', JSON.stringify(params.UNSET_INPUT))
  if (fs.existsSync(params.FAIL_FLAG)) return { error: { statusCode: 500, body: { error: 'server error' } } }
  return { statusCode: 200, body: { entity: event_payload.entity_id, headers: Object.keys(params.__adobe_headers).sort(), type: params.type } }
}
exports.main = main
`,
  'actions/refund.js': `exports.main = async () => ({ statusCode: 400, body: { error: 'refunds are not supported' } })\n`,
  'actions/hello.js': `exports.main = async (params) => ({ body: { hello: params.name ?? 'world' } })\n`,
  // As the integration starter kit does: openwhisk() with no options reads __OW_API_HOST and __OW_API_KEY.
  // (The temp project has no node_modules: the repo's copy of the client is required by path.)
  'actions/caller.js': `const openwhisk = require(${JSON.stringify(createRequire(import.meta.url).resolve('openwhisk'))})
exports.main = async (params) => {
  const result = await openwhisk().actions.invoke({ name: 'shop/hello', blocking: true, result: true, params: { name: params.name } })
  return { body: { relayed: result.body, namespace: process.env.__OW_NAMESPACE } }
}
`,
})
const failFlag = join(project, 'erp-down')
Object.assign(process.env, { STOREHOOK_OW_API_KEY: 'test-uuid:test-key', IO_CLIENT_ID: io.clientId, IO_EVENTS_PUBLIC_KEY_BASE_URL: io.publicKeyBaseUrl, FAIL_FLAG: failFlag })
const storehook = await start({ project, db: `sqlite:${join(project, 'store.db')}` })
const admin = async (path: string) => (await fetch(`${storehook.url}/admin/api${path}`)).json() as Promise<any>
const endpoint = `${storehook.url}/events/io-events`

async function runFor(eventId: string) {
  let run: any
  await eventually(async () => {
    const { runs } = await admin(`/runs?q=${encodeURIComponent(eventId)}`)
    run = runs[0]
    return run !== undefined && ['succeeded', 'dead'].includes(run.state)
  }, 20_000, `the run of ${eventId} to finish`)
  return admin(`/runs/${run.id}`)
}

describe('an App Builder project under storehook', () => {
  it('runs the bound action for a signed delivery, with the CloudEvent, __adobe_headers and inputs as params', async () => {
    const event = io.cloudEvent('com.adobe.commerce.observer.sales_order_save_after', { entity_id: 7 })
    assert.equal(await io.publish(endpoint, event).outcome, 'delivered')
    const { run, attempts } = await runFor(String(event.eventid))
    assert.equal(run.state, 'succeeded')
    assert.equal(run.action, 'shop/order')
    const [activation] = attempts[0].activations
    assert.equal(activation.status, 'success')
    assert.equal(activation.result.body.entity, 7)
    assert.equal(activation.result.body.type, 'com.adobe.commerce.observer.sales_order_save_after')
    // The delivery headers arrive, the signature headers do not (Adobe's validator strips them).
    assert.ok(activation.result.body.headers.includes('x-adobe-event-id'))
    assert.ok(!activation.result.body.headers.some((h: string) => h.startsWith('x-adobe-digital-signature')))
    // Inputs: from .env; an unset variable is '' as in production, never the literal "$NOT_SET_ANYWHERE".
    assert.match(activation.logs.join('\n'), /stdout: order 7 greeting hello from \.env unset ""/)
  })

  it('retries a 500 answer (errorResponse) until the action succeeds, each attempt with its activation', async () => {
    writeFileSync(failFlag, '')
    const event = io.cloudEvent('com.adobe.commerce.observer.sales_order_save_after', { entity_id: 8 })
    assert.equal(await io.publish(endpoint, event).outcome, 'delivered')
    await eventually(async () => {
      const { runs } = await admin(`/runs?q=${String(event.eventid)}`)
      return runs[0]?.attempts >= 2
    }, 20_000, 'two failed attempts')
    rmSync(failFlag)
    const { run, attempts } = await runFor(String(event.eventid))
    assert.equal(run.state, 'succeeded')
    assert.match(attempts[0].errorMessage, /answered 500: \{"error":"server error"\}/)
    assert.equal(attempts[0].activations[0].status, 'application error')
    assert.equal(attempts.at(-1).activations[0].status, 'success')
    assert.ok(!existsSync(failFlag))
  })

  it('makes a run dead at once on a 4xx answer, where I/O Events would drop the event', async () => {
    const event = io.cloudEvent('com.adobe.commerce.observer.sales_order_creditmemo_save_after', { entity_id: 9 })
    assert.equal(await io.publish(endpoint, event).outcome, 'delivered')
    const { run, attempts } = await runFor(String(event.eventid))
    assert.equal(run.state, 'dead')
    assert.equal(attempts.length, 1)
    assert.match(attempts[0].errorMessage, /answered 400: \{"error":"refunds are not supported"\}.*would not retry/)
  })

  it('lists the manifest in the admin API (input names, never their values) and serves web actions', async () => {
    const { actions, namespace } = await admin('/app-builder/actions')
    assert.equal(namespace, 'storehook')
    const order = actions.find((a: any) => a.name === 'shop/order')
    assert.deepEqual(order.inputs.sort(), ['FAIL_FLAG', 'GREETING', 'UNSET_INPUT'])
    assert.deepEqual(order.registrations, [{ name: 'Orders', eventCodes: ['com.adobe.commerce.observer.sales_order_save_after'] }])
    assert.ok(!JSON.stringify(actions).includes('hello from .env'))
    const web = await fetch(`${storehook.url}/api/v1/web/shop/hello?name=Ada`)
    assert.equal(web.status, 200)
    assert.deepEqual(await web.json(), { hello: 'Ada' })
    const id = web.headers.get('x-openwhisk-activation-id')!
    const { activation } = await admin(`/activations/${id}`)
    assert.equal(activation.action, 'shop/hello')
    assert.equal(activation.cause, 'web')
  })

  it('answers the openwhisk client: a blocking invoke from outside, and an action invoking its sibling', async () => {
    const ow = openwhisk({ apihost: storehook.url, api_key: 'test-uuid:test-key', namespace: '_' })
    assert.deepEqual(await ow.actions.invoke({ name: 'shop/hello', blocking: true, result: true, params: { name: 'Grace' } }), { body: { hello: 'Grace' } })
    const record = await ow.actions.invoke({ name: 'shop/caller', blocking: true, params: { name: 'Linus' } })
    assert.equal(record.response!.success, true)
    assert.deepEqual(record.response!.result, { body: { relayed: { hello: 'Linus' }, namespace: 'storehook' } })
    const wrongKey = openwhisk({ apihost: storehook.url, api_key: 'test-uuid:wrong', namespace: '_' })
    await assert.rejects(wrongKey.actions.invoke({ name: 'shop/hello', blocking: true }), (error: any) => error.statusCode === 401)
  })
})
