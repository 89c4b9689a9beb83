import { after, before, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { classifyFailure } from '../../core/outcome.ts'
import type { OutboundCall } from '../connection.ts'
import { httpConfigSchema, httpConnection, parseRetryAfter, TargetResponseError, TargetUnreachableError } from './index.ts'
import type { HttpConnectionConfig } from './index.ts'

interface Received {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

type Handler = (req: IncomingMessage, res: ServerResponse, received: Received) => void

const SECRET = 'sk_live_9f8e7d6c5b4a3210'

let server: Server
let origin: string
let handler: Handler
let received: Received[] = []

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      received.push(entry)
      handler(req, res, entry)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

after(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

beforeEach(() => {
  received = []
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"ok":true}')
  }
})

function client(config: Partial<HttpConnectionConfig> = {}, onCall?: (call: OutboundCall) => void) {
  const parsed = httpConfigSchema.parse({ baseUrl: `${origin}/api/`, ...config })
  return httpConnection.create('erp', parsed, onCall ? { onCall } : {})
}

function answer(status: number, body = '', headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, headers)
    res.end(body)
  }
}

describe('http connection: requests', () => {
  test('a JSON POST arrives with the exact body, content-type and Idempotency-Key', async () => {
    const order = { id: '000000042', lines: [{ sku: 'MJ01', qty: 2 }], note: 'ünïcode' }
    const res = await client().post('orders', { json: order, idempotencyKey: 'evt-1' })
    assert.equal(res.status, 200)
    const [req] = received
    assert.ok(req)
    assert.equal(req.method, 'POST')
    assert.equal(req.url, '/api/orders')
    assert.equal(req.body, JSON.stringify(order))
    assert.equal(req.headers['content-type'], 'application/json')
    assert.equal(req.headers['idempotency-key'], 'evt-1')
  })

  test('configured headers are sent, and per-call headers override them', async () => {
    const erp = client({ headers: { 'X-Api-Key': SECRET, 'X-Tenant': 'eu' } })
    await erp.get('orders')
    await erp.get('orders', { headers: { 'x-tenant': 'us' } })
    assert.equal(received[0]?.headers['x-api-key'], SECRET)
    assert.equal(received[0]?.headers['x-tenant'], 'eu')
    assert.equal(received[1]?.headers['x-tenant'], 'us')
  })

  test('a content-type given by the caller wins over the JSON default', async () => {
    await client().post('orders', { json: { data: {} }, headers: { 'content-type': 'application/vnd.api+json' } })
    assert.equal(received[0]?.headers['content-type'], 'application/vnd.api+json')
  })

  test('a raw body is sent as given', async () => {
    await client().put('files/a.csv', { body: new TextEncoder().encode('a,b\n1,2\n'), headers: { 'content-type': 'text/csv' } })
    assert.equal(received[0]?.body, 'a,b\n1,2\n')
    assert.equal(received[0]?.method, 'PUT')
  })

  test('json and body together are refused before anything is sent', async () => {
    await assert.rejects(client().post('orders', { json: {}, body: '{}' }), TypeError)
    assert.equal(received.length, 0)
  })

  test('paths keep the baseUrl prefix, with or without slashes on either side', async () => {
    await client({ baseUrl: `${origin}/api/` }).get('orders')
    await client({ baseUrl: `${origin}/api/` }).get('/orders')
    await client({ baseUrl: `${origin}/api` }).get('orders')
    await client({ baseUrl: `${origin}/api` }).get('//orders/7')
    await client({ baseUrl: origin }).get('/orders')
    await client({ baseUrl: `${origin}/api/v2/` }).get('http://elsewhere.example/x')
    assert.deepEqual(
      received.map((r) => r.url),
      ['/api/orders', '/api/orders', '/api/orders', '/api/orders/7', '/orders', '/api/v2/http://elsewhere.example/x'],
    )
  })

  test('an empty path calls baseUrl itself, not a directory below it', async () => {
    await client({ baseUrl: `${origin}/hooks/orders` }).post('', { json: {} })
    await client({ baseUrl: `${origin}/hooks/orders` }).post('/', { json: {} })
    assert.deepEqual(received.map((r) => r.url), ['/hooks/orders', '/hooks/orders'])
  })

  test('query params are appended to those already in the path', async () => {
    await client().get('orders?page=2', { query: { status: 'new order', sku: 'a&b' } })
    assert.equal(received[0]?.url, '/api/orders?page=2&status=new+order&sku=a%26b')
  })

  test('shorthands send their method', async () => {
    const erp = client()
    await erp.get('x')
    await erp.post('x')
    await erp.put('x')
    await erp.patch('x')
    await erp.delete('x')
    await erp.request('options', 'x')
    assert.deepEqual(
      received.map((r) => r.method),
      ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    )
  })

  test('a 2xx answer is read in full and parses as JSON', async () => {
    handler = answer(201, '{"id":"ERP-9","lines":[1,2]}', { 'content-type': 'application/json', 'x-request-id': 'r1' })
    const res = await client().post('orders', { json: {} })
    assert.equal(res.status, 201)
    assert.equal(res.headers.get('x-request-id'), 'r1')
    assert.equal(res.text, '{"id":"ERP-9","lines":[1,2]}')
    assert.deepEqual(res.json<{ id: string }>(), { id: 'ERP-9', lines: [1, 2] })
  })

  test('a 2xx that is not JSON says so when json() is called', async () => {
    handler = answer(200, '<html>maintenance</html>')
    const res = await client().get('orders')
    assert.equal(res.text, '<html>maintenance</html>')
    assert.throws(() => res.json(), /erp answered 200 to GET \/api\/orders with a body that is not JSON: <html>maintenance/)
  })
})

describe('http connection: failures', () => {
  test('404 throws TargetResponseError and the run goes dead at once', async () => {
    handler = answer(404, '{"message":"No such entity with orderId = 42"}')
    const error = await client()
      .get('orders/42', { query: { token: 'q' } })
      .catch((e: unknown) => e)
    assert.ok(error instanceof TargetResponseError)
    assert.equal(error.status, 404)
    assert.equal(error.retryAfterMs, undefined)
    assert.equal(error.connection, 'erp')
    assert.equal(error.method, 'GET')
    assert.equal(error.url, `${origin}/api/orders/42`)
    assert.equal(error.message, 'erp answered 404 to GET /api/orders/42: {"message":"No such entity with orderId = 42"}')
    assert.equal(error.responseText, '{"message":"No such entity with orderId = 42"}')
    assert.deepEqual(classifyFailure(error), { retry: false, reason: 'target answered 404' })
  })

  test('the message quotes at most 200 characters of the body', async () => {
    handler = answer(500, 'x'.repeat(1000))
    const error = await client().post('orders', { json: {} }).catch((e: unknown) => e)
    assert.ok(error instanceof TargetResponseError)
    assert.equal(error.message, `erp answered 500 to POST /api/orders: ${'x'.repeat(200)}`)
    assert.equal(error.responseText.length, 1000)
  })

  test('an empty error body gives a message without a colon', async () => {
    handler = answer(502)
    await assert.rejects(client().post('orders'), { message: 'erp answered 502 to POST /api/orders' })
  })

  test('503 with Retry-After: 7 is retried no sooner than 7 s', async () => {
    handler = answer(503, 'Service Unavailable', { 'retry-after': '7' })
    const error = await client().post('orders', { json: {} }).catch((e: unknown) => e)
    assert.ok(error instanceof TargetResponseError)
    assert.equal(error.status, 503)
    assert.equal(error.retryAfterMs, 7000)
    assert.equal(error.message, 'erp answered 503 to POST /api/orders: Service Unavailable')
    assert.deepEqual(classifyFailure(error), { retry: true, reason: 'retryable', notBeforeMs: 7000 })
  })

  test('Retry-After as an HTTP-date', async () => {
    const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000)
    handler = answer(503, '', { 'retry-after': at.toUTCString() })
    const error = await client().get('orders').catch((e: unknown) => e)
    assert.ok(error instanceof TargetResponseError)
    assert.ok(error.retryAfterMs !== undefined && error.retryAfterMs > 55_000 && error.retryAfterMs <= 61_000, String(error.retryAfterMs))
    const verdict = classifyFailure(error)
    assert.equal(verdict.retry, true)
    assert.ok(verdict.retry && verdict.notBeforeMs === error.retryAfterMs)
  })

  test('an invalid Retry-After is ignored', async () => {
    handler = answer(503, '', { 'retry-after': 'soon' })
    const error = await client().get('orders').catch((e: unknown) => e)
    assert.ok(error instanceof TargetResponseError)
    assert.equal('retryAfterMs' in error, false)
    assert.deepEqual(classifyFailure(error), { retry: true, reason: 'retryable' })
  })

  test('parseRetryAfter: seconds, the three HTTP-date forms, past dates, junk', () => {
    const now = Date.parse('Sun, 06 Nov 1994 08:49:00 GMT')
    assert.equal(parseRetryAfter(null, now), undefined)
    assert.equal(parseRetryAfter('0', now), 0)
    assert.equal(parseRetryAfter(' 120 ', now), 120_000)
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now), 37_000)
    assert.equal(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now), 37_000)
    assert.equal(parseRetryAfter('Sun Nov  6 08:49:37 1994', now), 37_000)
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:48:00 GMT', now), 0)
    assert.equal(parseRetryAfter('7.5', now), undefined)
    assert.equal(parseRetryAfter('-3', now), undefined)
    assert.equal(parseRetryAfter('Sunshine', now), undefined)
  })

  test('429 is retried, honouring Retry-After', async () => {
    handler = answer(429, '{"error":"rate limited"}', { 'retry-after': '2' })
    const error = await client().post('orders', { json: {} }).catch((e: unknown) => e)
    assert.ok(error instanceof TargetResponseError)
    assert.equal(error.status, 429)
    assert.deepEqual(classifyFailure(error), { retry: true, reason: 'retryable', notBeforeMs: 2000 })
  })

  test('a redirect is not followed: it is thrown, so headers never reach another host', async () => {
    handler = answer(302, '', { location: 'http://127.0.0.2:1/steal?key=1' })
    const erp = client({ headers: { 'X-Api-Key': SECRET } })
    const error = await erp.get('orders').catch((e: unknown) => e)
    assert.ok(error instanceof TargetResponseError)
    assert.equal(error.status, 302)
    assert.equal(error.message, 'erp answered 302 to GET /api/orders (redirect to http://127.0.0.2:1/steal)')
    assert.equal(received.length, 1)
  })

  test('a target that never answers: TargetUnreachableError after timeoutMs', async () => {
    handler = () => {}
    const started = performance.now()
    const error = await client({ timeoutMs: 200 }).post('orders', { json: {} }).catch((e: unknown) => e)
    const elapsed = performance.now() - started
    assert.ok(error instanceof TargetUnreachableError, String(error))
    assert.equal(error.message, 'erp did not answer POST /api/orders: timed out after 200 ms')
    assert.equal(error.reason, 'timed out after 200 ms')
    assert.equal('status' in error, false)
    assert.ok(error.cause !== undefined)
    assert.ok(elapsed >= 190 && elapsed < 5000, `took ${elapsed} ms`)
    assert.deepEqual(classifyFailure(error), { retry: true, reason: 'retryable' })
  })

  test('the timeout covers a body that never ends', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"partial":')
    }
    const error = await client({ timeoutMs: 200 }).get('orders').catch((e: unknown) => e)
    assert.ok(error instanceof TargetUnreachableError, String(error))
    assert.equal(error.reason, 'timed out after 200 ms')
  })

  test('connection refused: TargetUnreachableError', async () => {
    const port = await closedPort()
    const erp = httpConnection.create('erp', httpConfigSchema.parse({ baseUrl: `http://127.0.0.1:${port}/api` }), {})
    const error = await erp.post('orders', { json: {} }).catch((e: unknown) => e)
    assert.ok(error instanceof TargetUnreachableError, String(error))
    assert.equal(error.message, `erp did not answer POST /api/orders: connection refused (127.0.0.1:${port})`)
    assert.equal(error.url, `http://127.0.0.1:${port}/api/orders`)
    assert.ok(error.cause instanceof Error)
    assert.deepEqual(classifyFailure(error), { retry: true, reason: 'retryable' })
  })

  test('the server closing the socket mid-answer: TargetUnreachableError', async () => {
    handler = (req) => req.socket.destroy()
    const error = await client().get('orders').catch((e: unknown) => e)
    assert.ok(error instanceof TargetUnreachableError, String(error))
    assert.match(error.message, /^erp did not answer GET \/api\/orders: /)
  })

  test("a caller's abort rejects with the abort reason, not as unreachable", async () => {
    handler = () => {}
    const controller = new AbortController()
    const reason = new Error('worker shutting down')
    const pending = client().post('orders', { json: {}, signal: controller.signal }).catch((e: unknown) => e)
    await waitFor(() => received.length === 1)
    controller.abort(reason)
    assert.equal(await pending, reason)

    const already = AbortSignal.abort()
    const second = await client().get('orders', { signal: already }).catch((e: unknown) => e)
    assert.equal(second, already.reason)
    assert.equal(received.length, 1)
  })
})

describe('http connection: concurrency, reporting, secrets', () => {
  test('maxConcurrency 2: never more than 2 in flight of 6, served and completed in FIFO order', async () => {
    let inFlight = 0
    let maxInFlight = 0
    handler = (_req, res, entry) => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      setTimeout(() => {
        inFlight--
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ n: entry.url }))
      }, 30)
    }
    const erp = client({ maxConcurrency: 2 })
    const completed: number[] = []
    await Promise.all(
      [0, 1, 2, 3, 4, 5].map(async (n) => {
        await erp.get(`jobs/${n}`)
        completed.push(n)
      }),
    )
    assert.equal(maxInFlight, 2)
    assert.deepEqual(
      received.map((r) => r.url),
      [0, 1, 2, 3, 4, 5].map((n) => `/api/jobs/${n}`),
    )
    assert.deepEqual(completed, [0, 1, 2, 3, 4, 5])
  })

  test('a waiting request whose caller aborts leaves the queue and is never sent', async () => {
    const held: ServerResponse[] = []
    handler = (_req, res) => held.push(res)
    const erp = client({ maxConcurrency: 1 })
    const first = erp.get('jobs/first')
    const controller = new AbortController()
    const second = erp.get('jobs/second', { signal: controller.signal })
    const third = erp.get('jobs/third')
    await waitFor(() => held.length === 1)
    const reason = new Error('no longer needed')
    controller.abort(reason)
    await assert.rejects(second, (e) => e === reason)
    held.shift()?.end('1')
    await first
    await waitFor(() => held.length === 1)
    held.shift()?.end('3')
    assert.equal((await third).text, '3')
    assert.deepEqual(
      received.map((r) => r.url),
      ['/api/jobs/first', '/api/jobs/third'],
    )
  })

  test('onCall receives every call with its status and duration', async () => {
    const calls: OutboundCall[] = []
    const erp = client({ timeoutMs: 200 }, (call) => calls.push(call))
    handler = answer(200, '{}')
    await erp.get('orders', { query: { apiKey: 'in-query' } })
    handler = answer(500, 'boom')
    await erp.post('orders').catch(() => {})
    handler = () => {}
    await erp.delete('orders/1').catch(() => {})

    assert.equal(calls.length, 3)
    const [ok, failed, silent] = calls
    assert.deepEqual({ ...ok, durationMs: 0 }, { connection: 'erp', method: 'GET', url: `${origin}/api/orders?apiKey=[redacted]`, status: 200, durationMs: 0 })
    assert.equal(failed?.status, 500)
    assert.equal(failed?.error, 'erp answered 500 to POST /api/orders: boom')
    assert.equal(silent?.status, null)
    assert.equal(silent?.error, 'timed out after 200 ms')
    assert.ok(silent !== undefined && silent.durationMs >= 190)
    for (const call of calls) assert.ok(call.durationMs >= 0 && Number.isFinite(call.durationMs))
  })

  test('a throwing onCall does not fail the request', async () => {
    const erp = client({}, () => {
      throw new Error('metrics broke')
    })
    assert.equal((await erp.get('orders')).status, 200)
  })

  test('a configured API key never appears in a thrown error message', async () => {
    const erp = client({ timeoutMs: 200, headers: { 'X-Api-Key': SECRET } })
    const messages: string[] = []
    const collect = (e: unknown) => messages.push(String((e as Error).message))

    // A target that echoes the request headers back in its error body.
    handler = (req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'bad key', headers: req.headers }))
    }
    await erp.get('orders').catch(collect)
    handler = (req, res) => {
      res.writeHead(200)
      res.end(`not json ${String(req.headers['x-api-key'])}`)
    }
    await erp
      .get('orders')
      .then((r) => r.json())
      .catch(collect)
    handler = () => {}
    await erp.get('orders').catch(collect)
    await erp.get('orders', { headers: { 'X-Api-Key': 'bad\r\nvalue' + SECRET } }).catch(collect)
    const port = await closedPort()
    await httpConnection
      .create('erp', httpConfigSchema.parse({ baseUrl: `http://127.0.0.1:${port}`, headers: { 'X-Api-Key': SECRET } }), {})
      .get('orders')
      .catch(collect)

    assert.equal(messages.length, 5)
    assert.equal(received[0]?.headers['x-api-key'], SECRET)
    assert.match(messages[0] ?? '', /\[redacted\]/)
    for (const message of messages) assert.ok(!message.includes(SECRET), message)
  })
})

describe('http connection: config', () => {
  test('defaults and validation', () => {
    assert.deepEqual(httpConfigSchema.parse({ baseUrl: 'https://erp.example.com/api' }), {
      baseUrl: 'https://erp.example.com/api',
      timeoutMs: 30_000,
    })
    assert.equal(httpConnection.kind, 'http')
    for (const bad of [
      {},
      { baseUrl: 'erp.example.com' },
      { baseUrl: 'ftp://erp.example.com' },
      { baseUrl: 'https://user:pass@erp.example.com' },
      { baseUrl: 'https://erp.example.com/api?key=1' },
      { baseUrl: 'https://erp.example.com', timeoutMs: 0 },
      { baseUrl: 'https://erp.example.com', maxConcurrency: 1.5 },
      { baseUrl: 'https://erp.example.com', headers: { 'X-Api-Key': 'a\nb' } },
      { baseUrl: 'https://erp.example.com', headers: { 'bad name': 'x' } },
    ]) {
      assert.equal(httpConfigSchema.safeParse(bad).success, false, JSON.stringify(bad))
    }
  })
})

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

async function closedPort(): Promise<number> {
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as AddressInfo).port
  await new Promise((resolve) => closed.close(resolve))
  return port
}
