/**
 * The developer's loop for every template, the way a user gets it: storehook as npm would install
 * it (a staged package — package.json, bin/, src/, templates/, and dist/ compiled here — under a
 * `node_modules` path, so Node runs the compiled code as it does for an installed package), a new
 * project made by that package's CLI, `npm install` in it against the package (`file:`, offline),
 * `npm test` passing, then `storehook dev --simulators` serving the project and `storehook send`
 * of a bundled fixture whose run succeeds (or, for an external resource, whose answer is 200),
 * read from send's `--json` report and from what dev's ERP simulator printed. The templates also
 * type-check. And the refusals: an unknown template, a directory that is not empty.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { REPO_ROOT } from './helpers.ts'

const TEMPLATES = ['blank', 'order-to-erp', 'commerce-layer', 'app-builder']
const BIN = join(REPO_ROOT, 'node_modules', '.bin')
const work = mkdtempSync(join(tmpdir(), 'storehook-init-'))
const children = new Set<ChildProcess>()
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  rmSync(work, { recursive: true, force: true })
})

/** The environment of every command: Node 24 first on PATH (npm runs scripts with it), nothing of this test runner's. */
function commandEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${BIN}${delimiter}${process.env.PATH ?? ''}`, LOG_LEVEL: 'warn', ...extra }
  for (const name of Object.keys(env)) {
    // npm_* from an outer `npm test` would configure the inner npm; NODE_TEST_CONTEXT would make
    // the project's `node --test` report to this runner instead of printing.
    if (name.startsWith('npm_') || ['NODE_TEST_CONTEXT', 'NODE_OPTIONS', 'STOREHOOK_ADMIN_TOKEN', 'STOREHOOK_DB', 'STOREHOOK_URL', 'PORT'].includes(name)) {
      if (!(name in extra)) delete env[name]
    }
  }
  return env
}

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command to completion, whatever its exit code. */
function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<Result> {
  const child = spawn(command, args, { cwd: options.cwd, env: commandEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const timeoutMs = options.timeoutMs ?? 60_000
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}${stderr}`))
    }, timeoutMs)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

async function succeed(command: string, args: string[], options: Parameters<typeof run>[2]): Promise<string> {
  const result = await run(command, args, options)
  assert.equal(result.code, 0, `${command} ${args.join(' ')} in ${options.cwd} exited ${result.code}\n${result.stdout}\n${result.stderr}`)
  return result.stdout
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * storehook as `npm install storehook` leaves it: what package.json `files` ships (and the
 * templates), dist/ compiled from src/, its dependencies beside it (linked to this repo's).
 */
async function stagePackage(): Promise<string> {
  const root = join(work, 'registry', 'node_modules', 'storehook')
  mkdirSync(root, { recursive: true })
  cpSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'))
  for (const dir of ['bin', 'templates']) cpSync(join(REPO_ROOT, dir), join(root, dir), { recursive: true })
  cpSync(join(REPO_ROOT, 'src'), join(root, 'src'), { recursive: true, filter: (path) => !path.endsWith('.test.ts') })
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir')
  // As `npm run build` (prepack) does. Its exit code is not ours to judge: a type error elsewhere
  // in src/ still emits, and `npm test` type-checks everything anyway.
  await run(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', join(root, 'dist')], { cwd: REPO_ROOT, timeoutMs: 120_000 })
  assert.ok(existsSync(join(root, 'dist', 'cli', 'main.js')) && existsSync(join(root, 'dist', 'testkit', 'index.js')), 'tsc did not emit dist/')
  return root
}

/**
 * What `storehook send` fires at each template's project under `storehook dev --simulators`: a
 * bundled fixture of the platform the template serves. Every template calls an ERP, and
 * order-to-erp calls Adobe Commerce too (order 42, which the simulator knows): `--simulators`
 * plays them. Adobe I/O Events is played by `send` itself, which serves the keys it signs with at
 * IO_EVENTS_PUBLIC_KEY_BASE_URL: a free port here, as templates run side by side.
 */
const scenarios: Record<string, { ioEvents?: boolean; sends: string[][] }> = {
  blank: { sends: [['webhooks', 'order.created']] },
  'order-to-erp': { ioEvents: true, sends: [['commerce', 'observer.sales_order_save_after']] },
  // Both halves of the template: the webhook its action consumes, and its external resource.
  'commerce-layer': { sends: [['cl', 'orders.place'], ['price']] },
  'app-builder': { ioEvents: true, sends: [['io-events', 'observer.sales_order_save_after']] },
}

/** Each template's project, written and installed before the tests (concurrently). */
const projects = new Map<string, string>()
let packageDir: string

before(async () => {
  packageDir = await stagePackage()
  const cli = join(packageDir, 'bin', 'storehook.js')
  await Promise.all(
    TEMPLATES.map(async (template) => {
      const dir = join(work, 'projects', template)
      await succeed(process.execPath, [cli, 'init', dir, '--template', template, '--storehook', `file:${packageDir}`], { cwd: work })
      await succeed('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, timeoutMs: 120_000 })
      projects.set(template, dir)
    }),
  )
})

interface Dev {
  url: string
  lines: string[]
  /** Whether dev printed a line matching `pattern` within `timeoutMs` (its output comes through a pipe, after the fact). */
  printed(pattern: RegExp, timeoutMs?: number): Promise<boolean>
  stop(): Promise<number | null>
}

/** `storehook dev --simulators` in the project, as a developer starts it; resolves once it serves. */
async function startDev(dir: string, env: Record<string, string>): Promise<Dev> {
  const bin = join(dir, 'node_modules', '.bin', 'storehook')
  const child = spawn(process.execPath, [bin, 'dev', '--port', '0', '--simulators'], { cwd: dir, env: commandEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const lines: string[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line))
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(`[stderr] ${line}`))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const deadline = Date.now() + 60_000
  // The simulators' variables are printed last, after the banner: then it serves, and dev.json is written.
  while (!lines.some((line) => line.startsWith('  ERP_URL='))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`storehook dev did not start within 60 s\n${lines.join('\n')}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const url = /^storehook listening on (http:\/\/\S+)$/m.exec(lines.join('\n'))![1]!
  return {
    url,
    lines,
    async printed(pattern, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs
      while (!lines.some((line) => pattern.test(line))) {
        if (Date.now() > until) return false
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      return true
    },
    stop() {
      child.kill('SIGTERM')
      return exited
    },
  }
}

/** `storehook send --json`'s report (the fields this test reads). */
interface SendReport {
  outcome: string
  exitCode: number
  answer: { status: number; body: any }
  runs?: { id: number; action: string; state: string; eventId: string; dashboard: string }[]
}

describe('storehook init, for each template', { concurrency: true }, () => {
  for (const template of TEMPLATES) {
    it(`${template}: npm test passes; under storehook dev, storehook send's run succeeds`, { timeout: 180_000 }, async () => {
      const dir = projects.get(template)!
      const tested = await succeed('npm', ['test'], { cwd: dir, timeoutMs: 120_000 })
      // The spec reporter's summary (tap's, `# pass`, on a Node that defaults to it).
      assert.match(tested, /^(ℹ|#) pass [1-9]\d*$/m)
      assert.match(tested, /^(ℹ|#) fail 0$/m)

      const scenario = scenarios[template]!
      // The same for dev and send, as in a developer's shell.
      const env: Record<string, string> = scenario.ioEvents ? { IO_EVENTS_PUBLIC_KEY_BASE_URL: `http://127.0.0.1:${await freePort()}` } : {}
      const dev = await startDev(dir, env)
      let exitCode: number | null
      try {
        for (const args of scenario.sends) {
          // No --url: send finds the running dev through .storehook/dev.json, as it does for a developer.
          const sent = await run(process.execPath, [join(dir, 'node_modules', '.bin', 'storehook'), 'send', ...args, '--json'], { cwd: dir, env })
          const report = JSON.parse(sent.stdout) as SendReport
          const shown = `${sent.stdout}${sent.stderr}\n--- storehook dev:\n${dev.lines.join('\n')}`
          assert.equal(sent.code, 0, shown)
          assert.equal(report.answer.status, 200, shown)
          if (args[0] === 'price') {
            // An external resource: its answer is the outcome. The template's price list has the fixture's SKU.
            assert.equal(report.outcome, 'answered')
            assert.equal(typeof report.answer.body.data.unit_amount_cents, 'number', shown)
            continue
          }
          assert.equal(report.outcome, 'succeeded', shown)
          const [run1, ...more] = report.runs!
          assert.equal(more.length, 0, shown)
          assert.equal(run1!.state, 'succeeded', shown)
          assert.equal(run1!.dashboard, `${dev.url}/admin/runs/${run1!.id}`)
          // The ERP simulator dev started got the order, keyed by the event (Commerce Layer's ids have slashes: URI-encoded).
          const key = new RegExp(`^\\[erp\\] POST /orders Idempotency-Key: \\S*${escapeRegExp(encodeURIComponent(run1!.eventId))} -> 200 `)
          assert.ok(await dev.printed(key), `the ERP received the order of event ${run1!.eventId}\n${shown}`)
        }
      } finally {
        exitCode = await dev.stop()
      }
      assert.equal(exitCode, 0, `storehook dev stops cleanly on SIGTERM\n${dev.lines.join('\n')}`)
    })
  }

  it('writes type-correct TypeScript in every template', { timeout: 120_000 }, async () => {
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        extends: join(REPO_ROOT, 'tsconfig.json'),
        compilerOptions: { typeRoots: [join(REPO_ROOT, 'node_modules', '@types')], noEmit: true },
        include: ['projects/*/**/*.ts', 'projects/*/**/*.mts'],
        exclude: ['projects/*/node_modules'],
      }),
    )
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    const result = await run(process.execPath, [tsc, '-p', join(work, 'tsconfig.json'), '--listFiles'], { cwd: work, timeoutMs: 120_000 })
    for (const template of TEMPLATES) assert.match(result.stdout, new RegExp(`projects/${template}/test/[^/]+\\.test\\.m?ts$`, 'm'), `tsc did not check ${template}\n${result.stdout}`)
    // Only the templates' own files are judged here; storehook's sources are type-checked by `npm test`.
    const problems = result.stdout.split('\n').filter((line) => /^projects\/[^/]+\/(?!node_modules\/)\S+\(\d+,\d+\): error/.test(line))
    assert.deepEqual(problems, [])
    assert.doesNotMatch(result.stdout, /error TS(5\d{3}|18003)/, 'the tsconfig itself is wrong')
  })
})

describe('storehook init, refusing', () => {
  const cli = join(REPO_ROOT, 'bin', 'storehook.js')

  it('writes dotfiles, a named package.json and fresh secrets; the default template is blank', async () => {
    const first = join(work, 'My Shop')
    const second = join(work, 'other')
    const out = await succeed(process.execPath, [cli, 'init', first], { cwd: work })
    await succeed(process.execPath, [cli, 'init', second], { cwd: work })
    assert.match(out, /from the blank template/)
    assert.deepEqual(readdirSync(first).sort(), ['.env', '.env.example', '.gitignore', 'README.md', 'actions', 'package.json', 'storehook.config.ts', 'test'])
    const pkg = JSON.parse(readFileSync(join(first, 'package.json'), 'utf8'))
    assert.equal(pkg.name, 'my-shop')
    assert.equal(pkg.dependencies.storehook, `^${JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version}`)
    const secret = (dir: string) => /^WEBHOOK_SECRET=(whsec_[A-Za-z0-9+/]+=*)$/m.exec(readFileSync(join(dir, '.env'), 'utf8'))?.[1]
    assert.ok(secret(first))
    assert.notEqual(secret(first), secret(second))
    assert.match(readFileSync(join(first, '.gitignore'), 'utf8'), /^\.env$/m)
  })

  it('refuses a directory that is not empty, and writes nothing there', async () => {
    const dir = join(work, 'taken')
    mkdirSync(dir)
    writeFileSync(join(dir, 'notes.txt'), 'mine')
    const result = await run(process.execPath, [cli, 'init', dir, '--template', 'order-to-erp'], { cwd: work })
    assert.equal(result.code, 1)
    assert.match(result.stderr, /is not empty \(notes\.txt\); choose a new directory, or add --force/)
    assert.deepEqual(readdirSync(dir), ['notes.txt'])
  })

  it('writes into it with --force, keeping an existing .env; a directory holding only .git counts as empty', async () => {
    const dir = join(work, 'forced')
    mkdirSync(dir)
    writeFileSync(join(dir, '.env'), 'ERP_URL=https://erp.example.com\n')
    await succeed(process.execPath, [cli, 'init', dir, '--template', 'commerce-layer', '--force'], { cwd: work })
    assert.equal(readFileSync(join(dir, '.env'), 'utf8'), 'ERP_URL=https://erp.example.com\n')
    assert.ok(existsSync(join(dir, 'external', 'price.ts')))
    const git = join(work, 'git')
    mkdirSync(join(git, '.git'), { recursive: true })
    await succeed(process.execPath, [cli, 'init', git], { cwd: work })
  })

  it('refuses an unknown template, naming the ones there are', async () => {
    const result = await run(process.execPath, [cli, 'init', join(work, 'x'), '--template', 'shopify'], { cwd: work })
    assert.equal(result.code, 1)
    assert.match(result.stderr, /choose one of app-builder, blank, commerce-layer, order-to-erp/)
    assert.equal(existsSync(join(work, 'x')), false)
  })
})

describe('the npm package', () => {
  it('ships the templates init copies (package.json "files")', () => {
    const { files } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[] }
    assert.ok(files.includes('templates'), `package.json files is ${JSON.stringify(files)}: add "templates", or storehook init finds no template once installed from npm`)
    assert.ok(files.includes('src'), 'the fixtures of storehook send are under src/cli/fixtures')
  })
})

/** `text` as a regular expression matching itself. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
