/**
 * `storehook dev` as a developer uses it, in a child process: events keep arriving while the
 * action file is edited; the new code handles the events that come after the reload, a broken
 * edit leaves the last good code serving with the error printed, and no acknowledged event is
 * lost on the way: each one ends with a succeeded run, in-flight runs at the swap included.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { REPO_ROOT, eventually, makeProject, sendEvent, webhooksConfig } from './helpers.ts'

const CLI = join(REPO_ROOT, 'bin', 'storehook.js')

/** The action at `version`: slow enough that runs are in flight when a reload swaps versions. */
const action = (version: number) => `import { onEvent } from 'storehook'
export default onEvent('order.*', async (event, { connections, idempotencyKey }) => {
  await new Promise((resolve) => setTimeout(resolve, 200))
  await connections.erp.post('/orders', { json: { version: ${version}, event: event.id }, idempotencyKey })
})
`

interface Dev {
  url: string
  lines: string[]
  child: ChildProcess
  /** Resolves with the first output line matching `pattern` from `from` on. */
  waitFor(pattern: RegExp, from: number, timeoutMs?: number): Promise<number>
}

function startDev(project: string, env: Record<string, string>, extra: string[] = []): Promise<Dev> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', LOG_LEVEL: 'info', ...env }
  for (const name of ['NODE_TEST_CONTEXT', 'NODE_OPTIONS', 'STOREHOOK_ADMIN_TOKEN', 'STOREHOOK_DB', 'STOREHOOK_HOST', 'PORT']) delete childEnv[name]
  const child = spawn(process.execPath, [CLI, 'dev', '--project', project, '--port', '0', ...extra], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  // Its generations stop with it (--exit-with-parent), even after a SIGKILL.
  after(() => void (child.exitCode === null && child.kill('SIGKILL')))
  const lines: string[] = []
  const listeners = new Set<() => void>()
  const keep = (line: string) => {
    lines.push(line)
    for (const listener of listeners) listener()
  }
  createInterface({ input: child.stdout! }).on('line', keep)
  createInterface({ input: child.stderr! }).on('line', (line) => keep(`[stderr] ${line}`))
  const waitFor = (pattern: RegExp, from: number, timeoutMs = 20_000) =>
    new Promise<number>((resolve, reject) => {
      const check = () => {
        const index = lines.findIndex((line, i) => i >= from && pattern.test(line))
        if (index < 0) return
        listeners.delete(check)
        clearTimeout(timer)
        resolve(index)
      }
      const timer = setTimeout(() => {
        listeners.delete(check)
        reject(new Error(`storehook dev did not print ${pattern} within ${timeoutMs} ms:\n${lines.slice(-40).join('\n')}`))
      }, timeoutMs)
      listeners.add(check)
      check()
    })
  return waitFor(/^storehook listening on http:\/\/\S+$/, 0).then((index) => ({
    url: lines[index]!.split(' ').at(-1)!,
    lines,
    child,
    waitFor,
  }))
}

describe('storehook dev', () => {
  it('reloads an edited action while events keep arriving, keeps the old code on a broken edit, and loses no acknowledged event', { timeout: 60_000 }, async () => {
    const erp = await startErpSimulator()
    after(() => erp.close())
    const project = makeProject({
      'storehook.config.ts': webhooksConfig(`connections: { erp: { kind: 'http', baseUrl: env('ERP_URL') } },
  worker: { pollIntervalMs: 50 },`).replace("import { defineConfig }", "import { defineConfig, env }"),
      'actions/forward.ts': action(1),
    })
    const dev = await startDev(project, { ERP_URL: erp.url })
    // The banner: where the dashboard is, where to send events.
    await dev.waitFor(/^ {2}watching .* for changes/, 0)
    assert.ok(dev.lines.includes(`  dashboard ${dev.url}/admin`), dev.lines.join('\n'))
    assert.ok(dev.lines.includes(`  POST ${dev.url}/events/webhooks`), dev.lines.join('\n'))

    // Events arrive all along, each sent once; which phase it was acknowledged in is recorded.
    type Phase = 'v1' | 'reloading' | 'v2' | 'broken'
    // Widened on purpose: the sender reads it while the test moves it on.
    let phase = 'v1' as Phase
    const acknowledged = new Map<string, Phase>()
    let refused = 0
    let sending = true
    let n = 0
    const sender = (async () => {
      while (sending) {
        const sentIn = phase
        const answer = await sendEvent(dev.url, { type: 'order.created', data: { n: n++ } }).catch(() => null)
        if (answer?.status === 200) acknowledged.set(answer.id, sentIn === phase ? sentIn : 'reloading')
        else refused++
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    })()
    const inPhase = (p: Phase) => [...acknowledged.values()].filter((x) => x === p).length

    try {
      await eventually(() => inPhase('v1') >= 8, 15_000, 'events acknowledged by the first version')
      phase = 'reloading'
      const before = dev.lines.length
      writeFileSync(join(project, 'actions/forward.ts'), action(2))
      await dev.waitFor(/^\[dev\] actions\/forward\.ts changed: reloading$/, before)
      await dev.waitFor(/^\[dev\] reloaded: generation 2 serves /, before)
      phase = 'v2'
      await eventually(() => inPhase('v2') >= 8, 15_000, 'events acknowledged after the reload')

      phase = 'reloading'
      const beforeBreak = dev.lines.length
      writeFileSync(join(project, 'actions/forward.ts'), `${action(3)}\nexport const broken = (\n`)
      await dev.waitFor(/^\[dev\] reload failed; generation 2 goes on serving:$/, beforeBreak)
      await dev.waitFor(/^\[stderr\]\s+storehook: actions\/forward\.ts: failed to load: /, beforeBreak)
      phase = 'broken'
      await eventually(() => inPhase('broken') >= 8, 15_000, 'events acknowledged after the broken edit')
    } finally {
      sending = false
      await sender
    }

    // Every acknowledged event has a succeeded run, and reached the ERP once, from the right code.
    const delivered = () => new Map(erp.accepted().map((d) => [JSON.parse(d.body).event as string, JSON.parse(d.body).version as number]))
    await eventually(() => [...acknowledged.keys()].every((id) => delivered().has(id)), 20_000, 'every acknowledged event to reach the ERP')
    for (const id of acknowledged.keys()) {
      const { runs } = (await (await fetch(`${dev.url}/admin/api/events/webhooks/${id}`)).json()) as { runs: { id: number }[] }
      assert.equal(runs.length, 1, `event ${id} has one run`)
      const { run } = (await (await fetch(`${dev.url}/admin/api/runs/${runs[0]!.id}`)).json()) as { run: { state: string } }
      assert.equal(run.state, 'succeeded', `the run of event ${id}`)
    }
    const versions = delivered()
    for (const [id, when] of acknowledged) {
      if (when === 'v1') assert.equal(versions.get(id), 1, `event ${id}, acknowledged before the edit, is handled by the first version`)
      if (when === 'v2' || when === 'broken') assert.equal(versions.get(id), 2, `event ${id} (${when}) is handled by the edited code`)
    }
    assert.equal(erp.duplicates().length, 0, 'no event reached the ERP twice')
    assert.ok(acknowledged.size >= 24, `acknowledged ${acknowledged.size}, refused ${refused}`)

    const before = dev.lines.length
    dev.child.kill('SIGTERM')
    const code = await new Promise<number | null>((resolve) => dev.child.once('exit', resolve))
    assert.equal(code, 0, dev.lines.slice(before).join('\n'))
  })

  it('keeps waiting for a fix when the project does not load at start, then serves it', { timeout: 30_000 }, async () => {
    const project = makeProject({ 'storehook.config.ts': webhooksConfig().replace("secrets: ['", "secrets: ['broken-") })
    const dev = await startDev(project, {})
    await dev.waitFor(/^\[dev\] the project does not load; nothing is served until it does/, 0)
    await dev.waitFor(/^\[stderr\]\s+storehook: storehook\.config\.ts: sources\.webhooks\.secrets: secret 1 must start with "whsec_"$/, 0)
    const refused = await fetch(`${dev.url}/healthz`)
    assert.equal(refused.status, 503)
    assert.match(((await refused.json()) as { error: string }).error, /does not load/)

    const before = dev.lines.length
    writeFileSync(join(project, 'storehook.config.ts'), webhooksConfig())
    await dev.waitFor(/^\[dev\] reloaded: generation 2 serves /, before)
    assert.equal((await fetch(`${dev.url}/healthz`)).status, 200)
    assert.equal((await sendEvent(dev.url, { type: 'order.created' })).status, 200)
    dev.child.kill('SIGTERM')
    assert.equal(await new Promise((resolve) => dev.child.once('exit', resolve)), 0)
  })

  it('with --simulators, points the project at them, prints what the ERP receives, and says where it listens in .storehook/dev.json', { timeout: 30_000 }, async () => {
    const project = makeProject({
      'storehook.config.ts': webhooksConfig(`connections: { erp: { kind: 'http', baseUrl: env('ERP_URL') } },`).replace("import { defineConfig }", "import { defineConfig, env }"),
      'actions/forward.ts': action(1),
      // A .env pointing elsewhere: the simulators win over it.
      '.env': 'ERP_URL=http://127.0.0.1:9\n',
    })
    const dev = await startDev(project, {}, ['--simulators', '--orders', '1-3'])
    await dev.waitFor(/^ {2}ERP_URL=http:\/\/127\.0\.0\.1:\d+$/, 0)
    const session = JSON.parse(readFileSync(join(project, '.storehook/dev.json'), 'utf8')) as { url: string; env: Record<string, string> }
    assert.equal(session.url, dev.url)
    assert.ok(dev.lines.includes(`  ERP_URL=${session.env.ERP_URL}`))
    const { id, status } = await sendEvent(dev.url, { type: 'order.created' })
    assert.equal(status, 200)
    await dev.waitFor(new RegExp(`^\\[erp\\] POST /orders Idempotency-Key: \\S+ -> 200 \\{"version":1,"event":"${id}"\\}$`), 0)
    dev.child.kill('SIGTERM')
    assert.equal(await new Promise((resolve) => dev.child.once('exit', resolve)), 0)
    assert.ok(!existsSync(join(project, '.storehook/dev.json')), 'removed when dev stops')
  })
})
