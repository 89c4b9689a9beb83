/**
 * The fault suite on the event path at CI size: `kill -9` of the runtime under load, and an ERP
 * that is down, slow, or answering 500/429 for a while. Nothing acknowledged may be lost, and no
 * event may reach the ERP twice under different Idempotency-Keys. `bench/chaos.ts` runs the same
 * cases larger. Sizes: CHAOS_SEED replays the kill timing.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { erpFaultCase, killNineCase } from './cases.ts'
import { commerceFaultCase } from './commerce.ts'
import { assertKept, summary } from './assert.ts'

test('kill -9 at random moments under load loses no acknowledged event', { timeout: 120_000 }, async (t) => {
  const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const result = await killNineCase({ cycles: 4, senders: 3, seed })
  t.diagnostic(summary(result))
  assertKept(result)
  assert.equal(result.faults, 4)
  assert.ok(result.acknowledged > 0, 'no event was acknowledged at all')
  assert.ok(result.runs >= result.acknowledged, `only ${result.runs} runs finished for ${result.acknowledged} acknowledged events`)
})

test('an ERP down, slower than its timeout, answering 500 then 429 still gets every event once per key', { timeout: 120_000 }, async (t) => {
  const result = await erpFaultCase({ events: 120, senders: 3, faultMs: 1200 })
  t.diagnostic(summary(result))
  assertKept(result)
  assert.equal(result.acknowledged, 120, 'the store was healthy: every event is acknowledged')
  assert.ok(result.erpRequests > result.delivered, 'the faults were met: some ERP requests failed')
  assert.equal(result.runs, 120)
})

test('the Commerce callback failing, slow and rate-limited: every order reaches the ERP once per key', { timeout: 120_000 }, async (t) => {
  const result = await commerceFaultCase({ orders: 20, faultCalls: 3 })
  t.diagnostic(summary(result))
  assertKept(result)
  assert.equal(result.acknowledged, 20)
  assert.equal(result.delivered, 20)
  assert.equal(result.runs, 20)
})
