/**
 * The CLI reference and the CLI's conventions, checked against the real command:
 * - docs/cli.md holds the `--help` of every command the program registers (found by asking the
 *   CLI, so a new command is covered without editing this test), verbatim;
 * - every command's help ends with examples, and every command that reads offers `--json`;
 * - the exit codes docs/cli.md lists are the ones the CLI ends with;
 * - a bulk replay shows its progress on stderr and leaves stdout to the result, and `db copy
 *   --json` prints its report alone.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { before, describe, it } from 'node:test'
import { CLI_DOC, collectHelp, problems, rewrite, type CommandHelp } from '../scripts/cli-docs.ts'
import { randomUUID } from 'node:crypto'
import { replayDeadWithProgress } from '../src/cli/runs.ts'
import { openStore } from '../src/store/open.ts'
import { startPostgres } from './postgres-cluster.ts'
import { REPO_ROOT, eventually, makeProject, sendEvent, start, webhooksConfig } from './helpers.ts'

const CLI = join(REPO_ROOT, 'bin', 'storehook.js')

/** Runs `storehook <args>` to completion, whatever its exit code. */
function storehookCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of ['NODE_TEST_CONTEXT', 'NODE_OPTIONS', 'STOREHOOK_ADMIN_TOKEN', 'STOREHOOK_DB', 'STOREHOOK_HOST', 'PORT']) delete env[name]
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
}

describe('docs/cli.md', () => {
  let helps: CommandHelp[]
  before(async () => {
    helps = await collectHelp()
  })

  it('finds the commands by asking the CLI, subcommands included', () => {
    const commands = helps.map((h) => h.command)
    for (const expected of ['storehook', 'storehook start', 'storehook dev', 'storehook runs list', 'storehook runs replay', 'storehook db copy', 'storehook simulate commerce-layer']) {
      assert.ok(commands.includes(expected), `${expected} in ${commands.join(', ')}`)
    }
    assert.ok(!commands.some((c) => c.endsWith(' help')), "commander's own help command is not a section")
  })

  it("holds every command's --help verbatim", () => {
    const found = problems(readFileSync(CLI_DOC, 'utf8'), helps)
    assert.deepEqual(found, [], `docs/cli.md is out of step with the CLI:\n${found.join('\n')}\nRegenerate it: node scripts/cli-docs.ts --write`)
  })

  it('can be regenerated: --write fills stale blocks, adds new commands and drops gone ones, keeping the prose', () => {
    const doc = readFileSync(CLI_DOC, 'utf8')
    const stale = doc
      .replace(/(<!-- help: storehook migrate -->\n```text\n)[\s\S]*?\n```/, '$1outdated\n```')
      .replace(/## `storehook db copy`[\s\S]*?(?=## `storehook simulate`)/, '')
      .replace('<!-- end of commands -->', '## `storehook gone`\n\n<!-- help: storehook gone -->\n```text\nUsage: storehook gone\n```\n\n<!-- end of commands -->')
    assert.equal(problems(stale, helps).length, 3)
    const rewritten = rewrite(stale, helps)
    assert.deepEqual(problems(rewritten, helps), [])
    assert.ok(rewritten.includes('## Exit codes'), 'the prose is kept')
    assert.ok(rewritten.includes('## `storehook db copy`\n\n<!-- help: storehook db copy -->'), 'a new command gets a section')
    assert.ok(!rewritten.includes('storehook gone'), "a gone command's section goes")
    assert.equal(rewrite(doc, helps), doc, 'an up-to-date doc is left as it is')
  })

  it('ends every command’s --help with examples', () => {
    const without = helps.filter((h) => h.command !== 'storehook' && !/\nExamples:\n {2}\S/.test(h.help)).map((h) => h.command)
    assert.deepEqual(without, [], 'commands whose --help has no Examples section')
  })

  it('offers --json on every command that reads', () => {
    for (const command of ['storehook runs list', 'storehook runs show', 'storehook runs replay', 'storehook migrate', 'storehook db copy']) {
      assert.match(helps.find((h) => h.command === command)!.help, /^ {2}--json\b/m, command)
    }
  })
})

describe('the CLI conventions docs/cli.md promises', () => {
  // A store with dead runs: every event's run fails for good on its first attempt.
  const project = makeProject({
    'storehook.config.ts': webhooksConfig('worker: { pollIntervalMs: 50 },'),
    'actions/refuse.ts': `import { onEvent, PermanentError } from 'storehook'
export default onEvent('order.*', async () => { throw new PermanentError('refused for the test') })
`,
  })
  before(async () => {
    const storehook = await start({ project })
    for (const type of ['order.sliced', 'order.sliced', 'order.sliced', 'order.sliced', 'order.sliced', 'order.cli', 'order.cli', 'order.cli']) {
      assert.equal((await sendEvent(storehook.url, { type })).status, 200)
      // Distinct creation times, so the slices below have places to cut.
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await eventually(async () => (await storehook.runtime.store.listRuns({ state: 'dead' })).length === 8, 10_000, 'eight dead runs')
    await storehook.close()
  })

  it('exits 0 with one JSON document on stdout, and progress on stderr, for a bulk replay', async () => {
    const result = await storehookCli(['runs', 'replay', '--dead', '--type', 'order.cli', '--json', '--project', project])
    assert.equal(result.code, 0, result.stderr)
    const replayed = JSON.parse(result.stdout) as { replayOf: number; state: string }[]
    assert.equal(replayed.length, 3)
    assert.ok(replayed.every((run) => run.state === 'pending'))
    assert.match(result.stderr, /^replaying dead runs: 3\/3 \(100%\), 3 replayed$/m, 'plain progress lines when stderr is not a terminal')
  })

  it('replays in slices with the same result as one call, each dead run once', async () => {
    const store = await openStore(undefined, { projectDir: project })
    try {
      const dead = (await store.listRuns({ state: 'dead', type: 'order.sliced' })).map((r) => r.id).sort((a, b) => a - b)
      const lines: string[] = []
      const stream = new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk))
          done()
        },
      }) as unknown as NodeJS.WriteStream
      const replayed = await replayDeadWithProgress(store, { type: 'order.sliced' }, { batch: 2, stream })
      assert.deepEqual(replayed.map((r) => r.replayOf).sort((a, b) => a! - b!), dead)
      assert.ok(lines.length >= 3, `progress moved slice by slice: ${lines.join('')}`)
      assert.match(lines.at(-1)!, /^replaying dead runs: 5\/5 \(100%\), 5 replayed\n$/)
      assert.deepEqual(await replayDeadWithProgress(store, { type: 'order.sliced' }, { batch: 2, stream }), [], 'a second bulk replay finds nothing left')
    } finally {
      await store.close()
    }
  })

  it('prints the db copy report as one JSON document with --json, the per-table lines on stderr', { timeout: 60_000 }, async () => {
    const server = await startPostgres()
    try {
      const schema = `cli_docs_${randomUUID().slice(0, 8)}`
      const result = await storehookCli(['db', 'copy', '--project', project, '--to', `${server.url}${server.url.includes('?') ? '&' : '?'}schema=${schema}`, '--json'])
      assert.equal(result.code, 0, result.stderr)
      const report = JSON.parse(result.stdout) as { tables: { table: string; rows: number; copied: number }[]; sequences: { column: string }[] }
      assert.deepEqual(report.tables.find((t) => t.table === 'events'), { table: 'events', rows: 8, copied: 8 })
      assert.ok(report.sequences.some((s) => s.column === 'runs.id'))
      assert.match(result.stderr, /^ {2}events\s+8 rows$/m)
    } finally {
      await server.stop()
    }
  })

  describe('exit codes', { concurrency: true }, () => {
    it('1, with a one-line message, for an unknown option', async () => {
      const result = await storehookCli(['runs', 'list', '--bogus'])
      assert.equal(result.code, 1)
      assert.match(result.stderr, /^error: unknown option '--bogus'$/m)
    })

    it('1, without a stack trace, for a run that does not exist', async () => {
      const result = await storehookCli(['runs', 'show', '987654', '--project', project])
      assert.equal(result.code, 1)
      assert.match(result.stderr, /^storehook: run 987654 does not exist in this store$/m)
      assert.doesNotMatch(result.stderr, /^\s+at /m)
    })

    it('2, with the stack trace, when the database cannot be reached', async () => {
      const result = await storehookCli(['migrate', '--db', 'postgres://storehook@127.0.0.1:1/nothing'])
      assert.equal(result.code, 2)
      assert.match(result.stderr, /cannot reach PostgreSQL at 127\.0\.0\.1:1\/nothing/)
      assert.match(result.stderr, /^\s+at /m)
    })

    it('0 for --help', async () => {
      const result = await storehookCli(['dev', '--help'])
      assert.equal(result.code, 0)
      assert.match(result.stdout, /^Usage: storehook dev \[options\]/)
    })
  })
})
