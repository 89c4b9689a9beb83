/**
 * The `storehook` command as users run it (`bin/storehook.js` in a child process): `runs
 * list|show|replay` on the SQLite file of a project that has run events while storehook runs,
 * and `start` refusing a broken project or port with exit code 1 and a message that says what to
 * fix, never a stack trace and never a secret.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { REPO_ROOT, TEST_SECRET, eventually, makeProject, sendEvent, start, webhooksConfig } from './helpers.ts'

const CLI = join(REPO_ROOT, 'bin', 'storehook.js')

interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `storehook <args>` to completion, whatever its exit code. */
function storehookCli(args: string[], env: Record<string, string> = {}, timeoutMs = 15_000): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
  for (const name of ['NODE_TEST_CONTEXT', 'NODE_OPTIONS', 'STOREHOOK_ADMIN_TOKEN', 'STOREHOOK_DB', 'STOREHOOK_HOST', 'PORT']) {
    if (!(name in env)) delete childEnv[name]
  }
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`storehook ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}${stderr}`))
    }, timeoutMs)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Runs a command that must succeed and returns its stdout. */
async function ok(args: string[]): Promise<string> {
  const result = await storehookCli(args)
  assert.equal(result.code, 0, `storehook ${args.join(' ')}\n${result.stdout}${result.stderr}`)
  return result.stdout
}

describe('storehook runs', async () => {
  const erp = await startErpSimulator()
  after(() => erp.close())
  const project = makeProject({
    'storehook.config.ts': webhooksConfig(`
  connections: { erp: { kind: 'http', baseUrl: '${erp.url}/orders' } },
  worker: { pollIntervalMs: 50 },`),
    'actions/forward.ts': `import { onEvent } from 'storehook'
export default onEvent('order.*', async (event, { connections }) => {
  await connections.erp.post('', { json: event.payload, idempotencyKey: event.id })
})`,
  })
  // The store is the project's default file, which the CLI finds from --project alone.
  const storehook = await start({ project })
  const runs = ['--project', project]
  const apiRun = async (id: number) => ((await (await fetch(`${storehook.url}/admin/api/runs/${id}`)).json()) as any).run
  const runOfEvent = async (id: string) => ((await (await fetch(`${storehook.url}/admin/api/events/webhooks/${id}`)).json()) as any).runs[0]

  /** Run ids by event: `created` succeeded; `updated` and `cancelled` are dead (the ERP answered 422). */
  const run = { created: 0, updated: 0, cancelled: 0 }
  const event = { created: 'evt_cli_created', updated: 'evt_cli_updated', cancelled: 'evt_cli_cancelled' }
  /** `created` was made before this epoch ms, the others at or after it. */
  let split: number

  before(async () => {
    for (const name of ['created', 'updated', 'cancelled'] as const) {
      if (name !== 'created') erp.respondWith(422)
      await sendEvent(storehook.url, { id: event[name], type: `order.${name}` })
      const settled = await eventually(async () => {
        const found = await runOfEvent(event[name])
        return ['succeeded', 'dead'].includes(found?.state) && found
      }, 5000, `the run of ${event[name]} to finish`)
      run[name] = settled.id
      if (name === 'created') {
        split = Date.now() + 1
        await eventually(() => Date.now() > split)
      }
    }
  })

  it('lists runs as a table, newest first, with their last error', async () => {
    const lines = (await ok(['runs', 'list', ...runs])).trimEnd().split('\n')
    assert.match(lines[0]!, /^ID\s+STATE\s+ACTION\s+SOURCE\s+TYPE\s+EVENT\s+ATTEMPTS\s+CREATED\s+LAST ERROR$/)
    assert.equal(lines.length, 4)
    assert.match(lines[1]!, new RegExp(`^${run.cancelled}\\s+dead\\s+forward\\s+webhooks\\s+order.cancelled\\s+${event.cancelled}\\s+1/25\\s+\\S+Z\\s+.*422`))
    assert.match(lines[3]!, new RegExp(`^${run.created}\\s+succeeded\\s+forward\\s+webhooks\\s+order.created\\s+${event.created}\\s+1/25\\s+\\S+Z$`))
  })

  it('lists runs as JSON with --json, as the admin API has them', async () => {
    const listed = JSON.parse(await ok(['runs', 'list', ...runs, '--json']))
    assert.deepEqual(
      listed.map((r: any) => [r.id, r.state, r.eventId]),
      [[run.cancelled, 'dead', event.cancelled], [run.updated, 'dead', event.updated], [run.created, 'succeeded', event.created]],
    )
    assert.equal(listed[0].lastError, (await apiRun(run.cancelled)).lastError)
  })

  it('filters the list by state, type, action, source, time and count', async () => {
    const cases: [string[], number[]][] = [
      [['--state', 'dead'], [run.cancelled, run.updated]],
      [['--type', 'order.created'], [run.created]],
      [['--action', 'forward', '--state', 'succeeded'], [run.created]],
      [['--source', 'elsewhere'], []],
      [['--since', new Date(split).toISOString()], [run.cancelled, run.updated]],
      [['--until', String(split)], [run.created]],
      [['--limit', '1'], [run.cancelled]],
    ]
    // Each is its own process: run them side by side.
    const listed = await Promise.all(cases.map(async ([filter]) => JSON.parse(await ok(['runs', 'list', ...runs, '--json', ...filter]))))
    cases.forEach(([filter, expected], i) => assert.deepEqual(listed[i].map((r: any) => r.id), expected, filter.join(' ')))
  })

  it('shows one run with its attempts and their errors', async () => {
    const out = await ok(['runs', 'show', String(run.updated), ...runs])
    assert.match(out, new RegExp(`^${run.updated}\\s+dead\\s+forward`, 'm'))
    assert.match(out, /^attempt 1 on \S+ at \S+Z: dead \(\d+ ms\)$/m)
    assert.match(out, /^ {4}.*erp answered 422 to POST \/orders/m)
    const shown = JSON.parse(await ok(['runs', 'show', String(run.updated), ...runs, '--json']))
    assert.equal(shown.run.id, run.updated)
    assert.deepEqual(shown.attempts.map((a: any) => [a.number, a.outcome]), [[1, 'dead']])
  })

  it('reads the same store through an explicit --db sqlite:PATH', async () => {
    const db = `sqlite:${join(project, '.storehook', 'storehook.db')}`
    const listed = JSON.parse(await ok(['runs', 'list', '--db', db, '--json']))
    assert.equal(listed.length, 3)
  })

  it('replays one run: the new run is in the store and the running storehook runs it', async () => {
    const out = await ok(['runs', 'replay', String(run.updated), ...runs])
    const match = new RegExp(`^run ${run.updated} replayed as run (\\d+)$`).exec(out.trim())
    assert.ok(match, out)
    const replay = Number(match[1])
    assert.equal((await apiRun(replay)).replayOf, run.updated)
    await eventually(async () => (await apiRun(replay)).state === 'succeeded', 5000, 'the replay to succeed')
    assert.deepEqual(erp.deliveries.filter((d) => d.idempotencyKey === event.updated).map((d) => d.status), [422, 200])
    assert.equal((await apiRun(run.updated)).state, 'dead', 'the replayed run is kept as it was')
  })

  it('replays every dead run matching the filters with --dead, each only once', async () => {
    const first = JSON.parse(await ok(['runs', 'replay', '--dead', '--type', 'order.cancelled', ...runs, '--json']))
    assert.deepEqual(first.map((r: any) => r.replayOf), [run.cancelled])
    assert.equal((await ok(['runs', 'replay', '--dead', ...runs])).trim(), 'nothing to replay')
    await eventually(async () => (await apiRun(first[0].id)).state === 'succeeded', 5000, 'the replay to succeed')
  })

  const mistakes: [string, string[], RegExp][] = [
    ['an unknown run id', ['runs', 'show', '987654'], /^storehook: run 987654 does not exist in this store$/m],
    ['replaying an unknown run id', ['runs', 'replay', '987654'], /^storehook: run 987654 does not exist$/m],
    ['a run id and --dead together', ['runs', 'replay', '1', '--dead'], /give either a run id or --dead/],
    ['an unknown state', ['runs', 'list', '--state', 'exploded'], /--state.*expected one of pending, running, succeeded, retrying, dead/],
    ['a bad time', ['runs', 'list', '--since', 'yesterday'], /--since.*expected an ISO 8601 time or epoch milliseconds/],
  ]
  describe('exits 1 with a message for a mistake', { concurrency: true }, () => {
    for (const [what, args, message] of mistakes) {
      it(what, async () => {
        const result = await storehookCli([...args, ...runs])
        assert.equal(result.code, 1)
        assert.match(result.stderr, message)
        assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace')
      })
    }
  })
})

describe('storehook start refuses a broken project', { concurrency: true }, () => {
  const SECRET_VALUE = 'TOPSECRET-do-not-print-9f2c'
  const config = (sources: string) => `import { defineConfig, env } from 'storehook'
export default defineConfig({ sources: { ${sources} } })
`
  const broken: [string, Record<string, string>, RegExp][] = [
    ['a missing config', { 'README.md': 'not a project' }, /: no storehook\.config\.ts, storehook\.config\.mjs, storehook\.config\.js found/],
    [
      'an unknown source kind',
      { 'storehook.config.ts': config(`shop: { kind: 'shopify', secret: '${SECRET_VALUE}' }`) },
      /^storehook: storehook\.config\.ts: sources\.shop\.kind: unknown kind "shopify"; expected one of [\w-]+(, [\w-]+)*$/m,
    ],
    [
      'a standard-webhooks secret without whsec_ (from .env)',
      { 'storehook.config.ts': config(`shop: { kind: 'standard-webhooks', secrets: env('SHOP_SECRET') }`), '.env': `SHOP_SECRET=${SECRET_VALUE}\n` },
      /^storehook: storehook\.config\.ts: sources\.shop\.secrets: secret 1 must start with "whsec_"$/m,
    ],
    [
      'a bad second secret in a list',
      { 'storehook.config.ts': config(`shop: { kind: 'standard-webhooks', secrets: ['${TEST_SECRET}', 'whsec_${SECRET_VALUE}!'] }`) },
      /^storehook: storehook\.config\.ts: sources\.shop\.secrets: secret 2 must be base64 after "whsec_"$/m,
    ],
    [
      'an unset environment variable',
      { 'storehook.config.ts': config(`shop: { kind: 'standard-webhooks', secrets: env('STOREHOOK_TEST_UNSET_SECRET') }`) },
      /^storehook: storehook\.config\.ts: sources\.shop\.secrets: environment variable STOREHOOK_TEST_UNSET_SECRET is not set/m,
    ],
    [
      'an action file without a default onEvent export',
      {
        'storehook.config.ts': webhooksConfig(),
        'actions/forward.ts': `import { onEvent } from 'storehook'\nexport const forward = onEvent('order.*', async () => {})\n`,
      },
      /^storehook: actions\/forward\.ts: the default export must be an action: export default onEvent\(…\) or onCron\(…\)$/m,
    ],
  ]
  for (const [what, files, message] of broken) {
    const dir = makeProject(files)
    it(`exits 1 naming the file, the field and what was expected, for ${what}`, async () => {
      const result = await storehookCli(['start', '--project', dir, '--port', '0', '--db', `sqlite:${join(dir, 'test.db')}`])
      assert.equal(result.code, 1, `${result.stdout}${result.stderr}`)
      assert.match(result.stderr, message)
      assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace')
      assert.ok(!`${result.stdout}${result.stderr}`.includes(SECRET_VALUE), 'the secret value is not printed')
      assert.doesNotMatch(result.stdout, /listening/)
    })
  }
})

describe('storehook start refuses a bad port', { concurrency: true }, () => {
  const dir = makeProject({ 'storehook.config.ts': webhooksConfig() })
  const startOn = (args: string[], env: Record<string, string> = {}) =>
    storehookCli(['start', '--project', dir, '--db', `sqlite:${join(dir, 'test.db')}`, ...args], env)

  it('exits 1 for a --port that is not a port number', async () => {
    const ports = ['70000', 'abc', '-1']
    const results = await Promise.all(ports.map((port) => startOn(['--port', port])))
    results.forEach((result, i) => {
      assert.equal(result.code, 1)
      assert.match(result.stderr, new RegExp(`--port <n>' argument '${ports[i]}' is invalid\\. expected a port number, 0–65535`))
    })
  })

  it('exits 1 for a PORT environment variable that is not a port number', async () => {
    const result = await startOn([], { PORT: '8o80' })
    assert.equal(result.code, 1)
    assert.match(result.stderr, /^storehook: PORT=8o80: expected a port number, 0–65535$/m)
  })

  it('exits 1, promptly and without a stack trace, when the port is already in use', async () => {
    const squatter = createServer()
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = squatter.address() as AddressInfo
      const result = await startOn(['--port', String(port)])
      assert.equal(result.code, 1)
      assert.match(result.stderr, new RegExp(`^storehook: --port ${port}: 127\\.0\\.0\\.1:${port} is already in use`, 'm'))
      assert.doesNotMatch(result.stderr, /^\s+at /m)
    } finally {
      squatter.close()
    }
  })
})
