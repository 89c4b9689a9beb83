import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { SlotBackend, SlotTake } from '../../core/slots.ts'
import { MemorySlotBackend } from './memory-slots.ts'
import { SlotQueue } from './slot-queue.ts'

let holders = 0
function queue(backend: SlotBackend, size: number, budget = 'b') {
  return new SlotQueue({ budget, size: () => size, expiresInMs: 60_000, backend: () => backend, holder: () => `h${++holders}` })
}

describe('MemorySlotBackend', () => {
  test('takes up to size slots; the next free one is announced; a release holds a slot for holdMs', async () => {
    let now = 1000
    const backend = new MemorySlotBackend(() => now)
    const lease = { expiresInMs: 5000 }
    assert.deepEqual(await backend.take('b', 2, { ...lease, holder: 'x' }), { taken: true, slot: 0 })
    assert.deepEqual(await backend.take('b', 2, { ...lease, holder: 'y' }), { taken: true, slot: 1 })
    assert.deepEqual(await backend.take('b', 2, { ...lease, holder: 'z' }), { taken: false, retryInMs: 5000 })
    await backend.release('b', 0, 'x', 300)
    assert.deepEqual(await backend.take('b', 2, { ...lease, holder: 'z' }), { taken: false, retryInMs: 300 })
    now += 300
    assert.deepEqual(await backend.take('b', 2, { ...lease, holder: 'z' }), { taken: true, slot: 0 })
  })

  test('a slot never given back expires; a release by a holder that lost it changes nothing', async () => {
    let now = 0
    const backend = new MemorySlotBackend(() => now)
    await backend.take('b', 1, { holder: 'crashed', expiresInMs: 1000 })
    now = 1000
    assert.deepEqual(await backend.take('b', 1, { holder: 'next', expiresInMs: 1000 }), { taken: true, slot: 0 })
    await backend.release('b', 0, 'crashed', 0)
    assert.deepEqual(await backend.take('b', 1, { holder: 'third', expiresInMs: 1000 }), { taken: false, retryInMs: 1000 })
  })

  test('a pause stops every take until it ends, and a shorter pause does not shorten it', async () => {
    let now = 0
    const backend = new MemorySlotBackend(() => now)
    await backend.pause('b', 2000)
    await backend.pause('b', 500)
    assert.deepEqual(await backend.take('b', 3, { holder: 'x', expiresInMs: 10 }), { taken: false, retryInMs: 2000 })
    now = 2000
    assert.equal((await backend.take('b', 3, { holder: 'x', expiresInMs: 10 })).taken, true)
  })

  test('budgets are independent', async () => {
    const backend = new MemorySlotBackend(() => 0)
    await backend.take('a', 1, { holder: 'x', expiresInMs: 10 })
    assert.equal((await backend.take('b', 1, { holder: 'y', expiresInMs: 10 })).taken, true)
  })
})

describe('SlotQueue', () => {
  test('a cap of 2: never more than 2 held, granted in arrival order', async () => {
    const q = queue(new MemorySlotBackend(), 2)
    let held = 0
    let peak = 0
    const granted: number[] = []
    await Promise.all(
      Array.from({ length: 8 }, async (_, n) => {
        const slot = await q.acquire()
        granted.push(n)
        peak = Math.max(peak, ++held)
        await new Promise((resolve) => setTimeout(resolve, 5))
        held--
        slot.release(0)
      }),
    )
    assert.equal(peak, 2)
    assert.deepEqual(granted, [0, 1, 2, 3, 4, 5, 6, 7])
    assert.equal(q.waiting, 0)
  })

  test('a rate of 3 per 100 ms: a slot comes back only 100 ms after its release', async () => {
    const q = queue(new MemorySlotBackend(), 3)
    const at: number[] = []
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        const slot = await q.acquire()
        at.push(performance.now())
        slot.release(100)
      }),
    )
    at.sort((a, b) => a - b)
    for (let i = 0; i + 3 < at.length; i++) assert.ok(at[i + 3]! - at[i]! >= 100, `grants ${i} and ${i + 3} are ${at[i + 3]! - at[i]!} ms apart`)
  })

  test('a caller that aborts while waiting leaves the queue and gets the reason; the others go on', async () => {
    const q = queue(new MemorySlotBackend(), 1)
    const first = await q.acquire()
    const controller = new AbortController()
    const second = q.acquire(controller.signal)
    const third = q.acquire()
    assert.equal(q.waiting, 2)
    const reason = new Error('no longer needed')
    controller.abort(reason)
    await assert.rejects(second, (error) => error === reason)
    assert.equal(q.waiting, 1)
    first.release(0)
    ;(await third).release(0)
    await assert.rejects(q.acquire(AbortSignal.abort(reason)), (error) => error === reason)
  })

  test('a slot taken for a caller who aborted meanwhile is given back at once, unused', async () => {
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const released: { slot: number; holdMs: number }[] = []
    const backend: SlotBackend = {
      kind: 'slow',
      async take(): Promise<SlotTake> {
        await gate
        return { taken: true, slot: 7 }
      },
      async release(_budget, slot, _holder, holdMs) {
        released.push({ slot, holdMs })
      },
      async pause() {},
    }
    const controller = new AbortController()
    const pending = queue(backend, 1).acquire(controller.signal)
    controller.abort(new Error('gone'))
    await assert.rejects(pending, /gone/)
    open()
    for (let i = 0; i < 50 && released.length === 0; i++) await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(released, [{ slot: 7, holdMs: 0 }])
  })

  test("a backend that fails rejects the first waiter with an error naming the budget and the store; the next one is served", async () => {
    let calls = 0
    const memory = new MemorySlotBackend()
    const backend: SlotBackend = {
      kind: 'postgres',
      take(budget, size, lease) {
        if (++calls === 1) return Promise.reject(new Error('connection terminated'))
        return memory.take(budget, size, lease)
      },
      release: (...args) => memory.release(...args),
      pause: (...args) => memory.pause(...args),
    }
    const q = queue(backend, 1, 'erp:rate')
    const [first, second] = await Promise.allSettled([q.acquire(), q.acquire()])
    assert.equal(first.status, 'rejected')
    assert.match((first as PromiseRejectedResult).reason.message, /^erp:rate: could not take a slot from the postgres slot store: connection terminated$/)
    assert.equal(second.status, 'fulfilled')
  })

  test('waiters sleep through a pause and are served after it', async () => {
    const backend = new MemorySlotBackend()
    const q = queue(backend, 5)
    const started = performance.now()
    await backend.pause('b', 150)
    const slot = await q.acquire()
    assert.ok(performance.now() - started >= 150, `served after ${performance.now() - started} ms`)
    slot.release(0)
  })
})
