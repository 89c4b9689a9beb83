import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, test } from 'node:test'
import { startErpSimulator } from './erp-simulator.ts'
import { ioEventsRetries, ioEventsRetryDelay, startIoEventsSimulator } from './io-events-simulator.ts'

// 1 minute of I/O Events' clock = 6 ms here.
const io = await startIoEventsSimulator({ timeScale: 0.0001, timeoutMs: 300 })
const receiver = await startErpSimulator()
after(() => Promise.all([io.close(), receiver.close()]))

const ORDER = 'com.adobe.commerce.observer.sales_order_save_after'

describe('I/O Events delivery rules', () => {
  test('retry delays: 1, 2, 4, 8 minutes, then every 15', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 20].map((n) => ioEventsRetryDelay(n) / 60_000), [1, 2, 4, 8, 15, 15, 15])
  })

  test('retried: 429, 5xx but 505, 6xx (network, timeout); not retried: every other status', () => {
    for (const status of [429, 500, 502, 503, 504, 599, 601, 602, 604, 611]) assert.equal(ioEventsRetries(status), true, String(status))
    for (const status of [400, 401, 403, 404, 409, 410, 413, 422, 505, 301]) assert.equal(ioEventsRetries(status), false, String(status))
  })
})

describe('IoEventsSimulator.publish', () => {
  test('retries 503 and 429 on the schedule, then delivers', async () => {
    receiver.respondWith(503, 429)
    const publication = io.publish(`${receiver.url}/hook`, io.cloudEvent(ORDER, { entity_id: '1' }))
    assert.equal(await publication.outcome, 'delivered')
    assert.deepEqual(publication.attempts.map((a) => a.status), [503, 429, 200])
    const [first, second, third] = publication.attempts.map((a) => a.at)
    assert.ok(second! - first! >= 6 && third! - second! >= 12, 'waited 1 then 2 (scaled) minutes')
  })

  test('drops on a 4xx or 505 after one try', async () => {
    for (const status of [400, 505]) {
      receiver.respondWith(status)
      const publication = io.publish(`${receiver.url}/hook`, io.cloudEvent(ORDER, {}))
      assert.equal(await publication.outcome, 'dropped')
      assert.equal(publication.attempts.length, 1)
    }
  })

  test('records a timeout as 604 and a refused connection as 602, and retries both', async () => {
    let calls = 0
    const slow = createServer((_req, res) => {
      calls += 1
      if (calls === 1) return // never answers: the 300 ms timeout fires
      res.end('ok')
    })
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    try {
      const publication = io.publish(`http://127.0.0.1:${(slow.address() as AddressInfo).port}/`, io.cloudEvent(ORDER, {}))
      assert.equal(await publication.outcome, 'delivered')
      assert.deepEqual(publication.attempts.map((a) => a.status), [604, 200])
    } finally {
      slow.closeAllConnections()
      slow.close()
    }
    const refused = io.publish('http://127.0.0.1:9/', io.cloudEvent(ORDER, {}))
    while (refused.attempts.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    assert.equal(refused.attempts[0]!.status, 602)
  })

  test('gives up after 24 h of its clock', async () => {
    const quick = await startIoEventsSimulator({ timeScale: 0.000001 })
    const down = await startErpSimulator()
    try {
      down.setDown(true)
      const publication = quick.publish(`${down.url}/hook`, quick.cloudEvent(ORDER, {}))
      assert.equal(await publication.outcome, 'expired')
      // 1+2+4+8 minutes, then every 15 until 24 h: 4 + 95 retries after the first try.
      assert.equal(publication.attempts.length, 100)
    } finally {
      await Promise.all([quick.close(), down.close()])
    }
  })

  test('injects duplicate deliveries of the same event', async () => {
    const before = receiver.deliveries.length
    const cloudEvent = io.cloudEvent(ORDER, {})
    assert.equal(await io.publish(`${receiver.url}/hook`, cloudEvent, { duplicates: 2 }).outcome, 'delivered')
    const copies = receiver.deliveries.slice(before).filter((d) => JSON.parse(d.body).eventid === cloudEvent.eventid)
    assert.equal(copies.length, 3)
    assert.ok(copies.every((d) => d.headers['x-adobe-event-id'] === cloudEvent.eventid))
  })

  test('publishEach delivers one event per request, in the order asked for', async () => {
    const events = [1, 2, 3, 4].map((n) => io.cloudEvent(ORDER, { entity_id: String(n) }))
    const before = receiver.deliveries.length
    const publications = await io.publishEach(`${receiver.url}/hook`, events, { order: 'reversed' })
    assert.equal(publications.length, 4)
    const received = receiver.deliveries.slice(before).map((d) => JSON.parse(d.body).data.value.entity_id)
    assert.deepEqual(received, ['4', '3', '2', '1'])
    const shuffledIds = (await io.publishEach(`${receiver.url}/hook`, events, { order: 'shuffled' })).length
    assert.equal(shuffledIds, 4)
    assert.deepEqual(new Set(receiver.deliveries.slice(before + 4).map((d) => JSON.parse(d.body).data.value.entity_id)), new Set(['1', '2', '3', '4']))
  })
})
