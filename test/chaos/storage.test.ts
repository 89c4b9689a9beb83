/**
 * The fault suite on durability at CI size: SQLite read-only at restart and (where this process may
 * mount a tmpfs) disk full while running; PostgreSQL stopped and started twice under load. While
 * the store cannot make an event durable the answer is 503, never a 2xx; every event that did get
 * a 2xx is delivered afterwards. See storage.ts for how the faults are made.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
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

test('PostgreSQL stopped and started under load: no 2xx while down, every acknowledged event delivered', { timeout: 120_000 }, async (t) => {
  const result = await postgresRestartCase({ senders: 2, restarts: 2, downMs: 1500 })
  t.diagnostic(summary(result))
  assertKept(result)
  assert.equal(result.faults, 2)
  assert.ok(result.acknowledged > 0)
  assert.ok((result.rejected[503] ?? 0) > 0, 'events sent while the server was down were refused with 503')
  assert.deepEqual(Object.keys(result.rejected).filter((s) => s !== '503'), [], 'the only refusal is 503')
})
