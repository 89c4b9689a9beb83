import assert from 'node:assert/strict'
import { Buffer } from 'node:buffer'
import { describe, it } from 'node:test'
import { HttpError } from '../../core/errors.ts'
import type { Activation, AppBuilderAction } from './types.ts'
import { activationRecord, activationSummary, isBinaryMediaType, OW_MESSAGES, splitExtension, webAnswer, webParams, type WebRequest } from './web.ts'

function action(overrides: Partial<AppBuilderAction> = {}): AppBuilderAction {
  return {
    package: 'my-app',
    name: 'hello',
    fullName: 'my-app/hello',
    file: '/nowhere/hello.js',
    runtime: 'nodejs:22',
    inputs: { LOG_LEVEL: 'info', name: 'from-inputs' },
    web: true,
    rawHttp: false,
    final: false,
    requireAdobeAuth: false,
    timeoutMs: 60_000,
    declaredIn: 'app.config.yaml',
    ...overrides,
  }
}

function request(overrides: Omit<Partial<WebRequest>, 'body'> & { body?: Uint8Array | string } = {}): WebRequest {
  const { body, ...rest } = overrides
  return { method: 'GET', headers: [], path: '', query: '', ...rest, body: typeof body === 'string' ? Buffer.from(body) : (body ?? new Uint8Array()) }
}

function activation(result: Record<string, unknown>, status: Activation['status'] = 'success'): Activation {
  return { activationId: 'a'.repeat(32), action: 'my-app/hello', cause: 'web', start: 1_000, end: 1_250, status, result, logs: ['2026-01-01T00:00:00.000Z stdout: hi'], leftWork: false }
}

const TID = 'tid-1'
const text = (body: Uint8Array | string | null) => (body === null ? null : typeof body === 'string' ? body : Buffer.from(body).toString('utf8'))
const header = (headers: [string, string][], name: string) => headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v)

function refusedWith(message: string) {
  return (error: unknown) => error instanceof HttpError && error.status === 400 && error.message === message
}

describe('splitExtension', () => {
  it('strips a known extension and defaults to .http', () => {
    assert.deepEqual(splitExtension('hello.json'), { name: 'hello', extension: 'json' })
    assert.deepEqual(splitExtension('hello.text'), { name: 'hello', extension: 'text' })
    assert.deepEqual(splitExtension('hello'), { name: 'hello', extension: 'http' })
    assert.deepEqual(splitExtension('hello.xml'), { name: 'hello.xml', extension: 'http' })
  })
})

describe('webParams', () => {
  it('gives inputs < query < JSON body, with the __ow_ context and lower-cased headers', () => {
    const params = webParams(action(), request({
      method: 'POST',
      headers: [['Content-Type', 'application/json'], ['X-Trace', 't1'], ['Content-Length', '30']],
      path: '/orders/7',
      query: 'name=query&page=2',
      body: '{"name":"body","n":1}',
    }))
    assert.deepEqual(params, {
      LOG_LEVEL: 'info',
      name: 'body',
      n: 1,
      page: '2',
      __ow_method: 'post',
      __ow_headers: { 'content-type': 'application/json', 'x-trace': 't1' },
      __ow_path: '/orders/7',
    })
    assert.equal(webParams(action(), request({ query: 'name=query' })).name, 'query')
    assert.equal(webParams(action(), request()).__ow_path, '')
    assert.equal('__ow_body' in webParams(action(), request()), false)
    assert.equal('__ow_query' in webParams(action(), request({ query: 'a=1' })), false)
  })

  it('merges a form body and keeps the last of repeated names', () => {
    const params = webParams(action(), request({ method: 'POST', headers: [['content-type', 'application/x-www-form-urlencoded']], body: 'name=Ada+L&x=1&x=2' }))
    assert.equal(params.name, 'Ada L')
    assert.equal(params.x, '2')
  })

  it('passes any other body as __ow_body: text as is, binary and JSON non-objects as OpenWhisk does', () => {
    assert.equal(webParams(action(), request({ method: 'POST', headers: [['content-type', 'text/plain']], body: 'Jane' })).__ow_body, 'Jane')
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255, 1])
    assert.equal(webParams(action(), request({ method: 'POST', headers: [['content-type', 'image/png']], body: png })).__ow_body, png.toString('base64'))
    // No content-type on a body: application/octet-stream, binary.
    assert.equal(webParams(action(), request({ method: 'POST', body: png })).__ow_body, png.toString('base64'))
    assert.deepEqual(webParams(action(), request({ method: 'POST', headers: [['content-type', 'application/json']], body: '[1,2]' })).__ow_body, [1, 2])
  })

  it('under raw-http, merges nothing and passes the exact bytes: base64 for binary and JSON', () => {
    const raw = action({ rawHttp: true })
    const json = '{ "name" :"Jane",\n"n": 1 }'
    const params = webParams(raw, request({ method: 'POST', headers: [['content-type', 'application/json']], query: 'name=Jane&x=%20y', body: json }))
    assert.equal(params.__ow_body, Buffer.from(json).toString('base64'))
    assert.equal(params.__ow_query, 'name=Jane&x=%20y')
    assert.equal(params.name, 'from-inputs') // neither the query nor the body was merged
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    assert.equal(webParams(raw, request({ method: 'POST', headers: [['content-type', 'application/octet-stream']], body: bytes })).__ow_body, bytes.toString('base64'))
    assert.equal(webParams(raw, request({ method: 'POST', headers: [['content-type', 'application/x-www-form-urlencoded']], body: 'a=1' })).__ow_body, 'a=1')
    assert.equal(webParams(raw, request()).__ow_body, '')
    // Nothing is merged, so nothing can be overridden: __ow_ names in the query are just text.
    assert.equal(webParams(raw, request({ query: '__ow_method=put' })).__ow_query, '__ow_method=put')
  })

  it('refuses a request that sets a reserved __ow_ name, in the query or the body', () => {
    assert.throws(() => webParams(action(), request({ query: '__ow_method=put' })), refusedWith(OW_MESSAGES.parametersNotAllowed))
    assert.throws(
      () => webParams(action(), request({ method: 'POST', headers: [['content-type', 'application/json']], body: '{"__ow_headers":{}}' })),
      refusedWith(OW_MESSAGES.parametersNotAllowed),
    )
    assert.throws(() => webParams(action(), request({ method: 'POST', headers: [['content-type', 'application/x-www-form-urlencoded']], body: '__ow_body=x' })), HttpError)
  })

  it('with final, refuses overriding an input that has a value; without, the request wins', () => {
    const final = action({ final: true, inputs: { name: 'bound', unset: null } })
    assert.throws(() => webParams(final, request({ query: 'name=other' })), refusedWith(OW_MESSAGES.parametersNotAllowed))
    assert.throws(() => webParams(final, request({ method: 'POST', headers: [['content-type', 'application/json']], body: '{"name":"x"}' })), HttpError)
    assert.equal(webParams(final, request({ query: 'unset=given' })).unset, 'given')
    assert.equal(webParams(final, request({ query: 'other=1' })).name, 'bound')
  })

  it('answers 400 for a JSON body that does not parse', () => {
    assert.throws(
      () => webParams(action(), request({ method: 'POST', headers: [['content-type', 'application/json; charset=utf-8']], body: '{"a":' })),
      (error: unknown) => error instanceof HttpError && error.status === 400 && error.message.startsWith('The request content was malformed:'),
    )
  })
})

describe('webAnswer (.http)', () => {
  it('sends statusCode, headers and an object body as JSON', () => {
    const answer = webAnswer(activation({ statusCode: 201, headers: { 'X-Order': 7, 'Set-Cookie': ['a=1', 'b=2'] }, body: { id: 7 } }), 'http', TID)
    assert.equal(answer.status, 201)
    assert.deepEqual(header(answer.headers, 'content-type'), ['application/json'])
    assert.deepEqual(header(answer.headers, 'x-order'), ['7'])
    assert.deepEqual(header(answer.headers, 'set-cookie'), ['a=1', 'b=2'])
    assert.equal(answer.body, '{"id":7}')
  })

  it('sends a string body as text/html unless told, and decodes base64 for a binary type', () => {
    const html = webAnswer(activation({ body: '<h1>hi</h1>' }), 'http', TID)
    assert.equal(html.status, 200)
    assert.deepEqual(header(html.headers, 'content-type'), ['text/html; charset=UTF-8'])
    assert.equal(html.body, '<h1>hi</h1>')
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255])
    const image = webAnswer(activation({ headers: { 'Content-Type': 'image/png' }, body: png.toString('base64') }), 'http', TID)
    assert.deepEqual(Buffer.from(image.body as Uint8Array), png)
    assert.deepEqual(header(image.headers, 'content-type'), ['image/png'])
    const broken = webAnswer(activation({ headers: { 'content-type': 'image/png' }, body: 'not base64!' }), 'http', TID)
    assert.equal(broken.status, 400)
    assert.deepEqual(JSON.parse(text(broken.body)!), { error: OW_MESSAGES.httpContentTypeError, code: TID })
  })

  it('decodes a base64 JSON string (the legacy form in the docs) but sends JSON text as is', () => {
    const encoded = webAnswer(activation({ headers: { 'Content-Type': 'application/json' }, body: Buffer.from('{"a":1}').toString('base64') }), 'http', TID)
    assert.equal(text(encoded.body), '{"a":1}')
    const plain = webAnswer(activation({ headers: { 'Content-Type': 'application/json' }, body: '{"a":1}' }), 'http', TID)
    assert.equal(plain.body, '{"a":1}')
  })

  it('answers no content: 204 by default, or the given status (a redirect)', () => {
    const bare = webAnswer(activation({ hello: 'world' }), 'http', TID)
    assert.deepEqual([bare.status, bare.body], [204, null])
    const redirect = webAnswer(activation({ statusCode: 302, headers: { location: 'https://example.com/' } }), 'http', TID)
    assert.equal(redirect.status, 302)
    assert.deepEqual(header(redirect.headers, 'location'), ['https://example.com/'])
    assert.equal(webAnswer(activation({ statusCode: '404', body: 'gone' }), 'http', TID).status, 404)
  })

  it("refuses what is not an HTTP answer with OpenWhisk's 400", () => {
    for (const result of [{ statusCode: 'abc' }, { statusCode: 200.5 }, { headers: 'x' }, { headers: { a: { b: 1 } } }]) {
      const answer = webAnswer(activation(result), 'http', TID)
      assert.equal(answer.status, 400, JSON.stringify(result))
      assert.deepEqual(JSON.parse(text(answer.body)!), { error: "Response is not valid 'message/http'.", code: TID })
    }
    const mismatch = webAnswer(activation({ headers: { 'content-type': 'text/plain' }, body: { a: 1 } }), 'http', TID)
    assert.equal(JSON.parse(text(mismatch.body)!).error, OW_MESSAGES.httpContentTypeError)
  })

  it("answers an application error's `error` (utils.js errorResponse) and refuses a bare string error", () => {
    const answer = webAnswer(activation({ error: { statusCode: 404, body: { error: 'order 7 not found' } } }, 'application error'), 'http', TID)
    assert.equal(answer.status, 404)
    assert.deepEqual(JSON.parse(text(answer.body)!), { error: 'order 7 not found' })
    const bare = webAnswer(activation({ error: 'boom' }, 'application error'), 'http', TID)
    assert.equal(bare.status, 400)
    assert.deepEqual(JSON.parse(text(bare.body)!), { error: "Response is not valid 'message/http'.", code: TID })
  })

  it("answers a developer error (main threw, timed out) with OpenWhisk's 400", () => {
    const answer = webAnswer(activation({ error: 'The action exceeded its time limits of 100 milliseconds.' }, 'action developer error'), 'http', TID)
    assert.equal(answer.status, 400)
    assert.deepEqual(JSON.parse(text(answer.body)!), { error: OW_MESSAGES.errorProcessingRequest, code: TID })
  })

  it('serves @adobe/aio-commerce-sdk success and error presets', () => {
    const ok = webAnswer(activation({ type: 'success', statusCode: 200, headers: { 'x-k': 'v' }, body: { message: 'ok' } }), 'http', TID)
    assert.deepEqual([ok.status, JSON.parse(text(ok.body)!), header(ok.headers, 'x-k')], [200, { message: 'ok' }, ['v']])
    const bad = webAnswer(activation({ type: 'error', error: { statusCode: 400, body: { message: 'bad sku' }, headers: { 'x-e': '1' } } }, 'application error'), 'http', TID)
    assert.deepEqual([bad.status, JSON.parse(text(bad.body)!), header(bad.headers, 'x-e')], [400, { message: 'bad sku' }, ['1']])
  })
})

describe('webAnswer (other extensions)', () => {
  it('.json answers the dictionary with 200, an application error included (apache/openwhisk#2237)', () => {
    const answer = webAnswer(activation({ hello: 'world' }), 'json', TID)
    assert.deepEqual([answer.status, JSON.parse(text(answer.body)!)], [200, { hello: 'world' }])
    const error = webAnswer(activation({ error: { statusCode: 500, body: 'x' } }, 'application error'), 'json', TID)
    assert.deepEqual([error.status, JSON.parse(text(error.body)!)], [200, { statusCode: 500, body: 'x' }])
  })

  it('.text and .html project body, else their own field', () => {
    assert.equal(webAnswer(activation({ text: 'plain' }), 'text', TID).body, 'plain')
    assert.equal(webAnswer(activation({ body: 42 }), 'text', TID).body, '42')
    assert.equal(webAnswer(activation({ other: 1 }), 'text', TID).status, 404)
    const html = webAnswer(activation({ html: '<p>x</p>' }), 'html', TID)
    assert.deepEqual([html.status, html.body, header(html.headers, 'content-type')], [200, '<p>x</p>', ['text/html; charset=UTF-8']])
    assert.equal(webAnswer(activation({ html: 1 }), 'html', TID).status, 400)
  })
})

describe('isBinaryMediaType (akka-http)', () => {
  it('classifies registered and unregistered types', () => {
    assert.equal(isBinaryMediaType('text/plain'), false)
    assert.equal(isBinaryMediaType('application/xml'), false)
    assert.equal(isBinaryMediaType('application/json'), false)
    assert.equal(isBinaryMediaType('image/svg+xml'), true)
    assert.equal(isBinaryMediaType('application/pdf; charset=utf-8'), true)
    assert.equal(isBinaryMediaType('application/x-acme'), true)
    assert.equal(isBinaryMediaType('application/x-acme; charset=utf-8'), false)
  })
})

describe('activationRecord', () => {
  it("has OpenWhisk's shape, response.result being what main returned", () => {
    const record = activationRecord(activation({ body: 'hi' }), 'storehook', action())
    assert.equal(record.namespace, 'storehook')
    assert.equal(record.name, 'hello')
    assert.equal(record.duration, 250)
    assert.deepEqual(record.response, { result: { body: 'hi' }, size: 13, status: 'success', success: true })
    assert.deepEqual(record.annotations.find((a) => a.key === 'path'), { key: 'path', value: 'storehook/my-app/hello' })
    assert.deepEqual(record.annotations.find((a) => a.key === 'timeout'), { key: 'timeout', value: false })
    assert.deepEqual(record.logs, ['2026-01-01T00:00:00.000Z stdout: hi'])
    const failed = activationRecord(activation({ error: 'The action exceeded its time limits of 100 milliseconds.' }, 'action developer error'), 'storehook')
    assert.deepEqual([failed.response.success, failed.annotations.find((a) => a.key === 'timeout')?.value], [false, true])
    const summary = activationSummary(activation({ error: 'x' }, 'application error'), 'storehook')
    assert.equal(summary.statusCode, 1)
    assert.equal('response' in summary, false)
  })
})
