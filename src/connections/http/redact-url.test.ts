import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { redactUrl } from './redact-url.ts'

describe('redactUrl', () => {
  it('keeps the query, redacting the values of secret-looking parameters, and drops the fragment', () => {
    assert.equal(redactUrl(new URL('https://erp.example/api/orders?access_token=abc&page=2#top')), 'https://erp.example/api/orders?access_token=[redacted]&page=2')
    assert.equal(redactUrl(new URL('http://127.0.0.1:8080/x?apiKey=k&client_secret=s&flag&q=a%20b')), 'http://127.0.0.1:8080/x?apiKey=[redacted]&client_secret=[redacted]&flag&q=a%20b')
    // An encoded name is recognised too.
    assert.equal(redactUrl(new URL('https://a.example/?pass%77ord=x&%E0=1')), 'https://a.example/?pass%77ord=[redacted]&%E0=1')
    assert.equal(redactUrl(new URL('https://a.example/orders')), 'https://a.example/orders')
  })
})
