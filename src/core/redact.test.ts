import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { REDACTED, redactHeaders } from './redact.ts'

describe('redactHeaders', () => {
  test('redacts credentials in a Headers object and lower-cases names', () => {
    const headers = new Headers({
      Authorization: 'Bearer abc',
      'Content-Type': 'application/json',
      Cookie: 'session=1',
    })
    assert.deepEqual(redactHeaders(headers), {
      authorization: REDACTED,
      'content-type': 'application/json',
      cookie: REDACTED,
    })
    assert.equal(REDACTED, '[redacted]')
  })

  test('redacts credentials in a plain record, whatever the case of the name', () => {
    assert.deepEqual(redactHeaders({ AUTHORIZATION: 'Basic x', 'X-Api-Key': 'k', Accept: '*/*' }), {
      authorization: REDACTED,
      'x-api-key': REDACTED,
      accept: '*/*',
    })
  })

  test('every known credential header is redacted', () => {
    const names = [
      'authorization',
      'proxy-authorization',
      'cookie',
      'set-cookie',
      'x-api-key',
      'api-key',
      'x-webhook-secret',
      'x-shopify-access-token',
      'x-amz-security-token',
      'x-csrf-token',
      'x-db-password',
      'Client-Secret',
    ]
    const result = redactHeaders(Object.fromEntries(names.map((name) => [name, 'value-that-must-not-leak'])))
    assert.equal(Object.keys(result).length, names.length)
    for (const [name, value] of Object.entries(result)) assert.equal(value, REDACTED, name)
  })

  test('signature and routing headers are kept: they prove what was verified', () => {
    const kept = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': 'v1,abc=',
      'x-commercelayer-signature': 'sig',
      'x-adobe-digital-signature-1': 'sig',
      'x-adobe-public-key1-path': '/prod/keys/pub-key-1.pem',
      'x-request-id': 'req-1',
      'user-agent': 'test',
    }
    assert.deepEqual(redactHeaders(kept), kept)
  })

  test('does not modify its input', () => {
    const input = { Authorization: 'Bearer abc' }
    redactHeaders(input)
    assert.deepEqual(input, { Authorization: 'Bearer abc' })
  })

  test('gives the same answer on repeated calls (no stateful regex)', () => {
    for (let i = 0; i < 3; i++) assert.equal(redactHeaders({ 'x-auth-token': 't' })['x-auth-token'], REDACTED)
  })

  test('an empty input gives an empty record', () => {
    assert.deepEqual(redactHeaders(new Headers()), {})
    assert.deepEqual(redactHeaders({}), {})
  })
})
