/**
 * The invoker, part 1: loading every module shape, the result contract, isolation of concurrent
 * invocations, warm reuse, the environment and the logs. Real worker threads running the fixture
 * actions in test/fixtures/app-builder-actions/ (floating work, time limits, crashes and close():
 * invoker-lifecycle.test.ts).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, describe, it } from 'node:test'
import { createLogger } from '../logger.ts'
import { Invoker } from './invoker.ts'
import type { AppBuilderAction } from './types.ts'

const FIXTURES = new URL('../../../test/fixtures/app-builder-actions/', import.meta.url).pathname
const API_HOST = 'http://127.0.0.1:39999'

/** An action of the fixture package `fixtures`, named after its file. */
function fixture(file: string, overrides: Partial<AppBuilderAction> = {}): AppBuilderAction {
  const name = file.replace(/\/.*$|\.m?js$/g, '')
  return {
    package: 'fixtures',
    name,
    fullName: `fixtures/${name}`,
    file: file.startsWith('/') ? file : join(FIXTURES, file),
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

/** pino at debug level, its lines parsed. */
function captureLogger() {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    },
  })
  return { lines, logger: createLogger({ level: 'debug', destination }) }
}

const { lines: logLines, logger } = captureLogger()
// Set before any thread starts: a thread must not see it.
process.env.STOREHOOK_ADMIN_TOKEN = 'admin-token-that-must-not-leak'
const invoker = new Invoker({ namespace: 'test-ns', apiHost: () => API_HOST, apiKey: 'uuid:key', logger })
after(() => invoker.close())

const invoke = (action: AppBuilderAction, params: Record<string, unknown> = {}) => invoker.invoke(action, params, { cause: 'invoke' })

describe('Invoker: loading actions as App Builder loads them', () => {
  for (const [file, shape] of [
    ['cjs-exports-main.js', 'exports.main'],
    ['cjs-module-exports-function.js', 'module.exports = main'],
    ['cjs-module-exports-object.js', 'module.exports = { main }'],
    ['esm-named.mjs', 'export function main'],
    ['esm-default.mjs', 'export default main'],
    ['esm-default-object.mjs', 'export default { main }'],
  ] as const) {
    it(`runs ${shape} (${file})`, async () => {
      const activation = await invoke(fixture(file), { name: 'Ada' })
      assert.equal(activation.status, 'success', JSON.stringify(activation))
      assert.deepEqual(activation.result, { greeting: 'hello Ada', shape })
      assert.equal(activation.action, `fixtures/${file.replace(/\.m?js$/, '')}`)
    })
  }

  it("resolves packages from the action's own node_modules, from CommonJS and ES modules", async () => {
    // storehook itself cannot resolve it: only the action's directory has it.
    assert.throws(() => import.meta.resolve('storehook-fixture-greeting'))
    const cjs = await invoke(fixture('with-deps/index.js'), { name: 'Ada' })
    assert.deepEqual(cjs.result, { greeting: "greetings, Ada, from the action's own node_modules" })
    const esm = await invoke(fixture('with-deps/esm.mjs', { name: 'with-deps-esm', fullName: 'fixtures/with-deps-esm' }), { name: 'Bo' })
    assert.deepEqual(esm.result, { greeting: "greetings, Bo, from the action's own node_modules", esm: true })
  })

  it('a module without main is a developer error naming the file and what it exports', async () => {
    const activation = await invoke(fixture('no-main.js'))
    assert.equal(activation.status, 'action developer error')
    const error = String(activation.result.error)
    assert.ok(error.startsWith(join(FIXTURES, 'no-main.js')), error)
    assert.match(error, /no main function/)
    assert.match(error, /export "handler" \(a function\)/)
  })

  it('a missing dependency is a developer error with the loader message', async () => {
    const activation = await invoke(fixture('missing-dependency.js'))
    assert.equal(activation.status, 'action developer error')
    assert.match(String(activation.result.error), /failed to load: Cannot find module 'storehook-fixture-not-installed'/)
    assert.ok(activation.logs.some((line) => line.includes('stderr:')), 'the load error is in the logs')
  })

  it('after a load error, the next invocation loads the module again in a fresh thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'storehook-invoker-'))
    after(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(join(dir, 'package.json'), '{}')
    const file = join(dir, 'broken.js')
    writeFileSync(file, 'exports.main = () => ({ ok: true ')
    const action = fixture(file)
    const broken = await invoke(action)
    assert.equal(broken.status, 'action developer error')
    assert.match(String(broken.result.error), /failed to load: .*(missing \) after argument list|Unexpected token|Unexpected end of input)/)
    writeFileSync(file, 'exports.main = () => ({ ok: true })')
    const fixed = await invoke(action)
    assert.equal(fixed.status, 'success', JSON.stringify(fixed))
    assert.deepEqual(fixed.result, { ok: true })
  })
})

describe('Invoker: the result contract', () => {
  for (const value of ['a string', 42, [1, 2], null, true]) {
    it(`returning ${JSON.stringify(value)} is "The action did not return a dictionary."`, async () => {
      const activation = await invoke(fixture('returns.js'), { value })
      assert.equal(activation.status, 'action developer error')
      assert.deepEqual(activation.result, { error: 'The action did not return a dictionary.' })
    })
  }

  it('returning nothing is an empty dictionary, as the OpenWhisk Node.js runtime makes it', async () => {
    const activation = await invoke(fixture('returns.js'), { nothing: true })
    assert.equal(activation.status, 'success')
    assert.deepEqual(activation.result, {})
  })

  it('a throw is a developer error with its message, and its stack in the logs', async () => {
    const activation = await invoke(fixture('throws.js'), { data: { value: {} } })
    assert.equal(activation.status, 'action developer error')
    assert.deepEqual(activation.result, { error: 'order has no entity_id' })
    assert.ok(activation.logs.some((line) => / stderr: +at checkOrder /.test(line)), activation.logs.join('\n'))
    const rejected = await invoke(fixture('throws.js'), { async: true })
    assert.equal(rejected.status, 'action developer error')
    assert.deepEqual(rejected.result, { error: 'the ERP client is not configured' })
    const fine = await invoke(fixture('throws.js'), { data: { value: { entity_id: 1 } } })
    assert.equal(fine.status, 'success')
  })

  it('a result with an error field is an application error', async () => {
    const activation = await invoke(fixture('application-error.js'))
    assert.equal(activation.status, 'application error')
    assert.deepEqual(activation.result, { error: { statusCode: 400, body: { error: 'missing parameter(s) data.value' } } })
  })

  it('a result with functions, class instances and dates comes back as its JSON', async () => {
    const activation = await invoke(fixture('json-unsafe.js'))
    assert.equal(activation.status, 'success', JSON.stringify(activation))
    assert.deepEqual(activation.result, { order: { id: 7, placedAt: '2026-01-02T03:04:05.000Z' }, kept: 'yes' })
  })

  it('records the activation id, cause, run and attempt', async () => {
    const given = await invoker.invoke(fixture('cjs-exports-main.js'), { name: 'x' }, { cause: 'event', activationId: 'abc123', runId: 41, attempt: 2 })
    assert.equal(given.activationId, 'abc123')
    assert.equal(given.cause, 'event')
    assert.equal(given.runId, 41)
    assert.equal(given.attempt, 2)
    assert.ok(given.end >= given.start)
    const generated = await invoke(fixture('cjs-exports-main.js'), { name: 'x' })
    assert.match(generated.activationId, /^[0-9a-f]{32}$/)
    assert.equal('runId' in generated, false)
  })
})

describe('Invoker: isolation and reuse', () => {
  it("keeps the seed's implicit global apart in concurrent invocations", async () => {
    const action = fixture('implicit-global.js')
    // The first waits long after setting the global; the second sets it meanwhile. In one thread
    // the first would return the second's order.
    const [first, second] = await Promise.all([
      invoke(action, { data: { value: { entity_id: 1 } }, delayMs: 1500 }),
      invoke(action, { data: { value: { entity_id: 2 } }, delayMs: 10 }),
    ])
    assert.deepEqual(first.result, { statusCode: 200, body: { entity_id: 1 } })
    assert.deepEqual(second.result, { statusCode: 200, body: { entity_id: 2 } })
    assert.ok(second.end < first.end, 'the two ran at the same time')
  })

  it('reuses a warm thread one invocation after another, module state included', async () => {
    const action = fixture('counter.js')
    const first = await invoke(action)
    const second = await invoke(action)
    const third = await invoke(action)
    assert.deepEqual([first.result.invocations, second.result.invocations, third.result.invocations], [1, 2, 3])
    assert.equal(second.result.threadId, first.result.threadId)
    assert.equal(third.result.threadId, first.result.threadId)
  })

  it('beyond maxThreadsPerAction, invocations wait for a thread', async () => {
    const single = new Invoker({ namespace: 'test-ns', apiHost: () => API_HOST, apiKey: 'k', logger, maxThreadsPerAction: 1 })
    after(() => single.close())
    const action = fixture('implicit-global.js')
    const [first, second] = await Promise.all([
      single.invoke(action, { data: { value: { entity_id: 1 } }, delayMs: 300 }, { cause: 'invoke' }),
      single.invoke(action, { data: { value: { entity_id: 2 } }, delayMs: 10 }, { cause: 'invoke' }),
    ])
    assert.deepEqual(first.result.body, { entity_id: 1 })
    assert.deepEqual(second.result.body, { entity_id: 2 })
    assert.ok(second.start >= first.end, `second started at ${second.start}, first ended at ${first.end}`)
  })
})

describe('Invoker: environment', () => {
  it("sets the __OW_ variables and hides storehook's environment", async () => {
    const activation = await invoker.invoke(fixture('env.js'), {}, { cause: 'invoke', activationId: 'act-env' })
    const env = activation.result.env as Record<string, string>
    assert.equal(env.STOREHOOK_ADMIN_TOKEN, undefined)
    assert.equal(process.env.STOREHOOK_ADMIN_TOKEN, 'admin-token-that-must-not-leak')
    assert.equal(env.__OW_ACTION_NAME, '/test-ns/fixtures/env')
    assert.equal(env.__OW_ACTIVATION_ID, 'act-env')
    assert.equal(env.__OW_NAMESPACE, 'test-ns')
    assert.equal(env.__OW_API_HOST, API_HOST)
    assert.equal(env.__OW_API_KEY, 'uuid:key')
    assert.equal(env.__OW_ACTION_VERSION, '0.0.1')
    assert.equal(Number(env.__OW_DEADLINE), activation.start + 30_000)
    const allowed = new Set(['PATH', 'HOME', 'TZ', 'LANG', 'NODE_ENV'])
    const others = Object.keys(env).filter((name) => !name.startsWith('__OW_') && !allowed.has(name))
    assert.deepEqual(others, [])
    if (process.env.PATH) assert.equal(env.PATH, process.env.PATH)
  })

  it('gives each invocation its own activation id in __OW_ACTIVATION_ID on a warm thread', async () => {
    const first = await invoker.invoke(fixture('env.js'), {}, { cause: 'invoke', activationId: 'first' })
    const second = await invoker.invoke(fixture('env.js'), {}, { cause: 'invoke', activationId: 'second' })
    assert.equal((first.result.env as Record<string, string>).__OW_ACTIVATION_ID, 'first')
    assert.equal((second.result.env as Record<string, string>).__OW_ACTIVATION_ID, 'second')
  })
})

describe('Invoker: logs', () => {
  it('captures console and stream output per line, as OpenWhisk formats it, and sends it to the logger', async () => {
    const activation = await invoker.invoke(fixture('logs.js'), {}, { cause: 'invoke', activationId: 'act-logs' })
    assert.equal(activation.status, 'success')
    for (const line of activation.logs) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (stdout|stderr): /)
    const text = activation.logs.map((line) => line.replace(/^\S+ /, ''))
    assert.deepEqual(
      text.filter((line) => line.startsWith('stdout')),
      ['stdout: log line', 'stdout: info line', 'stdout: debug line', 'stdout: two', 'stdout: lines', 'stdout: partial line', 'stdout: no newline at the end'],
    )
    assert.deepEqual(
      text.filter((line) => line.startsWith('stderr')),
      ['stderr: warn line', 'stderr: error line', 'stderr: raw stderr'],
    )
    const forwarded = logLines.filter((line) => line.activationId === 'act-logs')
    assert.equal(forwarded.length, activation.logs.length)
    assert.ok(forwarded.every((line) => line.level === 20 && line.action === 'fixtures/logs'))
    assert.ok(forwarded.some((line) => line.msg === 'warn line' && line.stream === 'stderr'))
  })

  it('stops recording past maxLogBytes, with a marker', async () => {
    const small = new Invoker({ namespace: 'test-ns', apiHost: () => API_HOST, apiKey: 'k', logger, maxLogBytes: 2000 })
    after(() => small.close())
    const activation = await small.invoke(fixture('logs.js'), { bulk: 1000 }, { cause: 'invoke' })
    assert.equal(activation.status, 'success')
    assert.ok(activation.logs.length < 40, `${activation.logs.length} lines kept`)
    const kept = activation.logs.slice(0, -1).reduce((sum, line) => sum + Buffer.byteLength(line.replace(/^\S+ \w+: /, '')) + 1, 0)
    assert.ok(kept <= 2000, `${kept} bytes kept`)
    assert.match(activation.logs.at(-1)!, / stderr: Logs were truncated because the total bytes size exceeds the limit of 2000 bytes\.$/)
  })
})
