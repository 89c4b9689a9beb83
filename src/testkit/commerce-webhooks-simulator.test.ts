/**
 * The Commerce webhooks simulator against a scripted endpoint on 127.0.0.1: what it sends
 * (body, fields, headers, signature), and what it does with what comes back (batches, parallel
 * hooks, priority, timeouts, required/optional, operations, the ttl cache).
 */
import assert from 'node:assert/strict'
import { createVerify } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { describe, it } from 'node:test'
import { listenOnLoopback } from '../../test/loopback.ts'
import { applyOperation, selectFields } from './commerce-webhooks/payload.ts'
import { COMMERCE_GENERIC_ERROR, createCommerceWebhooksSimulator, LOCALIZED_EXCEPTION, type CommerceHook } from './commerce-webhooks-simulator.ts'

type Script = { status?: number; delayMs?: number; body: unknown }
const scripts = new Map<string, Script>()
const received: { path: string; headers: IncomingHttpHeaders; body: string; at: number }[] = []
const server = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => (body += chunk)).on('end', () => {
    const path = req.url ?? '/'
    received.push({ path, headers: req.headers, body, at: performance.now() })
    const script = scripts.get(path) ?? { body: { op: 'success' } }
    const timer = setTimeout(() => {
      if (!res.destroyed) res.writeHead(script.status ?? 200, { 'content-type': 'application/json' }).end(typeof script.body === 'string' ? script.body : JSON.stringify(script.body))
    }, script.delayMs ?? 0)
    res.on('close', () => clearTimeout(timer))
  })
})
const base = await listenOnLoopback(server)
const METHOD = 'plugin.magento.out_of_process_shipping_methods.api.shipping_rate_repository.get_rates'
const hook = (name: string, extra: Partial<CommerceHook> = {}): CommerceHook => ({ name, url: `${base}/${name}`, timeout: 2000, ...extra })
const rate = (method: string, price: number) => ({ op: 'add', path: 'result', value: { carrier_code: 'DPS', method, price } })
const payload = () => ({ rateRequest: { dest_country_id: 'US', dest_postcode: '40000' }, result: [{ carrier_code: 'flatrate', method: 'flatrate', price: 5 }] })
const sentTo = (name: string) => received.filter((r) => r.path === `/${name}`)

describe('what Commerce sends', () => {
  it('the payload as JSON, x-adobe-commerce-request-id, configured headers, a bearer token, and a signature over base64(body)', async () => {
    const commerce = createCommerceWebhooksSimulator({ webhooks: { [METHOD]: [hook('send', { headers: { 'x-api-key': 'k1' } })] }, bearerToken: () => 'ims-token' })
    const result = await commerce.dispatch(METHOD, payload(), { requestId: 'req-1' })
    const [request] = sentTo('send')
    assert.deepEqual(JSON.parse(request!.body), payload())
    assert.equal(request!.headers['x-adobe-commerce-request-id'], 'req-1')
    assert.equal(request!.headers['content-type'], 'application/json')
    assert.equal(request!.headers['x-api-key'], 'k1')
    assert.equal(request!.headers.authorization, 'Bearer ims-token')
    // Checked as App Builder actions checked it: over __ow_body, the base64 of the raw body.
    const signature = String(request!.headers['x-adobe-commerce-webhook-signature'])
    assert.equal(createVerify('SHA256').update(Buffer.from(request!.body).toString('base64')).verify(commerce.publicKeyPem!, signature, 'base64'), true)
    assert.equal(createVerify('SHA256').update(request!.body).verify(commerce.publicKeyPem!, signature, 'base64'), false)
    assert.deepEqual([result.exception, result.requestId], [undefined, 'req-1'])
  })

  it('no signature when signing is off; a new key pair on regenerateKeys()', async () => {
    const unsigned = createCommerceWebhooksSimulator({ webhooks: { [METHOD]: [hook('unsigned')] }, signing: false })
    assert.equal(unsigned.publicKeyPem, null)
    await unsigned.dispatch(METHOD, payload())
    assert.equal(sentTo('unsigned')[0]!.headers['x-adobe-commerce-webhook-signature'], undefined)
    const signed = createCommerceWebhooksSimulator({ webhooks: { [METHOD]: [hook('rekey')] } })
    const first = signed.publicKeyPem
    assert.notEqual(signed.regenerateKeys(), first)
    assert.notEqual(signed.publicKeyPem, first)
  })

  it('only the configured fields, with [] for each element of a list', async () => {
    const fields = [{ name: 'postcode', source: 'rateRequest.dest_postcode' }, { name: 'result[].method' }, { name: 'missing', source: 'rateRequest.nope' }]
    const commerce = createCommerceWebhooksSimulator({ webhooks: { [METHOD]: [hook('fields', { fields })] }, signing: false })
    await commerce.dispatch(METHOD, { ...payload(), result: [{ method: 'a', price: 1 }, { method: 'b', price: 2 }] })
    assert.deepEqual(JSON.parse(sentTo('fields')[0]!.body), { postcode: '40000', result: [{ method: 'a' }, { method: 'b' }], missing: null })
  })
})

describe('what Commerce does with the answers', () => {
  it('applies add/replace/remove to the payload; success changes nothing; the input is left alone', async () => {
    scripts.set('/ops', { body: [{ op: 'success' }, rate('dps_one', 17), { op: 'replace', path: 'result/0/price', value: 6 }, { op: 'remove', path: 'rateRequest/dest_country_id' }] })
    const commerce = createCommerceWebhooksSimulator({ webhooks: { [METHOD]: [hook('ops')] }, signing: false })
    const input = payload()
    const result = await commerce.dispatch(METHOD, input)
    assert.deepEqual(result.payload.result, [{ carrier_code: 'flatrate', method: 'flatrate', price: 6 }, { carrier_code: 'DPS', method: 'dps_one', price: 17 }])
    assert.deepEqual(result.payload.rateRequest, { dest_postcode: '40000' })
    assert.deepEqual(input, payload())
    assert.equal(result.exception, undefined)
  })

  it('an exception operation aborts with its message and class, or the fallbackErrorMessage', async () => {
    scripts.set('/refuse', { body: { op: 'exception', message: 'No PO boxes', class: 'Vendor\\Refused' } })
    scripts.set('/bare', { body: { op: 'exception' } })
    const commerce = createCommerceWebhooksSimulator({
      webhooks: { a: [hook('refuse', { required: false })], b: [hook('bare', { fallbackErrorMessage: 'Cannot ship right now' })], c: [hook('bare')] },
      signing: false,
    })
    assert.deepEqual((await commerce.dispatch('a', payload())).exception, { message: 'No PO boxes', class: 'Vendor\\Refused', hook: 'refuse', reason: 'exception' })
    assert.deepEqual((await commerce.dispatch('b', payload())).exception, { message: 'Cannot ship right now', class: LOCALIZED_EXCEPTION, hook: 'bare', reason: 'exception' })
    assert.equal((await commerce.dispatch('c', payload())).exception!.message, COMMERCE_GENERIC_ERROR)
  })

  it('required hooks abort on a non-2xx, a hard timeout or a non-operation answer; optional ones are only logged', async () => {
    scripts.set('/broken', { status: 500, body: { error: 'x' } })
    scripts.set('/slow', { delayMs: 1500, body: rate('late', 1) })
    scripts.set('/garbage', { body: '<html>' })
    const commerce = createCommerceWebhooksSimulator({
      webhooks: {
        status: [hook('broken', { fallbackErrorMessage: 'Rates unavailable' })],
        timeout: [hook('slow', { timeout: 200 })],
        invalid: [hook('garbage')],
        optional: [hook('broken', { required: false }), hook('slow', { required: false, timeout: 200 }), hook('garbage', { required: false })],
      },
      signing: false,
    })
    const status = await commerce.dispatch('status', payload())
    assert.deepEqual(status.exception, { message: 'Rates unavailable', class: LOCALIZED_EXCEPTION, hook: 'broken', reason: 'status' })
    const started = performance.now()
    const timedOut = await commerce.dispatch('timeout', payload())
    assert.equal(timedOut.exception!.reason, 'hard-timeout')
    assert.ok(performance.now() - started < 1200, 'the hard timeout aborted the request')
    assert.ok(timedOut.log.some((entry) => entry.event === 'hard-timeout' && entry.level === 'error'))
    assert.equal((await commerce.dispatch('invalid', payload())).exception!.reason, 'invalid-response')
    const optional = await commerce.dispatch('optional', payload())
    assert.equal(optional.exception, undefined)
    assert.deepEqual(optional.payload, payload())
    assert.deepEqual(optional.log.filter((e) => e.level === 'error').map((e) => e.event).sort(), ['hard-timeout', 'invalid-response', 'status'])
  })

  it('a soft timeout only logs a notice', async () => {
    scripts.set('/soft', { delayMs: 150, body: rate('soft', 2) })
    const commerce = createCommerceWebhooksSimulator({ webhooks: { [METHOD]: [hook('soft', { softTimeout: 50 })] }, signing: false })
    const result = await commerce.dispatch(METHOD, payload())
    assert.equal(result.exception, undefined)
    assert.equal(result.payload.result.length, 2)
    assert.ok(result.log.some((entry) => entry.event === 'soft-timeout' && entry.level === 'notice'))
  })

  it('warns about required hooks without a hard timeout (Commerce\'s default of 0)', async () => {
    const commerce = createCommerceWebhooksSimulator({ webhooks: { [METHOD]: [{ name: 'forever', url: `${base}/forever` }, hook('fine'), { name: 'opt', url: `${base}/opt`, required: false }] }, signing: false })
    assert.equal(commerce.warnings.length, 1)
    assert.match(commerce.warnings[0]!, /forever: a required hook without a hard timeout/)
    const result = await commerce.dispatch(METHOD, payload())
    assert.deepEqual(result.log.filter((e) => e.event === 'no-hard-timeout').map((e) => e.hook), ['forever'])
  })
})

describe('batches, parallel hooks and priority', () => {
  it('runs batches in order, hooks of a batch in parallel, later batches seeing earlier changes', async () => {
    for (const name of ['p1', 'p2']) scripts.set(`/${name}`, { delayMs: 400, body: rate(name, 1) })
    scripts.set('/second', { body: { op: 'success' } })
    const commerce = createCommerceWebhooksSimulator({
      webhooks: { [METHOD]: [hook('second', { batch: 'later', order: 2 }), hook('p1', { batch: 'first', order: 1 }), hook('p2', { batch: 'first', order: 1 })] },
      signing: false,
    })
    const started = performance.now()
    const result = await commerce.dispatch(METHOD, payload())
    const elapsed = performance.now() - started
    // In sequence the two would take 800 ms at least.
    assert.ok(elapsed < 750, `two 400 ms hooks of one batch took ${Math.round(elapsed)} ms together: not in parallel`)
    assert.deepEqual(result.calls.map((c) => c.hook), ['p1', 'p2', 'second'])
    const [p1, p2] = [sentTo('p1').at(-1)!, sentTo('p2').at(-1)!]
    assert.ok(Math.abs(p1.at - p2.at) < 250, 'the batch was sent together')
    assert.deepEqual(JSON.parse(sentTo('second').at(-1)!.body).result.map((r: { method: string }) => r.method), ['flatrate', 'p1', 'p2'])
  })

  it('merges a batch in priority order: higher first by default, configurable', async () => {
    scripts.set('/low', { body: { op: 'replace', path: 'result/0/price', value: 1 } })
    scripts.set('/high', { body: { op: 'replace', path: 'result/0/price', value: 99 } })
    const hooks = [hook('low', { priority: 1 }), hook('high', { priority: 100 })]
    const higherFirst = createCommerceWebhooksSimulator({ webhooks: { [METHOD]: hooks }, signing: false })
    const lowerFirst = createCommerceWebhooksSimulator({ webhooks: { [METHOD]: hooks }, signing: false, priorityOrder: 'lower-first' })
    // Applied one after the other, the last replace wins.
    assert.equal((await higherFirst.dispatch(METHOD, payload())).payload.result[0].price, 1)
    assert.equal((await lowerFirst.dispatch(METHOD, payload())).payload.result[0].price, 99)
  })
})

describe('the ttl cache', () => {
  it('reuses an answer for the same URL, body and headers until the ttl passes, whatever the request id', async () => {
    scripts.set('/cached', { body: rate('cached', 3) })
    let clock = 1_000_000
    const commerce = createCommerceWebhooksSimulator({ webhooks: { [METHOD]: [hook('cached', { ttl: 60 })] }, now: () => clock })
    const before = sentTo('cached').length
    const first = await commerce.dispatch(METHOD, payload())
    const second = await commerce.dispatch(METHOD, payload())
    assert.equal(sentTo('cached').length, before + 1)
    assert.deepEqual([second.calls[0]!.cached, second.payload], [true, first.payload])
    assert.ok(second.log.some((entry) => entry.event === 'cache-hit'))
    await commerce.dispatch(METHOD, { ...payload(), rateRequest: { dest_postcode: '1' } })
    assert.equal(sentTo('cached').length, before + 2, 'another body is another request')
    clock += 61_000
    await commerce.dispatch(METHOD, payload())
    assert.equal(sentTo('cached').length, before + 3, 'expired after 60 s')
  })

  it('does not cache a failed answer, nor without a ttl', async () => {
    scripts.set('/flaky', { status: 503, body: {} })
    const commerce = createCommerceWebhooksSimulator({ webhooks: { a: [hook('flaky', { ttl: 60, required: false })], b: [hook('nocache')] }, signing: false })
    await commerce.dispatch('a', payload())
    await commerce.dispatch('a', payload())
    assert.equal(sentTo('flaky').length, 2)
    await commerce.dispatch('b', payload())
    await commerce.dispatch('b', payload())
    assert.equal(sentTo('nocache').length, 2)
  })
})

describe('payload helpers', () => {
  it('selectFields renames and nests', () => {
    assert.deepEqual(selectFields({ data: { quote_item: { sku: 'S1', qty: 2, name: 'n' } } }, [{ name: 'product.sku', source: 'data.quote_item.sku' }, { name: 'product.quantity', source: 'data.quote_item.qty' }]), {
      product: { sku: 'S1', quantity: 2 },
    })
  })

  it('applyOperation: add appends to a list and sets otherwise; remove takes out of a list; odd paths are reported', () => {
    const target: Record<string, any> = { result: [1, 2, 3], obj: { a: 1 }, scalar: 5 }
    assert.equal(applyOperation(target, { op: 'add', path: 'result', value: 4 }), null)
    assert.equal(applyOperation(target, { op: 'add', path: 'obj/b', value: 2 }), null)
    assert.equal(applyOperation(target, { op: 'remove', path: 'result/0' }), null)
    assert.equal(applyOperation(target, { op: 'add', path: 'new/deep', value: true }), null)
    assert.deepEqual(target, { result: [2, 3, 4], obj: { a: 1, b: 2 }, scalar: 5, new: { deep: true } })
    assert.equal(applyOperation(target, { op: 'remove', path: 'obj/zz' })!.level, 'notice')
    assert.equal(applyOperation(target, { op: 'replace', path: 'obj/zz', value: 1 })!.level, 'notice')
    assert.equal(applyOperation(target, { op: 'add', path: 'scalar/x', value: 1 })!.level, 'error')
  })
})
