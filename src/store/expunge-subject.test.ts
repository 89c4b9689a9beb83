import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { EXPUNGED, normalizeSubject, subjectDigest, SubjectMatcher } from './expunge-subject.ts'

const fixture = (path: string) => JSON.parse(readFileSync(new URL(`../cli/fixtures/${path}`, import.meta.url), 'utf8')) as { type: string; payload: unknown }
const email = (value: string) => new SubjectMatcher({ kind: 'customer-email', value })
const order = (value: string) => new SubjectMatcher({ kind: 'order-id', value })

describe('expunge subjects', () => {
  it('normalizes and digests without keeping the value, and refuses what is not a subject', () => {
    assert.deepEqual(normalizeSubject({ kind: 'customer-email', value: ' Ann.Lee@Example.com ' }), { kind: 'customer-email', value: 'ann.lee@example.com' })
    assert.equal(subjectDigest({ kind: 'customer-email', value: 'ANN.LEE@example.com' }), subjectDigest({ kind: 'customer-email', value: 'ann.lee@example.com' }))
    assert.match(subjectDigest({ kind: 'order-id', value: '42' }), /^[0-9a-f]{64}$/)
    assert.throws(() => normalizeSubject({ kind: 'customer-email', value: 'not an email' }), (e: Error) => e instanceof RangeError && !e.message.includes('not an email'))
    assert.throws(() => normalizeSubject({ kind: 'order-id', value: '  ' }), RangeError)
    assert.throws(() => normalizeSubject({ kind: 'order-id', value: '4 2' }), RangeError)
  })

  it('finds a customer email as a whole address in any case, also percent-encoded, and nowhere else', () => {
    const m = email('ann.lee@example.com')
    assert.equal(m.scrubText('Ann Lee <ANN.LEE@example.com>, sent.', false), `Ann Lee <${EXPUNGED}>, sent.`)
    assert.equal(m.scrubText('GET /customers?email=ann.lee%40example.com&x=1', false), `GET /customers?email=${EXPUNGED}&x=1`)
    for (const other of ['joann.lee@example.com', 'ann.lee@example.com.au', 'ann.lee@example.community']) assert.equal(m.scrubText(other, false), other)
    assert.ok(m.matchesEvent('observer.customer_save_after', { customer: { email: 'Ann.Lee@example.com' } }, {}))
    assert.ok(m.matchesEvent('x', {}, { 'x-customer': 'ann.lee@example.com' }), 'headers are searched too')
    assert.ok(!m.matchesEvent('x', { note: 'joann.lee@example.com' }, {}))
  })

  it('finds an Adobe Commerce order by increment_id or its own entity_id, not by another entity_id or a longer number', () => {
    const { type, payload } = fixture('adobe-io-events/observer.sales_order_save_after.json')
    assert.ok(order('000000042').matchesEvent(type, payload, {}))
    assert.ok(order('42').matchesEvent(type, payload, {}), "the order's entity_id")
    assert.ok(!order('83').matchesEvent(type, payload, {}), "an address's entity_id is not the order's")
    assert.ok(!order('4').matchesEvent(type, payload, {}) && !order('0000042').matchesEvent(type, payload, {}))
    const product = fixture('adobe-io-events/observer.catalog_product_save_after.json')
    assert.ok(!order('1517').matchesEvent(product.type, product.payload, {}), "a product's entity_id")
    assert.ok(order('42').matchesEvent('observer.sales_order_item_save_after', { item_id: 81, order_id: 42 }, {}), 'order_id anywhere')
  })

  it('finds a Commerce Layer order by id or number, also where another resource refers to it', () => {
    const placed = fixture('commerce-layer/orders.place.json')
    assert.ok(order('eLbAAFreuT').matchesEvent(placed.type, placed.payload, {}))
    assert.ok(order('12345').matchesEvent(placed.type, placed.payload, {}), 'attributes.number')
    assert.ok(!order('elbaafreut').matchesEvent(placed.type, placed.payload, {}), 'ids are case-sensitive')
    assert.ok(!order('OOfMHCGleb').matchesEvent(placed.type, placed.payload, {}), "the market's id is not an order's")
    const payment = fixture('commerce-layer/payment.authorize.json')
    assert.ok(order('eLbAAFreuT').matchesEvent(payment.type, payment.payload, {}), 'the payment refers to the order')
  })

  it('finds a generic order.* payload by its own id and number', () => {
    const { type, payload } = fixture('standard-webhooks/order.created.json')
    assert.ok(order('1001').matchesEvent(type, payload, {}))
    assert.ok(order('ord_1001').matchesEvent(type, payload, {}))
    assert.ok(order('1001').matchesEvent(type, { type, timestamp: '2026-01-15T10:00:00Z', data: payload }, {}), 'in the Standard Webhooks envelope too')
    assert.ok(!order('cus_77').matchesEvent(type, payload, {}), "the customer's id")
    assert.ok(!order('1001').matchesEvent('customer.updated', { number: '1001' }, {}))
  })

  it('scrubs an order id in text after the word order, and as a bare token in its own runs only', () => {
    const m = order('42')
    assert.equal(m.scrubText('GET https://shop/rest/V1/orders/42?fields=x', false), `GET https://shop/rest/V1/orders/${EXPUNGED}?fields=x`)
    assert.equal(m.scrubText('sent order #42 (order_id=42) in 42 ms', false), `sent order #${EXPUNGED} (order_id=${EXPUNGED}) in 42 ms`)
    assert.equal(m.scrubText('orders/91234 and orders/421', false), 'orders/91234 and orders/421')
    assert.equal(m.scrubText('ERP refused 42: duplicate', true), `ERP refused ${EXPUNGED}: duplicate`)
    assert.deepEqual(m.scrubJson({ orderId: 42, qty: 42, note: 'reorder 42' }, false), { orderId: EXPUNGED, qty: 42, note: 'reorder 42' })
    const untouched = { qty: 42 }
    assert.equal(m.scrubJson(untouched, false), untouched, 'the same value back when nothing matched')
  })
})
