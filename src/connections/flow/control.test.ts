/**
 * FlowControl and FlowRegistry with scripted sends (no network): what counts as a failure, what a
 * breaker refuses without sending, what a 429 does to the budget, and what the registry tells the
 * runtime. The same behaviour over real HTTP is in ../http/flow.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { TargetPausedError } from '../../core/errors.ts'
import type { BreakerState } from './breaker.ts'
import { bindFlow, connectionFlow, connectionFlowStatus, flowOf, flowRegistryOf, FlowRegistry } from './index.ts'

const answer = (status: number, retryAfterMs?: number) => Object.assign(new Error(`answered ${status}`), { status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) })
const unreachable = () => new Error('connection refused')

function setup(config: Parameters<FlowRegistry['control']>[2]) {
  let now = 0
  const registry = new FlowRegistry({ now: () => now })
  const changes: [string, BreakerState][] = []
  registry.onChange((connection, state) => changes.push([connection, state]))
  const control = registry.control('erp', 'http', config, 1000)
  let sent = 0
  const run = (outcome: 'ok' | Error) =>
    control.run(async () => {
      sent++
      if (outcome !== 'ok') throw outcome
      return 'ok'
    })
  return { registry, control, changes, run, sent: () => sent, advance: (ms: number) => (now += ms) }
}

describe('FlowControl: breaker', () => {
  test('no answer, 5xx and 429 are failures; other answers reset the count; an open breaker sends nothing', async () => {
    const { run, sent, changes, registry } = setup({ breaker: { failures: 3, probeAfterMs: 1000 } })
    await assert.rejects(run(unreachable()))
    await assert.rejects(run(answer(503)))
    await assert.rejects(run(answer(404))) // the target answered: it is up
    await assert.rejects(run(answer(500)))
    await assert.rejects(run(answer(429)))
    assert.equal(registry.state('erp'), 'closed')
    await assert.rejects(run(unreachable()))
    assert.equal(registry.state('erp'), 'open')
    assert.deepEqual(changes, [['erp', 'open']])
    const before = sent()
    await assert.rejects(run('ok'), TargetPausedError)
    assert.equal(sent(), before, 'nothing sent while open')
  })

  test('a call its caller aborted counts for nothing', async () => {
    const { control, registry } = setup({ breaker: { failures: 1, probeAfterMs: 1000 } })
    const controller = new AbortController()
    const pending = control.run(
      () =>
        new Promise((_, reject) => {
          // As fetch does: an aborted signal rejects at once, or as soon as it aborts.
          if (controller.signal.aborted) reject(controller.signal.reason)
          controller.signal.addEventListener('abort', () => reject(controller.signal.reason))
        }),
      { signal: controller.signal },
    )
    await new Promise((resolve) => setImmediate(resolve)) // sent, not yet answered
    controller.abort(new Error('caller gave up'))
    await assert.rejects(pending, /caller gave up/)
    assert.equal(registry.state('erp'), 'closed')
  })

  test('one probe at a time after probeAfterMs; the others are refused unsent; success closes it', async () => {
    const { control, run, sent, advance, registry, changes } = setup({ breaker: { failures: 1, probeAfterMs: 1000 } })
    await assert.rejects(run(answer(502)))
    advance(1000)
    assert.equal(registry.state('erp'), 'half-open')
    assert.equal(registry.canProbe('erp'), true)
    let finish!: () => void
    const probe = control.run(() => new Promise<string>((resolve) => (finish = () => resolve('up'))))
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(registry.canProbe('erp'), false)
    const sentBefore = sent()
    await assert.rejects(run('ok'), (error: Error) => error instanceof TargetPausedError && /a probe is in flight/.test(error.message))
    assert.equal(sent(), sentBefore)
    finish()
    assert.equal(await probe, 'up')
    assert.equal(registry.state('erp'), 'closed')
    assert.deepEqual(changes, [['erp', 'open'], ['erp', 'half-open'], ['erp', 'closed']])
    assert.equal(await run('ok'), 'ok')
  })

  test('without a breaker (the default) failures are only thrown', async () => {
    const { run, registry } = setup({})
    for (let i = 0; i < 10; i++) await assert.rejects(run(answer(503)))
    assert.equal(registry.state('erp'), 'closed')
    assert.equal(registry.canProbe('erp'), false)
    assert.equal(registry.status()[0]!.breaker, null)
  })
})

describe('FlowControl: 429 and the rate budget', () => {
  test('a 429 halves the effective rate and pauses the budget for Retry-After', async () => {
    const { control, run, registry } = setup({ rateLimit: { requests: 8, perMs: 1000 } })
    const throttled: string[] = []
    registry.onThrottled((connection) => throttled.push(connection))
    const error = await run(answer(429, 5000)).catch((thrown: unknown) => thrown)
    assert.equal((error as { status: number }).status, 429, 'the 429 is still thrown: the run retries')
    const status = control.status()
    assert.deepEqual(status.rateLimit, { requests: 8, perMs: 1000, effective: 4, pausedForMs: 5000 })
    assert.equal(status.throttled, 1)
    assert.deepEqual(throttled, ['erp'])
    // The (in-memory) slots are paused too: a call now waits; its caller gives up.
    await assert.rejects(control.run(async () => 'sent', { signal: AbortSignal.timeout(50) }), { name: 'TimeoutError' })
  })
})

describe('FlowRegistry', () => {
  test('status lists every connection; the client a kind returns leads back to its control and registry', () => {
    const registry = new FlowRegistry()
    const erp = connectionFlow('erp', 'http', { timeoutMs: 1000, maxConcurrency: 4, rateLimit: { requests: 10, perMs: 1000 }, breaker: true }, { flow: registry })
    const client = bindFlow({ name: 'erp' }, erp)
    assert.equal(flowOf(client), erp)
    assert.equal(flowRegistryOf({ erp: client, other: {} }), registry)
    assert.deepEqual(connectionFlowStatus({ erp: client, other: {} }), [
      {
        connection: 'erp',
        kind: 'http',
        slots: 'memory',
        rateLimit: { requests: 10, perMs: 1000, effective: 10, pausedForMs: 0 },
        maxConcurrency: 4,
        waiting: 0,
        inFlight: 0,
        throttled: 0,
        breaker: { state: 'closed', failures: 5, probeAfterMs: 10_000, consecutiveFailures: 0, probing: false, probeInMs: null },
      },
    ])
  })

  test('useBackend hands slots over to a shared backend, and back to memory', () => {
    const registry = new FlowRegistry()
    const shared = { kind: 'postgres', take: async () => ({ taken: true as const, slot: 0 }), release: async () => {}, pause: async () => {} }
    registry.useBackend(shared)
    assert.equal(registry.backendKind, 'postgres')
    registry.useBackend(undefined)
    assert.equal(registry.backendKind, 'memory')
  })
})
