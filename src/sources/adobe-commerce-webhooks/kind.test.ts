/**
 * The Commerce webhook kind on the shared external machinery, in process: option checks at load,
 * and what `ExternalResources.answer` sends for each handler behaviour and failure policy.
 * (Over real HTTP, with the Commerce webhooks simulator: test/commerce-webhooks.test.ts.)
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { ConfigError, VerificationError, MalformedRequestError } from '../../core/errors.ts'
import { ExternalResources } from '../../runtime/external/index.ts'
import { loadExternal } from '../../runtime/external/load.ts'
import type { NewExternalCall, Store } from '../../store/store.ts'
import { REQUEST_ID_HEADER, SIGNATURE_HEADER, signCommerceWebhook } from './auth.ts'
import { adobeCommerce } from './index.ts'
import type { CommerceWebhookOptions, CommerceWebhookPayload } from './kind.ts'

const pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
const PUBLIC_PEM = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string
const TOKEN = 'static-token-for-tests-0001'
const noop = () => adobeCommerce.success()

function load(options: Record<string, unknown>, handler: (p: CommerceWebhookPayload, ctx: any) => unknown = noop, name = 'hook') {
  return loadExternal(name, `external/${name}.ts`, adobeCommerce.webhook(handler as never, options as CommerceWebhookOptions), options as never)
}

describe('loading a Commerce webhook: errors name the file and the field', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['no authentication at all', {}, /external\/hook\.ts \(external resource "hook"\): publicKey: a Commerce webhook needs publicKey .*bearerToken, or both/],
    ['a private key where the public key goes', { publicKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) }, /publicKey: this is a private key/],
    ['an empty public key', { publicKey: '' }, /publicKey: expected at least one PEM public key/],
    ['an empty bearer token', { bearerToken: '' }, /bearerToken: expected the token/],
    ['shared secrets (Commerce Layer\'s option)', { secrets: 's', bearerToken: TOKEN }, /secrets: unknown option; expected one of deadlineMs, isolation, fallback, publicKey/],
    ['a breaker (Commerce has none)', { bearerToken: TOKEN, breaker: { warnAt: 3 } }, /breaker: unknown option/],
    ['a fallback answer besides the policy', { bearerToken: TOKEN, fallback: { answer: [] } }, /fallback\.answer: not for Commerce webhooks: onFailure/],
    ['an unknown policy', { bearerToken: TOKEN, onFailure: 'retry' }, /onFailure: expected 'fail-open' or 'fail-closed'/],
    ['a failure message with fail-open', { bearerToken: TOKEN, onFailure: 'fail-open', failureMessage: 'x' }, /failureMessage: only used with onFailure: 'fail-closed'/],
    ['a deadline at or past the hook\'s timeout', { bearerToken: TOKEN, hookTimeoutMs: 5000, deadlineMs: 5000 }, /deadlineMs: expected less than 5000 ms, the platform's own timeout/],
    ['a negative hook timeout', { bearerToken: TOKEN, hookTimeoutMs: -1 }, /hookTimeoutMs: expected the hook's hard timeout/],
  ]
  for (const [what, options, expected] of cases) {
    it(`refuses ${what}`, () => assert.throws(() => load(options), (error: unknown) => error instanceof ConfigError && expected.test(error.message)))
  }

  it('defaults: 4500 ms, or 90 % of the hook timeout; fail-closed; no breaker; no secret in describe()', () => {
    const plain = load({ publicKey: PUBLIC_PEM })
    assert.equal(plain.deadlineMs, 4500)
    assert.equal(plain.breaker, null)
    assert.equal(plain.kindName, 'adobe-commerce/webhook')
    assert.deepEqual(plain.warnings, [])
    assert.equal(load({ bearerToken: TOKEN, hookTimeoutMs: 5000 }).deadlineMs, 4500)
    assert.equal(load({ bearerToken: TOKEN, hookTimeoutMs: 20000 }).deadlineMs, 18000)
    const both = load({ publicKey: [PUBLIC_PEM, PUBLIC_PEM], bearerToken: TOKEN, hookTimeoutMs: 10000 })
    const described = both.describe()
    assert.deepEqual([described.publicKeys, described.bearerTokens, described.onFailure, described.hookTimeoutMs], [2, 1, 'fail-closed', 10000])
    assert.doesNotMatch(JSON.stringify(described), new RegExp(`${TOKEN}|BEGIN`))
  })

  it('warns, and keeps the 4500 ms default, when the hook has no hard timeout (hookTimeoutMs: 0)', () => {
    const loaded = load({ bearerToken: TOKEN, hookTimeoutMs: 0 })
    assert.equal(loaded.deadlineMs, 4500)
    assert.match(loaded.warnings[0]!, /no hard timeout in Commerce/)
  })
})

/** A runtime for one or more loaded webhooks, with its records and log lines kept. */
function runtime(...resources: ReturnType<typeof load>[]) {
  const records: NewExternalCall[] = []
  const lines: string[] = []
  const logger = pino({ level: 'debug' }, new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }))
  const store = { recordExternalCalls: async (calls: NewExternalCall[]) => void records.push(...calls) } as unknown as Store
  const external = new ExternalResources({ resources, store, logger, registry: new Registry(), connections: {}, recorder: { flushIntervalMs: 1 } })
  return { external, records, lines }
}

function request(payload: unknown, { sign = true, token, requestId }: { sign?: boolean; token?: string; requestId?: string } = {}) {
  const body = new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload))
  const headers = new Headers({ 'content-type': 'application/json' })
  if (sign) headers.set(SIGNATURE_HEADER, signCommerceWebhook(pair.privateKey, body))
  if (token) headers.set('authorization', `Bearer ${token}`)
  if (requestId) headers.set(REQUEST_ID_HEADER, requestId)
  return { method: 'POST', url: new URL('http://127.0.0.1/external/hook'), headers, body }
}

const forever = () => new Promise<never>(() => {})
const cart = (sku: string) => ({ eventName: 'observer.checkout_cart_product_add_before', data: { item: { sku, qty: 1 } } })

describe('answers: always 200 with operations for whatever the handler or the policy produced', () => {
  let seen: { requestId: string | null; deadline: number } | null = null
  const handler = async (payload: CommerceWebhookPayload, ctx: any) => {
    seen = { requestId: ctx.requestId, deadline: ctx.deadline }
    switch (payload.data?.item?.sku) {
      case 'RATE': return [adobeCommerce.add('result', { carrier_code: 'DPS', method: 'dps_one', price: 17 })]
      case 'REFUSE': throw new adobeCommerce.WebhookException('Not sold in your country', 'Vendor\\Geo\\Refused')
      case 'RETURNED_EXCEPTION': return adobeCommerce.exception('returned, not thrown')
      case 'THROW': throw new Error('inventory service said: secret-internal-detail')
      case 'INVALID': return { op: 'add', path: 'result.price', value: 1 }
      case 'HANG': return forever()
    }
    return adobeCommerce.success()
  }
  const closed = load({ publicKey: PUBLIC_PEM, deadlineMs: 150 }, handler, 'closed')
  const closedWithMessage = load({ publicKey: PUBLIC_PEM, deadlineMs: 150, failureMessage: 'Shipping rates are unavailable right now' }, handler, 'closed-msg')
  const open = load({ publicKey: PUBLIC_PEM, deadlineMs: 150, onFailure: 'fail-open' }, handler, 'open')
  const { external, records } = runtime(closed, closedWithMessage, open)
  const answer = (name: string, payload: unknown, options?: Parameters<typeof request>[1]) => external.answer(name, request(payload, options), performance.now())
  const parsed = async (name: string, payload: unknown) => {
    const result = await answer(name, payload)
    return { ...result, body: JSON.parse(result.body) }
  }

  it('sends the handler\'s operations as a list, with the request id in ctx', async () => {
    const result = await external.answer('closed', request(cart('RATE'), { requestId: 'req-42' }), performance.now())
    assert.deepEqual([result.status, JSON.parse(result.body)], [200, [{ op: 'add', path: 'result', value: { carrier_code: 'DPS', method: 'dps_one', price: 17 } }]])
    assert.deepEqual([result.outcome, result.fallback], ['answered', 'none'])
    assert.equal(seen!.requestId, 'req-42')
    assert.ok(seen!.deadline > Date.now() - 1000 && seen!.deadline <= Date.now() + 150)
  })

  it('a WebhookException is a deliberate exception: 200, its message and class, not a failure', async () => {
    const result = await parsed('open', cart('REFUSE'))
    assert.deepEqual([result.status, result.body, result.outcome, result.fallback], [
      200,
      [{ op: 'exception', message: 'Not sold in your country', class: 'Vendor\\Geo\\Refused' }],
      'refused',
      'none',
    ])
    assert.deepEqual((await parsed('open', cart('RETURNED_EXCEPTION'))).body, [{ op: 'exception', message: 'returned, not thrown' }])
  })

  for (const [sku, outcome] of [['THROW', 'error'], ['INVALID', 'invalid'], ['HANG', 'timeout']] as const) {
    it(`${sku}: fail-closed answers an exception without detail (Commerce shows its fallbackErrorMessage), fail-open answers success`, async () => {
      const started = performance.now()
      const failClosed = await parsed('closed', cart(sku))
      assert.deepEqual([failClosed.status, failClosed.body, failClosed.outcome, failClosed.fallback], [200, [{ op: 'exception' }], outcome, 'static'])
      assert.deepEqual((await parsed('closed-msg', cart(sku))).body, [{ op: 'exception', message: 'Shipping rates are unavailable right now' }])
      const failOpen = await parsed('open', cart(sku))
      assert.deepEqual([failOpen.status, failOpen.body, failOpen.outcome], [200, [{ op: 'success' }], outcome])
      // Three calls, each within its 150 ms deadline plus scheduling slack.
      assert.ok(performance.now() - started < 3 * 150 + 600, `took ${Math.round(performance.now() - started)} ms`)
    })
  }

  it('records every call with its kind and outcome, the handler\'s error text kept out of the answer', async () => {
    await sleep(20)
    await external.close()
    const thrown = records.find((r) => r.resource === 'closed' && r.outcome === 'error')!
    assert.equal(thrown.kind, 'adobe-commerce/webhook')
    assert.equal(thrown.status, 200)
    assert.equal(thrown.answer, '[{"op":"exception"}]')
    assert.match(thrown.error!, /secret-internal-detail/)
    assert.ok(records.every((r) => !r.answer.includes('secret-internal-detail')))
    assert.equal(external.status().find((r) => r.name === 'closed')!.breaker, null)
  })
})

describe('refusals before any user code', () => {
  let runs = 0
  const counted = () => (runs++, adobeCommerce.success())
  const signed = load({ publicKey: PUBLIC_PEM }, counted, 'signed')
  const both = load({ publicKey: PUBLIC_PEM, bearerToken: TOKEN }, counted, 'both')
  const { external } = runtime(signed, both)

  it('401 for a bad or missing signature, 400 for a body that is not a JSON object; the handler never runs', async () => {
    const tampered = request(cart('A'))
    tampered.headers.set(SIGNATURE_HEADER, signCommerceWebhook(pair.privateKey, new TextEncoder().encode('{"other":1}')))
    await assert.rejects(external.answer('signed', tampered, performance.now()), VerificationError)
    await assert.rejects(external.answer('signed', request(cart('A'), { sign: false }), performance.now()), /missing x-adobe-commerce-webhook-signature/)
    await assert.rejects(external.answer('signed', request('[{"op":"success"}]'), performance.now()), (e: unknown) => e instanceof MalformedRequestError && /got an array/.test(e.message))
    await assert.rejects(external.answer('signed', request('{"eventName":'), performance.now()), /the body is not JSON/)
    assert.equal(runs, 0)
  })

  it('with a public key and a token, a call needs both', async () => {
    await assert.rejects(external.answer('both', request(cart('A')), performance.now()), /missing Authorization header/)
    await assert.rejects(external.answer('both', request(cart('A'), { sign: false, token: TOKEN }), performance.now()), /signature/)
    assert.equal(runs, 0)
    assert.equal((await external.answer('both', request(cart('A'), { token: TOKEN }), performance.now())).status, 200)
    assert.equal(runs, 1)
  })

  it('the kind answers a refusal with its status and an exception operation', () => {
    const reply = signed.kind.refusal({ status: 401, code: 'INVALID_SIGNATURE', message: 'bad signature' }, undefined)
    assert.deepEqual(reply, { status: 401, body: [{ op: 'exception', message: 'bad signature' }] })
  })
})

describe('last good answer, then the policy', () => {
  it('answers the last good operations for the same payload before failing open', async () => {
    let down = false
    const loaded = load({ bearerToken: TOKEN, deadlineMs: 100, onFailure: 'fail-open', fallback: { lastGood: true } }, () => (down ? forever() : [adobeCommerce.add('result', { method: 'dps_one' })]))
    const { external } = runtime(loaded)
    const call = (payload: unknown) => external.answer('hook', request(payload, { sign: false, token: TOKEN }), performance.now())
    const good = await call(cart('X'))
    down = true
    const remembered = await call(cart('X'))
    assert.deepEqual([remembered.body, remembered.fallback, remembered.outcome], [good.body, 'last-good', 'timeout'])
    const other = await call(cart('Y'))
    assert.deepEqual([JSON.parse(other.body), other.fallback], [[{ op: 'success' }], 'static'])
    await external.close()
  })

  it('logs the load warnings once, when the runtime starts', () => {
    const { lines } = runtime(load({ bearerToken: TOKEN, hookTimeoutMs: 0 }))
    assert.equal(lines.filter((line) => line.includes('no hard timeout in Commerce')).length, 1)
  })
})
