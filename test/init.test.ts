/**
 * `storehook init` for every template, the way a user gets it: storehook as npm would install it
 * (a staged package — package.json, bin/, src/, templates/, and dist/ compiled here — under a
 * `node_modules` path, so Node runs the compiled code as it does for an installed package), a new
 * project made by that package's CLI, `npm install` in it against the package (`file:`, offline),
 * `npm test` passing, then `storehook start` on the project and `storehook send` of a fixture, and
 * the run succeeding with the ERP receiving the order. The templates also type-check. And the
 * refusals: an unknown template, a directory that is not empty.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startCommerceSimulator, type CommerceSimulator } from '../src/testkit/commerce-simulator.ts'
import { startErpSimulator, type ErpSimulator } from '../src/testkit/erp-simulator.ts'
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

/** What each template's project needs around it to run: the simulators it talks to, and what to send. */
interface Scenario {
  env(): Promise<Record<string, string>>
  sends: string[][]
}

let erp: ErpSimulator
let commerce: CommerceSimulator
const scenarios: Record<string, Scenario> = {
  blank: { env: async () => ({ ERP_URL: erp.url }), sends: [['webhooks']] },
  'order-to-erp': {
    env: async () => ({
      IO_EVENTS_PUBLIC_KEY_BASE_URL: `http://127.0.0.1:${await freePort()}`,
      COMMERCE_BASE_URL: `${commerce.url}/`,
      COMMERCE_CONSUMER_KEY: commerce.credentials.consumerKey,
      COMMERCE_CONSUMER_SECRET: commerce.credentials.consumerSecret,
      COMMERCE_ACCESS_TOKEN: commerce.credentials.accessToken,
      COMMERCE_ACCESS_TOKEN_SECRET: commerce.credentials.accessTokenSecret,
      ERP_URL: erp.url,
    }),
    sends: [['commerce', 'observer.sales_order_save_after']],
  },
  'commerce-layer': { env: async () => ({ ERP_URL: erp.url }), sends: [['cl', 'orders.place'], ['price']] },
  'app-builder': { env: async () => ({ IO_EVENTS_PUBLIC_KEY_BASE_URL: `http://127.0.0.1:${await freePort()}`, ERP_URL: erp.url }), sends: [['io-events']] },
}

/** Each template's project, written and installed before the tests (concurrently). */
const projects = new Map<string, string>()
let packageDir: string

before(async () => {
  ;[erp, commerce] = await Promise.all([startErpSimulator(), startCommerceSimulator()])
  commerce.seedOrder({ entity_id: 42 }) // the order of the observer.sales_order_save_after fixture
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

after(async () => {
  await Promise.all([erp?.close(), commerce?.close()])
})

describe('storehook init, for each template', { concurrency: true }, () => {
  for (const template of TEMPLATES) {
    it(`${template}: npm test passes; storehook start runs it; storehook send's run succeeds`, { timeout: 180_000 }, async () => {
      const dir = projects.get(template)!
      const tested = await succeed('npm', ['test'], { cwd: dir, timeoutMs: 120_000 })
      // The spec reporter's summary (tap's, `# pass`, on a Node that defaults to it).
      assert.match(tested, /^(ℹ|#) pass [1-9]\d*$/m)
      assert.match(tested, /^(ℹ|#) fail 0$/m)

      const scenario = scenarios[template]!
      const env = await scenario.env()
      const bin = join(dir, 'node_modules', '.bin', 'storehook')
      const server = spawn(process.execPath, [bin, 'start', '--port', '0', '--db', `sqlite:${join(dir, '.storehook', 'test.db')}`], {
        cwd: dir,
        env: commandEnv(env),
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      children.add(server)
      let output = ''
      server.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`storehook start did not listen within 30 s\n${output}`)), 30_000)
        server.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8')
          const found = /storehook listening on (http:\/\/\S+)/.exec(output)
          if (found) {
            clearTimeout(timer)
            resolve(found[1]!)
          }
        })
        server.once('exit', (code) => reject(new Error(`storehook start exited ${code}\n${output}`)))
      })
      try {
        for (const args of scenario.sends) {
          const sent = await succeed(process.execPath, [bin, 'send', ...args, '--url', url], { cwd: dir, env })
          const [, answer, runLine] = sent.split('\n')
          assert.match(answer!, /^← 200 /, sent)
          if (args[0] === 'price') continue // an external resource: its answer is the outcome
          assert.match(runLine!, /^run \d+ \S+: succeeded /, sent)
          const eventId = /event (\S+)\)$/m.exec(sent)![1]!
          // Idempotency keys hold the event id URI-encoded (a Commerce Layer id has slashes).
          assert.ok(erp.accepted().some((d) => d.idempotencyKey?.includes(encodeURIComponent(eventId))), `the ERP received the order of event ${eventId}`)
        }
      } finally {
        server.kill('SIGTERM')
        await new Promise((resolve) => (server.exitCode === null ? server.once('exit', resolve) : resolve(null)))
      }
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
