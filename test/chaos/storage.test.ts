/**
 * The fault suite on durability at CI size: SQLite read-only at restart and (where this process may
 * mount a tmpfs) disk full while running; read-only by chmod with storehook as a non-root user
 * (when the suite runs as root, which otherwise takes the tmpfs path); PostgreSQL stopped and started twice under load. While
 * the store cannot make an event durable the answer is 503, never a 2xx; every event that did get
 * a 2xx is delivered afterwards. See storage.ts for how the faults are made.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { userInfo } from 'node:os'
import { test } from 'node:test'
import { REPO_ROOT } from '../helpers.ts'
import { assertKept, summary } from './assert.ts'
import { postgresRestartCase } from './postgres.ts'
import { storageFaultCase } from './storage.ts'

test('SQLite read-only or full: 503 instead of a 2xx, and nothing acknowledged is lost', { timeout: 90_000 }, async (t) => {
  const result = await storageFaultCase({ senders: 2, faultMs: 1500 })
  t.diagnostic(summary(result))
  if (result.faults === 0) return t.skip(result.notes.join('; '))
  assertKept(result)
  assert.ok(result.acknowledged > 0)
  assert.ok((result.rejected[503] ?? 0) > 0 || result.notes.some((n) => /refused to start/.test(n)), 'the faults were met: some events were refused')
  assert.deepEqual(Object.keys(result.rejected).filter((s) => s !== '503'), [], 'the only refusal is 503')
  if (!result.diskFullRan) t.diagnostic('disk full was not run: this process may not mount a tmpfs')
})

const NOBODY = { uid: 65534, gid: 65534 }

/** Why `user` cannot start storehook from this checkout (a parent directory closed to it), or null. */
function cannotRunAs(user: { uid: number; gid: number }): string | null {
  try {
    execFileSync(process.execPath, ['-e', `require('node:fs').accessSync(${JSON.stringify(join(REPO_ROOT, 'bin/storehook.js'))})`], { ...user, stdio: 'pipe' })
    return null
  } catch (error) {
    return String((error as { stderr?: Buffer }).stderr ?? error).split('\n').find((line) => /Error|EACCES/.test(line)) ?? String(error)
  }
}

test('SQLite read-only by chmod, storehook as a user chmod binds: 503 instead of a 2xx, nothing acknowledged lost', { timeout: 90_000 }, async (t) => {
  // As root, the case above meets read-only on a remounted tmpfs; this is the path of a machine
  // without mount rights. As non-root, the case above already took it.
  if (userInfo().uid !== 0) return t.skip('the case above ran read-only by chmod already (not root)')
  const unreadable = cannotRunAs(NOBODY)
  if (unreadable) return t.skip(`uid ${NOBODY.uid} cannot run storehook from this checkout: ${unreadable}`)
  const result = await storageFaultCase({ senders: 2, faultMs: 1500 }, { user: NOBODY })
  t.diagnostic(summary(result))
  assertKept(result)
  assert.equal(result.faults, 1)
  assert.ok(result.acknowledged > 0)
  assert.ok((result.rejected[503] ?? 0) > 0 || result.notes.some((n) => /refused to start/.test(n)), 'the fault was met: some events were refused, or storehook would not start on it')
  assert.deepEqual(Object.keys(result.rejected).filter((s) => s !== '503'), [], 'the only refusal is 503')
})

test('PostgreSQL stopped and started under load: no 2xx while down, every acknowledged event delivered', { timeout: 120_000 }, async (t) => {
  const result = await postgresRestartCase({ senders: 2, restarts: 2, downMs: 1500 })
  t.diagnostic(summary(result))
  assertKept(result)
  assert.equal(result.faults, 2)
  assert.ok(result.acknowledged > 0)
  assert.ok((result.rejected[503] ?? 0) > 0, 'events sent while the server was down were refused with 503')
  assert.deepEqual(Object.keys(result.rejected).filter((s) => s !== '503'), [], 'the only refusal is 503')
})
