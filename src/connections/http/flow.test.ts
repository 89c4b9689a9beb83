/**
 * The `http` connection's flow control over real HTTP on 127.0.0.1: a 429 lowers the effective
 * rate and nothing is sent before its Retry-After; the breaker opens after N failures, refuses
 * calls without sending them, lets one probe through at a time and closes when it succeeds.
 */
import assert from 'node:assert/strict'
import { createServer, type ServerResponse } from 'node:http'
import { beforeEach, describe, test } from 'node:test'
import { TargetPausedError } from '../../core/errors.ts'
import { FlowRegistry } from '../flow/index.ts'
import { httpConfigSchema, httpConnection, TargetResponseError, type HttpConnectionConfig } from './index.ts'
import { listenOnLoopback } from '../../../test/loopback.ts'

/** What the target received: arrival time (ms, this process's clock) and path. */
let arrivals: { at: number; path: string }[] = []
/** Answers the next request; default 200. */
let respond: (res: ServerResponse, path: string) => void

const server = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    arrivals.push({ at: Date.now(), path: req.url ?? '' })
    respond(res, req.url ?? '')
  })
})
const origin = await listenOnLoopback(server)
beforeEach(() => {
  arrivals = []
  respond = (res) => res.end('ok')
})

function client(config: Partial<HttpConnectionConfig>) {
  const flow = new FlowRegistry()
  const erp = httpConnection.create('erp', httpConfigSchema.parse({ baseUrl: `${origin}/api/`, ...config }), { flow })
  return { erp, flow }
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('http connection: 429 and the rate budget', () => {
  test('a 429 lowers the effective rate and no call reaches the target before its Retry-After', async () => {
    const { erp, flow } = client({ rateLimit: { requests: 4, perMs: 300 } })
    let throttledAt = 0
    respond = (res, path) => {
      if (path.endsWith('/first')) {
        throttledAt = Date.now()
        res.writeHead(429, { 'retry-after': '1' }).end('slow down')
      } else res.end('ok')
    }
    const error = await erp.get('first').catch((thrown: unknown) => thrown)
    assert.ok(error instanceof TargetResponseError)
    assert.equal(error.status, 429, 'the 429 is still thrown, so the run retries')
    assert.equal(error.retryAfterMs, 1000)
    const [status] = flow.status()
    assert.equal(status?.rateLimit?.effective, 2, 'halved from 4')
    assert.equal(status?.throttled, 1)

    const calls = await Promise.all(Array.from({ length: 6 }, (_, n) => erp.get(`after/${n}`)))
    assert.equal(calls.length, 6)
    const later = arrivals.filter((arrival) => arrival.path.includes('/after/'))
    assert.equal(later.length, 6)
    for (const arrival of later) assert.ok(arrival.at >= throttledAt + 1000, `a call arrived ${arrival.at - throttledAt} ms after the 429`)
    // Right after the pause the budget is 2: the first two went together, the third waited for a
    // slot to come back (a window later, less the first one's network delay: hence the margin).
    const times = later.map((arrival) => arrival.at).sort((a, b) => a - b)
    assert.ok(times[2]! - times[0]! >= 200, `the third call came ${times[2]! - times[0]!} ms after the first`)
  })

  test('never more than `requests` in any window of `perMs`, measured at the target', async () => {
    const { erp } = client({ rateLimit: { requests: 3, perMs: 200 } })
    await Promise.all(Array.from({ length: 12 }, (_, n) => erp.get(`n/${n}`)))
    const times = arrivals.map((arrival) => arrival.at).sort((a, b) => a - b)
    assert.equal(times.length, 12)
    for (let i = 0; i + 3 < times.length; i++) assert.ok(times[i + 3]! - times[i]! >= 200, `4 requests within ${times[i + 3]! - times[i]!} ms`)
  })
})

describe('http connection: breaker', () => {
  test('opens after N failures, refuses calls unsent, lets one probe through at a time, closes when it succeeds', async () => {
    const { erp, flow } = client({ breaker: { failures: 3, probeAfterMs: 300 } })
    const changes: string[] = []
    flow.onChange((connection, state) => changes.push(`${connection} ${state}`))
    respond = (res) => res.writeHead(503).end('down')
    for (let i = 0; i < 3; i++) await assert.rejects(erp.post('orders', { json: { i } }), TargetResponseError)
    assert.equal(flow.state('erp'), 'open')
    assert.equal(flow.canProbe('erp'), false)

    const refused = await erp.post('orders', { json: { i: 3 } }).catch((thrown: unknown) => thrown)
    assert.ok(refused instanceof TargetPausedError)
    assert.equal(refused.connection, 'erp')
    assert.equal(arrivals.length, 3, 'a call refused by the breaker is not sent')

    await until(() => flow.canProbe('erp'), 'the breaker to be ready to probe')
    assert.equal(flow.state('erp'), 'half-open')
    // The target is back, but slow: the probe stays in flight while others try.
    let answerProbe!: () => void
    respond = (res) => (answerProbe = () => res.end('ok'))
    const probe = erp.post('orders', { json: { probe: true } })
    await until(() => arrivals.length === 4, 'the probe to arrive')
    const others = await Promise.allSettled([erp.post('orders'), erp.get('orders'), erp.delete('orders/1')])
    for (const other of others) {
      assert.equal(other.status, 'rejected')
      assert.ok((other as PromiseRejectedResult).reason instanceof TargetPausedError)
    }
    assert.equal(arrivals.length, 4, 'only the probe was sent')
    answerProbe()
    assert.equal((await probe).status, 200)
    assert.equal(flow.state('erp'), 'closed')
    assert.deepEqual(changes, ['erp open', 'erp half-open', 'erp closed'])
    respond = (res) => res.end('ok')
    await Promise.all([erp.get('a'), erp.get('b')])
    assert.equal(arrivals.length, 6)
  })

  test('a target that does not answer counts too; a failed probe opens it again', async () => {
    const { erp, flow } = client({ breaker: { failures: 2, probeAfterMs: 200 }, timeoutMs: 100 })
    respond = () => {} // never answers: every call times out
    await assert.rejects(erp.get('a'), { name: 'TargetUnreachableError' })
    await assert.rejects(erp.get('b'), { name: 'TargetUnreachableError' })
    assert.equal(flow.state('erp'), 'open')
    await until(() => flow.canProbe('erp'), 'the breaker to be ready to probe')
    // A failed probe says "still down": it pauses its run again rather than spend one of its retries.
    const probe = await erp.get('probe').catch((thrown: unknown) => thrown)
    assert.ok(probe instanceof TargetPausedError)
    assert.equal((probe.cause as Error).name, 'TargetUnreachableError')
    assert.equal(flow.state('erp'), 'open')
    await assert.rejects(erp.get('c'), TargetPausedError)
    assert.equal(arrivals.length, 3)
  })
})
