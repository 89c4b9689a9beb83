import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { REDACTED, isSecretField, redactHeaders, redactPayload } from './redact.ts'

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

describe('redactPayload', () => {
  test('redacts secret and card fields at any depth, in objects and arrays', () => {
    const payload = {
      order: { id: 7, customer: { email: 'a@example.com', password: 'hunter2' } },
      payments: [{ card_number: '4111111111111111', cvv: '123', creditCard: { number: 1 }, holder: 'Ada' }],
      apiKey: 'k',
      access_token: 't',
      client_secret: 's',
      headers: { Authorization: 'Bearer x' },
    }
    assert.deepEqual(redactPayload(payload), {
      order: { id: 7, customer: { email: 'a@example.com', password: REDACTED } },
      payments: [{ card_number: REDACTED, cvv: REDACTED, creditCard: REDACTED, holder: 'Ada' }],
      apiKey: REDACTED,
      access_token: REDACTED,
      client_secret: REDACTED,
      headers: { Authorization: REDACTED },
    })
  })

  test('keeps fields whose names only contain a secret word inside another word', () => {
    assert.deepEqual(redactPayload({ discard_reason: 'x', authorizations: { data: [] }, shipping: 1, panel: 2 }), {
      discard_reason: 'x',
      authorizations: { data: [] },
      shipping: 1,
      panel: 2,
    })
    assert.equal(isSecretField('tokens_used'), true, 'token is a secret word anywhere in a name')
  })

  test('redacts configured personal-data fields whatever their spelling', () => {
    const payload = { customer_email: 'a@b.c', customerEmail: 'a@b.c', 'Customer-Email': 'a@b.c', email_sent: true }
    assert.deepEqual(redactPayload(payload, { fields: ['customer_email'] }), {
      customer_email: REDACTED,
      customerEmail: REDACTED,
      'Customer-Email': REDACTED,
      email_sent: true,
    })
  })

  test('leaves empty values visible and does not modify its input', () => {
    const input = { password: '', token: null, nested: { secret: 's' } }
    assert.deepEqual(redactPayload(input), { password: '', token: null, nested: { secret: REDACTED } })
    assert.deepEqual(input, { password: '', token: null, nested: { secret: 's' } })
    assert.equal(redactPayload('plain'), 'plain')
    assert.equal(redactPayload(null), null)
  })
})
