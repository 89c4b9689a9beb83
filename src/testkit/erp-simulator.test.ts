import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startErpSimulator } from './erp-simulator.ts'

describe('ErpSimulator failure scripts', () => {
  test('failFirst(n) fails exactly the next n requests; downFor(ms) recovers by itself', async () => {
    const erp = await startErpSimulator()
    try {
      erp.failFirst(2, 500)
      const statuses = []
      for (let i = 0; i < 3; i++) statuses.push((await fetch(erp.url, { method: 'POST' })).status)
      assert.deepEqual(statuses, [500, 500, 200])
      erp.downFor(500)
      assert.equal((await fetch(erp.url, { method: 'POST' })).status, 503)
      await new Promise((resolve) => setTimeout(resolve, 700))
      assert.equal((await fetch(erp.url, { method: 'POST' })).status, 200)
    } finally {
      await erp.close()
    }
  })
})
