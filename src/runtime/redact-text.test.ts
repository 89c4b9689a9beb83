import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { redactText } from './redact-text.ts'

describe('redactText', () => {
  it('redacts the values of secret-looking names in query strings, JSON and inspected objects, and credentials', () => {
    const cases: [string, string][] = [
      ['GET /orders?access_token=abc123&page=2', 'GET /orders?access_token=[redacted]&page=2'],
      ['login password=hunter2 user=ann', 'login password=[redacted] user=ann'],
      ['{"password":"hunter2","sku":"A"}', '{"password":"[redacted]","sku":"A"}'],
      ['{ "api_key" : "k\\"ey", "n": 1 }', '{ "api_key" : "[redacted]", "n": 1 }'],
      ["{ token: 'abc', qty: 2 }", "{ token: '[redacted]', qty: 2 }"],
      ['authorization: Bearer eyJhbGciOi.x-y_z', 'authorization: Bearer [redacted]'],
      ['Basic dXNlcjpwYXNz', 'Basic [redacted]'],
    ]
    for (const [text, expected] of cases) assert.equal(redactText(text), expected, text)
  })

  it('leaves everything else as it is', () => {
    for (const text of ['order 42 sent to the ERP', 'page=2&sort=asc', '{"sku":"A","qty":1}', 'status: 503', 'discard=all', 'a basic check']) {
      assert.equal(redactText(text), text)
    }
  })
})
