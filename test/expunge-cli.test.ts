/**
 * `storehook expunge` as users run it (`bin/storehook.js` in a child process) on a SQLite file:
 * a dry run with progress on stderr and one JSON document on stdout, the refusal to change data
 * without --yes where nobody can confirm, the expunge itself, its audit record in --list, the
 * exit codes of bad input, and `runs replay` refusing a run whose payload is gone.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import { eventWithRun } from '../src/store/contract-fixtures.ts'
import { subjectDigest } from '../src/store/expunge-subject.ts'
import { openStore } from '../src/store/open.ts'
import { REPO_ROOT } from './helpers.ts'

const CLI = join(REPO_ROOT, 'bin', 'storehook.js')
const dir = mkdtempSync(join(tmpdir(), 'storehook-expunge-cli-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const db = `sqlite:${join(dir, 'store.db')}`

/** Runs `storehook <args>` to completion (stdin not a terminal), whatever its exit code. */
async function storehook(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of ['NODE_TEST_CONTEXT', 'NODE_OPTIONS', 'STOREHOOK_DB']) delete env[name]
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args, '--db', db], { cwd: REPO_ROOT, env, timeout: 30_000 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

async function withStore<T>(body: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  const store = await openStore(db, { projectDir: dir })
  try {
    return await body(store)
  } finally {
    await store.close()
  }
}

describe('storehook expunge', () => {
  let ann: { id: string; runId: number }
  let bob: { id: string; runId: number }
  before(() =>
    withStore(async (store) => {
      ann = await eventWithRun(store, 'a', { outcome: 'dead', error: new Error('ERP refused') }, { customer: { email: 'ann.lee@example.com' } })
      bob = await eventWithRun(store, 'a', { outcome: 'succeeded' }, { customer: { email: 'bob@example.com' } })
    }))

  it('reports what a dry run would remove as one JSON document, with progress on stderr', async () => {
    const result = await storehook('expunge', '--customer-email', 'Ann.Lee@example.com', '--dry-run', '--json')
    assert.equal(result.code, 0, result.stderr)
    const report = JSON.parse(result.stdout)
    assert.deepEqual([report.dryRun, report.id, report.removed.counts.events, report.removed.events], [true, null, 1, [{ source: 'shop', id: ann.id }]])
    assert.match(result.stderr, /^searching the store: 8\/8 \(100%\)/m)
    assert.ok(!result.stdout.includes('ann.lee'), 'the answer holds the digest, not the email')
  })

  it('refuses to change data without --yes when nobody can confirm, and changes nothing', async () => {
    const result = await storehook('expunge', '--customer-email', 'ann.lee@example.com')
    assert.equal(result.code, 1)
    assert.match(result.stderr, /^storehook: expunge: removing data needs a confirmation; pass --yes/m)
    assert.deepEqual(await withStore(async (store) => (await store.getEvent('shop', ann.id))!.payload), { customer: { email: 'ann.lee@example.com' } })
  })

  it('expunges with --yes, records it, lists it, and finds nothing the second time', async () => {
    const result = await storehook('expunge', '--customer-email', 'ann.lee@example.com', '--yes')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /^expunged this customer-email \(digest [0-9a-f]{12}…\): audit record #1$/m)
    assert.match(result.stdout, /^ +1 event payloads removed$/m)
    await withStore(async (store) => {
      assert.deepEqual((await store.getEvent('shop', ann.id))!.payload, {})
      assert.deepEqual((await store.getEvent('shop', bob.id))!.payload, { customer: { email: 'bob@example.com' } })
    })

    const listed = await storehook('expunge', '--list', '--json')
    assert.equal(listed.code, 0, listed.stderr)
    const [record] = JSON.parse(listed.stdout)
    assert.deepEqual([record.id, record.requestedBy, record.subjectDigest], [1, 'cli', subjectDigest({ kind: 'customer-email', value: 'ann.lee@example.com' })])
    assert.match((await storehook('expunge', '--list', '--customer-email', 'ANN.LEE@example.com')).stdout, /^1 +\S+ +cli +customer-email /m)
    assert.equal((await storehook('expunge', '--list', '--customer-email', 'bob@example.com')).stdout.trim(), 'no expunge of this subject is recorded')

    const again = await storehook('expunge', '--customer-email', 'ann.lee@example.com', '--yes')
    assert.match(again.stdout, /audit record #2\n {2}nothing found$/m)
  })

  it('refuses to replay a run whose payload was expunged, as the user\'s mistake', async () => {
    const result = await storehook('runs', 'replay', String(ann.runId))
    assert.equal(result.code, 1)
    assert.match(result.stderr, new RegExp(`^storehook: run ${ann.runId} cannot be replayed: its event's payload was removed on `, 'm'))
  })

  it('answers bad input with exit code 1 and one line, never repeating the subject', async () => {
    for (const [args, message] of [
      [['--customer-email', 'not-an-email'], /expected one address/],
      [['--customer-email', 'a@b.c', '--order-id', '42'], /not both/],
      [[], /give --customer-email or --order-id/],
      [['--order-id', '4 2'], /order id: expected/],
    ] as const) {
      const result = await storehook('expunge', ...args, '--dry-run')
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, message)
      assert.ok(!result.stderr.includes('not-an-email') && !result.stderr.includes(' at '), result.stderr)
    }
  })
})
