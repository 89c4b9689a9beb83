import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Webhook } from 'standardwebhooks'
import { HttpError, MalformedRequestError, VerificationError } from '../../core/errors.ts'
import type { SourceRequest } from '../source.ts'
import { signStandardWebhook, standardWebhooks, verifyStandardWebhook } from './index.ts'

const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`
const SECRET = newSecret()
const OTHER_SECRET = newSecret()
const NOW = 1_700_000_000_000
const NOW_S = NOW / 1000
const encode = (text: string): Uint8Array => new TextEncoder().encode(text)

function source(config: Record<string, unknown> = {}) {
  const parsed = standardWebhooks.configSchema.parse({ secrets: [SECRET], ...config })
  return standardWebhooks.create('shop', parsed)
}

function request(body: Uint8Array, headers: Record<string, string>): SourceRequest {
  return { method: 'POST', url: new URL('http://127.0.0.1/events/shop'), headers: new Headers(headers), body }
}

function signed(body: Uint8Array, options: { secret?: string; id?: string; ts?: number } = {}): SourceRequest {
  const { secret = SECRET, id = 'msg_1', ts = NOW_S } = options
  return request(body, {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signStandardWebhook(secret, id, ts, body),
  })
}

/** Asserts a 401 whose message reveals neither the secret nor the signature we expected. */
function assertRejected(fn: () => unknown, message: RegExp, secrets: string[] = [SECRET]) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof VerificationError, `expected VerificationError, got ${String(error)}`)
    assert.equal(error.status, 401)
    assert.match(error.message, message)
    for (const secret of secrets) {
      assert.ok(!error.message.includes(secret))
      assert.ok(!error.message.includes(secret.slice('whsec_'.length)))
    }
    return true
  })
}

function assertMalformed(fn: () => unknown, message: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MalformedRequestError, `expected MalformedRequestError, got ${String(error)}`)
    assert.equal(error.status, 400)
    assert.match(error.message, message)
    return true
  })
}

const ORDER = encode('{"type":"order.created","data":{"id":"o_1","kind":"order"}}')

describe('standard-webhooks source', () => {
  test('turns a verified request into one event', () => {
    const events = source().receive(signed(ORDER, { id: 'msg_abc' }), NOW)
    assert.deepEqual(events, [
      {
        id: 'msg_abc',
        type: 'order.created',
        payload: { type: 'order.created', data: { id: 'o_1', kind: 'order' } },
        headers: {
          'webhook-id': 'msg_abc',
          'webhook-timestamp': String(NOW_S),
          'webhook-signature': signStandardWebhook(SECRET, 'msg_abc', NOW_S, ORDER),
        },
      },
    ])
  })

  describe('interoperability with the standardwebhooks library', () => {
    test('a signature made by the library verifies with our source', () => {
      // The library checks the timestamp against the real clock, so both sides use it.
      const now = Date.now()
      const body = '{"type":"invoice.paid","amount":12.5,"note":"café ☕"}'
      const lib = new Webhook(SECRET)
      const headers = {
        'webhook-id': 'msg_2Lq',
        'webhook-timestamp': String(Math.floor(now / 1000)),
        'webhook-signature': lib.sign('msg_2Lq', new Date(now), body),
      }
      assert.equal(source().receive(request(encode(body), headers), now)[0]?.type, 'invoice.paid')

      const fromBuffer = lib.sign('msg_2Lq', new Date(now), Buffer.from(body))
      assert.equal(fromBuffer, headers['webhook-signature'])
    })

    test('our signature verifies with the library', () => {
      const now = Date.now()
      const ts = Math.floor(now / 1000)
      const body = encode('{"type":"invoice.paid","note":"naïve ✓"}')
      const headers = {
        'webhook-id': 'msg_ours',
        'webhook-timestamp': String(ts),
        'webhook-signature': signStandardWebhook(SECRET, 'msg_ours', ts, body),
      }
      assert.deepEqual(new Webhook(SECRET).verify(Buffer.from(body), headers), { type: 'invoice.paid', note: 'naïve ✓' })
      assert.throws(() => new Webhook(OTHER_SECRET).verify(Buffer.from(body), headers), /No matching signature/)
    })

    test('over bytes that are not UTF-8 we sign the bytes, where the library signs their decoding', () => {
      const body = Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d])
      const ours = signStandardWebhook(SECRET, 'msg_1', NOW_S, body)
      const theirs = new Webhook(SECRET).sign('msg_1', new Date(NOW), Buffer.from(body))
      assert.notEqual(ours, theirs)
      assert.equal(theirs, signStandardWebhook(SECRET, 'msg_1', NOW_S, encode('{\uFFFD\uFFFD}')))
    })
  })

  describe('secret rotation', () => {
    test('a signature made with any configured secret passes', () => {
      const third = newSecret()
      const rotating = source({ secrets: [OTHER_SECRET, SECRET, third] })
      for (const secret of [SECRET, OTHER_SECRET, third]) {
        assert.equal(rotating.receive(signed(ORDER, { secret }), NOW).length, 1)
      }
      assertRejected(() => rotating.receive(signed(ORDER, { secret: newSecret() }), NOW), /does not match/, [
        SECRET,
        OTHER_SECRET,
        third,
      ])
    })

    test('one matching signature among several passes', () => {
      const good = signStandardWebhook(SECRET, 'msg_1', NOW_S, ORDER)
      const stale = signStandardWebhook(OTHER_SECRET, 'msg_1', NOW_S, ORDER)
      const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(NOW_S) }
      for (const signature of [`${stale} ${good}`, `v1a,${good.slice(3)} ${good}`, `${good} v1,short`]) {
        const events = source().receive(request(ORDER, { ...headers, 'webhook-signature': signature }), NOW)
        assert.equal(events.length, 1, signature)
      }
      // Two `webhook-signature` header lines reach us joined by ", ".
      const twoLines = new Headers(headers)
      twoLines.append('webhook-signature', stale)
      twoLines.append('webhook-signature', good)
      assert.equal(source().receive({ ...request(ORDER, {}), headers: twoLines }, NOW).length, 1)
    })

    test('only v1 entries count', () => {
      const good = signStandardWebhook(SECRET, 'msg_1', NOW_S, ORDER)
      const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(NOW_S) }
      for (const signature of [`v1a,${good.slice(3)}`, `v2,${good.slice(3)}`, good.slice(3), `V1,${good.slice(3)}`]) {
        assertRejected(
          () => source().receive(request(ORDER, { ...headers, 'webhook-signature': signature }), NOW),
          /does not match/,
        )
      }
    })
  })

  describe('rejections (401)', () => {
    test('wrong secret', () => {
      assertRejected(
        () => source().receive(signed(ORDER, { secret: OTHER_SECRET }), NOW),
        /^signature does not match any configured secret$/,
        [SECRET, OTHER_SECRET],
      )
    })

    test('tampered body: one byte changed', () => {
      const good = signed(ORDER)
      const tampered = Uint8Array.from(ORDER)
      tampered[tampered.length - 3] = tampered[tampered.length - 3]! ^ 0x01
      assertRejected(() => source().receive({ ...good, body: tampered }, NOW), /does not match/)
    })

    test('tampered id or timestamp', () => {
      const good = signed(ORDER, { id: 'msg_1' })
      const otherId = new Headers(good.headers)
      otherId.set('webhook-id', 'msg_2')
      assertRejected(() => source().receive({ ...good, headers: otherId }, NOW), /does not match/)
      const otherTs = new Headers(good.headers)
      otherTs.set('webhook-timestamp', String(NOW_S + 1))
      assertRejected(() => source().receive({ ...good, headers: otherTs }, NOW), /does not match/)
    })

    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      test(`missing ${name}`, () => {
        const headers = new Headers(signed(ORDER).headers)
        headers.delete(name)
        assertRejected(() => source().receive({ ...signed(ORDER), headers }, NOW), new RegExp(`missing ${name}`))
        headers.set(name, '')
        assertRejected(() => source().receive({ ...signed(ORDER), headers }, NOW), new RegExp(`missing ${name}`))
      })
    }

    test('timestamp 301 s old or 301 s ahead; 300 s either way is still accepted', () => {
      assertRejected(() => source().receive(signed(ORDER, { ts: NOW_S - 301 }), NOW), /too old/)
      assertRejected(() => source().receive(signed(ORDER, { ts: NOW_S + 301 }), NOW), /too new/)
      assert.equal(source().receive(signed(ORDER, { ts: NOW_S - 300 }), NOW).length, 1)
      assert.equal(source().receive(signed(ORDER, { ts: NOW_S + 300 }), NOW).length, 1)
    })

    test('toleranceSeconds is honoured', () => {
      const strict = source({ toleranceSeconds: 10 })
      assertRejected(() => strict.receive(signed(ORDER, { ts: NOW_S - 11 }), NOW), /too old/)
      assert.equal(strict.receive(signed(ORDER, { ts: NOW_S - 10 }), NOW).length, 1)
    })

    test('non-numeric timestamps', () => {
      for (const ts of ['abc', '1700000000.5', '-1700000000', '1e9', '0x65', '1700000000abc']) {
        const headers = new Headers(signed(ORDER).headers)
        headers.set('webhook-timestamp', ts)
        assertRejected(() => source().receive({ ...signed(ORDER), headers }, NOW), /timestamp invalid/)
      }
    })

    test('an id containing "." is refused, so id and timestamp cannot trade bytes with the body', () => {
      const headers = new Headers(signed(ORDER).headers)
      headers.set('webhook-id', 'msg.1')
      assertRejected(() => source().receive({ ...signed(ORDER), headers }, NOW), /must not contain/)
      assert.throws(() => signStandardWebhook(SECRET, 'msg.1', NOW_S, ORDER), TypeError)
    })

    test('verification happens before the body is looked at', () => {
      assertRejected(() => source().receive(signed(encode('not json'), { secret: OTHER_SECRET }), NOW), /does not match/)
    })
  })

  describe('malformed bodies (400, after a good signature)', () => {
    test('invalid JSON carries the parser reason', () => {
      assertMalformed(() => source().receive(signed(encode('{"type": "x",')), NOW), /^body is not valid JSON: .+/)
      assertMalformed(() => source().receive(signed(new Uint8Array()), NOW), /not valid JSON/)
    })

    test('bytes that are not UTF-8', () => {
      assertMalformed(() => source().receive(signed(Uint8Array.from([0x7b, 0xff, 0x7d])), NOW), /UTF-8/)
    })

    test('JSON that is not an object', () => {
      for (const body of ['[1]', 'null', '"order.created"', '42', '[{"type":"x"}]']) {
        assertMalformed(() => source().receive(signed(encode(body)), NOW), /must be a JSON object/)
      }
    })

    test('no usable type field', () => {
      for (const body of ['{}', '{"type":""}', '{"type":7}', '{"type":null}', '{"kind":"x"}', '{"type":{"a":1}}']) {
        assertMalformed(() => source().receive(signed(encode(body)), NOW), /non-empty string at "type"/)
      }
    })

    test('thrown errors are HttpErrors a server can answer with', () => {
      assert.throws(() => source().receive(signed(encode('[1]')), NOW), HttpError)
    })
  })

  describe('typeField', () => {
    test('a dot path reads a nested type', () => {
      const nested = source({ typeField: 'data.kind' })
      assert.equal(nested.receive(signed(ORDER), NOW)[0]?.type, 'order')
      assertMalformed(() => nested.receive(signed(encode('{"type":"x","data":{}}')), NOW), /at "data\.kind"/)
      assertMalformed(() => nested.receive(signed(encode('{"data":"kind"}')), NOW), /at "data\.kind"/)
    })
  })

  describe('raw bytes', () => {
    test('verifies the exact bytes: an escaped "\\u00e9" and its re-serialisation differ', () => {
      const escaped = encode('{"type":"customer.updated","name":"Ren\\u00e9"}')
      const good = signed(escaped)
      assert.deepEqual(source().receive(good, NOW)[0]?.payload, { type: 'customer.updated', name: 'René' })

      const reserialised = encode(JSON.stringify(JSON.parse(new TextDecoder().decode(escaped))))
      assert.notDeepEqual(reserialised, escaped)
      assertRejected(() => source().receive({ ...good, body: reserialised }, NOW), /does not match/)
    })

    test('unicode normalisation forms are different bodies', () => {
      const decomposed = encode('{"type":"x","name":"Rene\u0301"}')
      const composed = encode('{"type":"x","name":"Ren\u00e9"}')
      const good = signed(decomposed)
      assert.equal(source().receive(good, NOW).length, 1)
      assertRejected(() => source().receive({ ...good, body: composed }, NOW), /does not match/)
    })
  })

  test('credentials in headers are redacted, signature headers kept', () => {
    const good = signed(ORDER)
    const headers = new Headers(good.headers)
    headers.set('Authorization', 'Bearer top-secret')
    headers.set('X-Request-Id', 'req-1')
    const [event] = source().receive({ ...good, headers }, NOW)
    assert.equal(event?.headers.authorization, '[redacted]')
    assert.equal(event?.headers['x-request-id'], 'req-1')
    assert.equal(event?.headers['webhook-signature'], good.headers.get('webhook-signature'))
    assert.ok(!JSON.stringify(event).includes('top-secret'))
  })

  describe('config schema', () => {
    const schema = standardWebhooks.configSchema

    test('defaults', () => {
      assert.deepEqual(schema.parse({ secrets: SECRET }), { secrets: [SECRET], typeField: 'type', toleranceSeconds: 300 })
    })

    test('a space-separated string holds several secrets', () => {
      const config = schema.parse({ secrets: ` ${SECRET}  ${OTHER_SECRET}\n` })
      assert.deepEqual(config.secrets, [SECRET, OTHER_SECRET])
      const rotating = standardWebhooks.create('shop', config)
      assert.equal(rotating.receive(signed(ORDER, { secret: OTHER_SECRET }), NOW).length, 1)
    })

    test('rejects a secret without whsec_, without naming it', () => {
      const bare = SECRET.slice('whsec_'.length)
      const result = schema.safeParse({ secrets: [SECRET, bare] })
      assert.equal(result.success, false)
      const messages = result.error?.issues.map((issue) => issue.message) ?? []
      assert.deepEqual(messages, ['secret 2 must start with "whsec_"'])
      assert.ok(!JSON.stringify(result.error?.issues).includes(bare))
    })

    test('rejects non-base64 after the prefix, empty lists and bad numbers', () => {
      for (const config of [
        { secrets: 'whsec_' },
        { secrets: 'whsec_not*base64' },
        { secrets: [] },
        { secrets: '   ' },
        { secrets: 42 },
        { secrets: SECRET, toleranceSeconds: 0 },
        { secrets: SECRET, toleranceSeconds: 1.5 },
        { secrets: SECRET, typeField: '' },
      ]) {
        assert.equal(schema.safeParse(config).success, false, JSON.stringify(config))
      }
    })
  })
})

describe('signStandardWebhook / verifyStandardWebhook properties', () => {
  const idChars = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:/+=!~*@#$%^&()[]{}|;<>?,']
  const ids = fc.string({ unit: fc.constantFrom(...idChars), minLength: 1, maxLength: 64 })
  const timestamps = fc.integer({ min: NOW_S - 300, max: NOW_S + 300 })
  const secrets = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((key) => `whsec_${Buffer.from(key).toString('base64')}`)

  function headersFor(id: string, ts: number, signature: string): Headers {
    return new Headers({ 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature })
  }

  test('sign then verify succeeds for any body, id, timestamp and secret', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), ids, timestamps, secrets, (body, id, ts, secret) => {
        const headers = headersFor(id, ts, signStandardWebhook(secret, id, ts, body))
        assert.deepEqual(verifyStandardWebhook({ headers, body, secrets: [secret], now: NOW }), { id, timestampSeconds: ts })
      }),
    )
  })

  test('flipping any bit pattern of any byte of the body fails', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        ids,
        (body, position, mask, id) => {
          const headers = headersFor(id, NOW_S, signStandardWebhook(SECRET, id, NOW_S, body))
          const tampered = Uint8Array.from(body)
          tampered[position % body.length] = tampered[position % body.length]! ^ mask
          assert.throws(
            () => verifyStandardWebhook({ headers, body: tampered, secrets: [SECRET], now: NOW }),
            VerificationError,
          )
        },
      ),
    )
  })
})
