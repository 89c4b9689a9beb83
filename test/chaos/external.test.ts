/**
 * External resources under load with handlers that hang, throw or block their event loop
 * (Commerce Layer `price` on handler threads): every answer is a well-formed envelope (200 with
 * the fallback) and none comes after the platform's 3 s; each blocked thread is replaced.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertKept, summary } from './assert.ts'
import { externalDeadlineCase } from './external.ts'

test('price handlers that hang, throw or block under load still answer before the platform gives up', { timeout: 90_000 }, async (t) => {
  const result = await externalDeadlineCase({ calls: 150, concurrency: 10, deadlineMs: 500, blockEvery: 50 })
  t.diagnostic(summary(result))
  t.diagnostic(result.notes.join('; '))
  assertKept(result)
  assert.equal(result.blocked, 3)
  assert.ok(result.faults >= 100)
  assert.equal(result.acknowledged, 150, 'every call answered 200 (the handler\'s answer or the fallback)')
  assert.ok(result.p50 < 3000 && result.max < 3000)
  // A blocking call that waited behind blocked threads until its deadline never ran: at least one did.
  assert.ok(result.threadsReplaced >= 1 && result.threadsReplaced <= result.blocked, `${result.threadsReplaced} threads replaced`)
})
