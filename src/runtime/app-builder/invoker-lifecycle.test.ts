/**
 * The invoker, part 2: work an action leaves running after main returns (the old seed's
 * un-awaited ERP call, against a real HTTP server on 127.0.0.1), time limits, crashed threads,
 * abort and close(). Real worker threads running test/fixtures/app-builder-actions/.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { listenOnLoopback } from '../../../test/loopback.ts'
import { createLogger } from '../logger.ts'
import { Invoker } from './invoker.ts'
import type { AppBuilderAction } from './types.ts'

const FIXTURES = new URL('../../../test/fixtures/app-builder-actions/', import.meta.url).pathname

function fixture(file: string, overrides: Partial<AppBuilderAction> = {}): AppBuilderAction {
  const name = file.replace(/\.m?js$/, '')
  return {
    package: 'my-app',
    name,
    fullName: `my-app/${name}`,
    file: join(FIXTURES, file),
    runtime: 'nodejs:22',
    inputs: {},
    web: false,
    rawHttp: false,
    final: false,
    requireAdobeAuth: false,
    timeoutMs: 30_000,
    declaredIn: 'app.config.yaml',
    ...overrides,
  }
}

const logLines: Record<string, unknown>[] = []
const logger = createLogger({
  level: 'debug',
  destination: new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line))
      done()
    },
  }),
})
const newInvoker = () => {
  const invoker = new Invoker({ namespace: 'ns', apiHost: () => 'http://127.0.0.1:1', apiKey: 'k', logger })
  after(() => invoker.close())
  return invoker
}
const invoker = newInvoker()
const warnings = (activationId: string) => logLines.filter((line) => line.level === 40 && line.activationId === activationId).map((line) => String(line.msg))

/** A stand-in ERP: answers `status` after `delayMs`, recording when each order arrived. */
async function startErp(status: number, delayMs: number) {
  const received: { at: number; body: unknown }[] = []
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      received.push({ at: Date.now(), body: JSON.parse(body) })
      setTimeout(() => response.writeHead(status).end(), delayMs)
    })
  })
  return { url: await listenOnLoopback(server), received }
}

describe('Invoker: work left running after main returns', () => {
  it('waits for a floating timer that writes a file, and says the action left work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'storehook-floating-'))
    after(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'out.txt')
    const activation = await invoker.invoke(fixture('floating-file.js'), { file, delayMs: 300 }, { cause: 'event', activationId: 'float-file' })
    assert.equal(existsSync(file), true, 'the file was written before the activation ended')
    assert.equal(readFileSync(file, 'utf8'), 'written by floating work')
    assert.equal(activation.status, 'success')
    assert.equal(activation.leftWork, true)
    assert.ok(activation.end - activation.start >= 290, `ended after ${activation.end - activation.start} ms`)
    assert.ok(activation.logs.some((line) => line.endsWith('stdout: file written')), 'output of the floating work is in the logs')
    const [warning] = warnings('float-file')
    assert.match(String(warning), /^action my-app\/floating-file returned while work it started was still running; storehook waited for it \(\d+ ms\)$/)
  })

  it("waits for the old seed's un-awaited ERP call to complete", async () => {
    const erp = await startErp(200, 300)
    const order = { entity_id: 42, increment_id: '000000042' }
    const activation = await invoker.invoke(fixture('floating-erp.js'), { data: { value: order }, ERP_URL: erp.url, delayMs: 100 }, { cause: 'event' })
    assert.equal(activation.status, 'success', JSON.stringify(activation))
    assert.deepEqual(activation.result, { statusCode: 200, body: order })
    assert.equal(activation.leftWork, true)
    assert.equal(erp.received.length, 1)
    assert.deepEqual(erp.received[0]!.body, order)
    // The ERP answered 300 ms after it got the order; the activation ended after that answer.
    assert.ok(activation.end >= erp.received[0]!.at + 290, 'the activation ended after the ERP answered')
  })

  it("fails the activation when the un-awaited ERP call rejects (the ERP answers 500)", async () => {
    const erp = await startErp(500, 0)
    const order = { entity_id: 43 }
    const activation = await invoker.invoke(fixture('floating-erp.js'), { data: { value: order }, ERP_URL: erp.url, delayMs: 50 }, { cause: 'event' })
    assert.equal(activation.status, 'action developer error')
    assert.deepEqual(activation.result, { error: 'ERP answered 500' })
    assert.equal(activation.leftWork, true)
    assert.equal(erp.received.length, 1)
    assert.ok(activation.logs.some((line) => line.includes('stderr: Unhandled promise rejection: Error: ERP answered 500')), activation.logs.join('\n'))
    // The thread that saw an unhandled rejection is not reused; the next invocation still works.
    const next = await invoker.invoke(fixture('floating-erp.js'), { data: { value: order }, ERP_URL: (await startErp(200, 0)).url, delayMs: 0 }, { cause: 'event' })
    assert.equal(next.status, 'success')
  })

  it('does not count idle keep-alive sockets as work left running', async () => {
    const erp = await startErp(200, 0)
    // The call floats briefly; then its keep-alive socket stays open, unref'd, and must not hold
    // the activation until its time limit.
    const activation = await invoker.invoke(fixture('floating-erp.js', { timeoutMs: 5000 }), { data: { value: {} }, ERP_URL: erp.url, delayMs: 0 }, { cause: 'event' })
    assert.equal(activation.status, 'success', JSON.stringify(activation))
    assert.ok(activation.end - activation.start < 4000, `took ${activation.end - activation.start} ms`)
    assert.equal(erp.received.length, 1, 'the call was made, and waited for')
  })

  it('with waitForFloatingWork false, ends when main returns, for connections meant to stay open', async () => {
    // Waited for, a handle that never closes holds the invocation to its time limit.
    const waited = await invoker.invoke(fixture('persistent-connection.js', { timeoutMs: 600 }), {}, { cause: 'invoke' })
    assert.deepEqual(waited.result, { error: 'The action exceeded its time limits of 600 milliseconds.' })
    const action = fixture('persistent-connection.js', { timeoutMs: 600, waitForFloatingWork: false })
    const first = await invoker.invoke(action, {}, { cause: 'invoke' })
    assert.equal(first.status, 'success', JSON.stringify(first))
    assert.equal(first.leftWork, true)
    const second = await invoker.invoke(action, {}, { cause: 'invoke' })
    assert.equal(second.result.port, first.result.port, 'the warm thread kept its connection')
    assert.equal(second.leftWork, false)
  })
})

describe('Invoker: time limits, crashes, abort and close', () => {
  it('cuts an invocation off at its time limit, terminates the thread, and the next invocation works', async () => {
    const action = fixture('spin.js', { timeoutMs: 500 })
    const before = await invoker.invoke(action, {}, { cause: 'invoke' })
    assert.equal(before.status, 'success')
    const stuck = await invoker.invoke(action, { spin: true }, { cause: 'invoke', activationId: 'spin' })
    assert.equal(stuck.status, 'action developer error')
    assert.deepEqual(stuck.result, { error: 'The action exceeded its time limits of 500 milliseconds.' })
    assert.ok(stuck.end - stuck.start >= 490, `cut after ${stuck.end - stuck.start} ms`)
    const after = await invoker.invoke(action, {}, { cause: 'invoke' })
    assert.equal(after.status, 'success')
    // The warm thread was busy spinning: it was terminated, the next one is a new thread.
    assert.notEqual(after.result.threadId, before.result.threadId)
    assert.ok(warnings('spin').some((line) => line.includes('exceeded its time limits')))
  })

  it('counts floating work against the time limit', async () => {
    const erp = await startErp(200, 5000)
    const activation = await invoker.invoke(fixture('floating-erp.js', { timeoutMs: 800 }), { data: { value: {} }, ERP_URL: erp.url, delayMs: 0 }, { cause: 'event', activationId: 'slow-erp' })
    assert.deepEqual(activation.result, { error: 'The action exceeded its time limits of 800 milliseconds.' })
    assert.equal(activation.leftWork, true)
    assert.ok(warnings('slow-erp').some((line) => line.includes('cut off unfinished')))
  })

  it('a thread that ends itself (process.exit) is a developer error, and is replaced', async () => {
    const activation = await invoker.invoke(fixture('exits.js'), {}, { cause: 'invoke' })
    assert.equal(activation.status, 'action developer error')
    assert.match(String(activation.result.error), /^The action did not produce a valid response and exited unexpectedly: .*exit code 3/)
    assert.ok(activation.logs.some((line) => line.endsWith('stdout: about to exit')))
    const counter = fixture('counter.js')
    assert.equal((await invoker.invoke(counter, {}, { cause: 'invoke' })).status, 'success')
  })

  it('a thread that runs out of memory is a developer error, and storehook lives on', async () => {
    const activation = await invoker.invoke(fixture('hog.js', { memoryMb: 16 }), {}, { cause: 'invoke' })
    assert.equal(activation.status, 'action developer error')
    assert.match(String(activation.result.error), /exited unexpectedly: .*memory/i)
  })

  it('ends a thread idle for idleMs; the next invocation starts a new one', async () => {
    const brief = new Invoker({ namespace: 'ns', apiHost: () => 'http://127.0.0.1:1', apiKey: 'k', logger, idleMs: 200 })
    after(() => brief.close())
    const first = await brief.invoke(fixture('counter.js'), {}, { cause: 'invoke' })
    await sleep(1000)
    const second = await brief.invoke(fixture('counter.js'), {}, { cause: 'invoke' })
    assert.deepEqual([first.result.invocations, second.result.invocations], [1, 1])
    assert.notEqual(second.result.threadId, first.result.threadId)
  })

  it('replaces a thread whose leftover timer throws between invocations', async () => {
    const action = fixture('late-throw.js')
    const first = await invoker.invoke(action, { throwLater: true }, { cause: 'invoke' })
    assert.equal(first.status, 'success')
    await sleep(1000)
    assert.ok(logLines.some((line) => line.level === 40 && String(line.msg).startsWith('action my-app/late-throw failed between invocations')))
    const second = await invoker.invoke(action, {}, { cause: 'invoke' })
    assert.equal(second.status, 'success')
    assert.notEqual(second.result.threadId, first.result.threadId)
  })

  it('aborting the signal cuts the invocation off', async () => {
    const controller = new AbortController()
    const started = invoker.invoke(fixture('implicit-global.js'), { data: { value: 1 }, delayMs: 60_000 }, { cause: 'event', signal: controller.signal })
    await sleep(300)
    controller.abort(new Error('storehook is stopping'))
    const activation = await started
    assert.equal(activation.status, 'action developer error')
    assert.deepEqual(activation.result, { error: 'The action was stopped before it finished: storehook is stopping.' })
    const aborted = await invoker.invoke(fixture('counter.js'), {}, { cause: 'event', signal: controller.signal })
    assert.equal(aborted.status, 'action developer error')
  })

  it('close() ends invocations in flight as developer errors, and refuses new ones', async () => {
    const closing = newInvoker()
    const action = fixture('implicit-global.js')
    const inFlight = [1, 2].map((id) => closing.invoke(action, { data: { value: id }, delayMs: 60_000 }, { cause: 'event' }))
    await sleep(300)
    const closed = Date.now()
    await closing.close()
    for (const activation of await Promise.all(inFlight)) {
      assert.equal(activation.status, 'action developer error')
      assert.deepEqual(activation.result, { error: 'The action was stopped before it finished: storehook is shutting down.' })
      assert.ok(activation.end - closed < 5000)
    }
    const late = await closing.invoke(action, { data: { value: 3 }, delayMs: 0 }, { cause: 'event' })
    assert.deepEqual(late.result, { error: 'The action was stopped before it finished: storehook is shutting down.' })
  })
})
