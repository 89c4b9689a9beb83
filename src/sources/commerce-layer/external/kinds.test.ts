/**
 * Each kind's schema and envelopes, without HTTP (test/external.test.ts covers them over HTTP).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { z } from 'zod'
import type { ExternalKind } from '../../external.ts'
import { parseJsonApi } from '../json-api.ts'
import { commerceLayer } from './index.ts'

const opts = { secrets: 's' }
const noop = () => ({}) as any
const kindOf = (definition: { kind: ExternalKind }) => definition.kind
const input = (type: string, attributes: Record<string, unknown> = {}, extra: object = {}) =>
  parseJsonApi({ data: { id: 'r1', type, attributes, ...extra } }).data as any
const ok = (kind: ExternalKind, answer: unknown, given = input('line_items')) => {
  const checked = kind.check(answer, given)
  assert.ok(checked.ok, checked.ok ? '' : checked.problem)
  return kind.success(checked.answer, given)
}
const problem = (kind: ExternalKind, answer: unknown, given = input('line_items')) => {
  const checked = kind.check(answer, given)
  assert.equal(checked.ok, false, `expected ${JSON.stringify(answer)} to be refused`)
  return (checked as { problem: string }).problem
}

describe('price', () => {
  const kind = kindOf(commerceLayer.price(noop, opts))
  const lineItem = input('line_items', { sku_code: 'TSHIRT' })

  it('answers the documented envelope, sku_code defaulting to the line item\'s', () => {
    assert.deepEqual(ok(kind, { unit_amount_cents: 4900, compare_at_amount_cents: 5900, metadata: { a: 1 } }, lineItem), {
      status: 200,
      body: { success: true, data: { sku_code: 'TSHIRT', unit_amount_cents: 4900, compare_at_amount_cents: 5900, metadata: { a: 1 } } },
    })
  })

  it('refuses floats, negatives, strings, unknown fields and the wrong "success"', () => {
    assert.match(problem(kind, { unit_amount_cents: 49.5 }, lineItem), /unit_amount_cents: expected a whole number of cents/)
    assert.match(problem(kind, { unit_amount_cents: -1 }, lineItem), /non-negative/)
    assert.match(problem(kind, { unit_amount_cents: '4900' }, lineItem), /unit_amount_cents/)
    assert.match(problem(kind, { unit_amount: 4900 }, lineItem), /unit_amount/)
    assert.match(problem(kind, { success: 'true', data: { unit_amount_cents: 1 } }, lineItem), /JSON boolean true/)
    assert.match(problem(kind, { success: false, error: {} }, lineItem), /ExternalResourceError/)
    assert.match(problem(kind, undefined, lineItem), /expected an object/)
    assert.match(problem(kind, { unit_amount_cents: 1 }, input('line_items')), /sku_code/)
  })

  it('accepts a whole, correct envelope (ported code) and unwraps it', () => {
    assert.deepEqual(ok(kind, { success: true, data: { unit_amount_cents: 100 } }, lineItem).body, { success: true, data: { sku_code: 'TSHIRT', unit_amount_cents: 100 } })
  })

  it('writes errors as {success: false, error: {code, message}} with the status', () => {
    assert.deepEqual(kind.refusal({ status: 422, code: 'NO_PRICE', message: 'no price' }, lineItem), {
      status: 422,
      body: { success: false, error: { code: 'NO_PRICE', message: 'no price' } },
    })
  })

  it('keys "the same input" on SKU, currency and market, not on volatile fields', () => {
    const a = parseJsonApi({ data: { id: 'a', type: 'line_items', attributes: { sku_code: 'S', quantity: 1, updated_at: '1' } } }).data
    const b = parseJsonApi({ data: { id: 'b', type: 'line_items', attributes: { sku_code: 'S', quantity: 1, updated_at: '2' } } }).data
    assert.deepEqual(kind.sameInput(a), kind.sameInput(b))
  })
})

describe('order-validation', () => {
  const kind = kindOf(commerceLayer.orderValidation(noop, opts))
  const order = input('orders')
  it('nothing means valid: {success: true, data: {}}', () => {
    assert.deepEqual(ok(kind, undefined, order), { status: 200, body: { success: true, data: {} } })
    assert.deepEqual(ok(kind, { errors: {} }, order), { status: 200, body: { success: true, data: {} } })
  })
  it('errors are attribute-keyed in data, with error and a 422', () => {
    assert.deepEqual(ok(kind, { errors: { customer_email: 'is blocked' } }, order), {
      status: 422,
      body: { success: false, data: { customer_email: 'is blocked' }, error: { code: 'VALIDATION_FAILED', message: 'customer_email is blocked' } },
    })
    assert.equal(ok(kind, { errors: { base: ['a', 'b'] }, code: 'X', status: 400 }, order).status, 400)
    assert.match(problem(kind, { errors: { base: 1 } }, order), /errors/)
  })
})

describe('shipping (shape UNVERIFIED: configurable)', () => {
  it('expects shipping_amount_cents by default', () => {
    const kind = kindOf(commerceLayer.shipping(noop, opts))
    const shipment = input('shipments')
    assert.deepEqual(ok(kind, { shipping_amount_cents: 700 }, shipment).body, { success: true, data: { shipping_amount_cents: 700 } })
    assert.match(problem(kind, { price_amount_cents: 700 }, shipment), /shipping_amount_cents/)
  })
  it('takes another amount field or a whole schema', () => {
    const renamed = kindOf(commerceLayer.shipping(noop, { ...opts, amountField: 'price_amount_cents' }))
    assert.equal(ok(renamed, { price_amount_cents: 700 }, input('shipments')).status, 200)
    const custom = kindOf(commerceLayer.shipping(noop, { ...opts, schema: z.object({ cost: z.number() }) }))
    assert.deepEqual(ok(custom, { cost: 1.5 }, input('shipments')).body, { success: true, data: { cost: 1.5 } })
  })
})

describe('promotion', () => {
  const kind = kindOf(commerceLayer.promotion(noop, opts))
  const order = input('orders')
  it('takes the three documented shapes', () => {
    ok(kind, { name: 'P', discount_cents: 1500 }, order)
    ok(kind, { name: 'P', discount_cents: 1500, line_items: [{ id: 'a' }, { id: 'b' }] }, order)
    ok(kind, { name: 'P', line_items: [{ id: 'a', discount_cents: 100 }, { id: 'b', discount_cents: 0 }] }, order)
  })
  it('enforces all-or-none per-line-item amounts, a discount somewhere, and unique ids', () => {
    assert.match(problem(kind, { name: 'P', line_items: [{ id: 'a', discount_cents: 100 }, { id: 'b' }] }, order), /1 of 2 line items: give it for all of them or for none/)
    assert.match(problem(kind, { name: 'P', line_items: [{ id: 'a' }] }, order), /expected discount_cents/)
    assert.match(problem(kind, { name: 'P', discount_cents: 1, line_items: [{ id: 'a' }, { id: 'a' }] }, order), /listed twice/)
    assert.match(problem(kind, { discount_cents: 1 }, order), /name/)
  })
})

describe('tax', () => {
  const kind = kindOf(commerceLayer.tax(noop, opts))
  const order = input('orders')
  it('takes an order rate, per-line rates, and a breakdown with tax_collectable in major units', () => {
    assert.deepEqual(ok(kind, { tax_rate: 0.25 }, order).body, { success: true, data: { tax_rate: 0.25 } })
    ok(kind, { tax_rate: 0.25, line_items: [{ id: 'a', tax_rate: 0.3 }, { id: 'b', tax_rate: 0.4 }] }, order)
    const breakdown = {
      freight_taxable: true,
      line_items: [{ id: 'a', tax_collectable: 9.0, country_tax_collectable: 9.0, country_tax_rate: 0.22, taxable_amount: 40.91, special_tax_rate: 0, state_tax_rate: 0.01 }],
    }
    assert.deepEqual(ok(kind, breakdown, order).body, { success: true, data: breakdown })
  })
  it('refuses rates outside 0–1, negative amounts, and lines with nothing to apply', () => {
    assert.match(problem(kind, { tax_rate: 22 }, order), /0\.22, not 22/)
    assert.match(problem(kind, { line_items: [{ id: 'a', tax_collectable: -1 }] }, order), /non-negative/)
    assert.match(problem(kind, { line_items: [{ id: 'a' }] }, order), /neither tax_rate nor tax_collectable/)
    assert.match(problem(kind, {}, order), /expected tax_rate/)
    assert.match(problem(kind, { tax_rate: 0.1, line_items: [{ id: 'a', nested: { x: 1 } }] }, order), /nested/)
  })
})

describe('payment', () => {
  const authorize = kindOf(commerceLayer.payment.authorize(noop, opts))
  const capture = kindOf(commerceLayer.payment.capture(noop, opts))
  const payment = parseJsonApi({
    data: { id: 'p1', type: 'external_payments', attributes: { payment_source_token: 'tok_src' }, relationships: { order: { data: { type: 'orders', id: 'o1' } } } },
    included: [{ id: 'o1', type: 'orders', attributes: { total_amount_with_taxes_cents: 12900 } }],
  }).data as any

  it('answers {success, data: {transaction_token, amount_cents}}, and 202 with an action_id', () => {
    assert.deepEqual(ok(authorize, { transaction_token: 't1', amount_cents: 12900 }, payment), { status: 200, body: { success: true, data: { transaction_token: 't1', amount_cents: 12900 } } })
    assert.equal(ok(authorize, { transaction_token: 't1', action_id: 'act_1' }, payment).status, 202)
    assert.match(problem(authorize, { amount_cents: 1 }, payment), /transaction_token/)
  })

  it('puts errors under data.error, next to the token and amount (defaults from the input)', () => {
    assert.deepEqual(authorize.refusal({ status: 422, code: 'DECLINED', message: 'declined' }, payment), {
      status: 422,
      body: { success: false, data: { transaction_token: 'tok_src', amount_cents: 12900, error: { code: 'DECLINED', message: 'declined' } } },
    })
    const authorization = input('authorizations', { token: 'auth_tok', amount_cents: 500 })
    assert.deepEqual(capture.refusal({ status: 400, code: 'X', message: 'y', data: { transaction_token: 'given' } }, authorization).body, {
      success: false,
      data: { transaction_token: 'given', amount_cents: 500, error: { code: 'X', message: 'y' } },
    })
    assert.deepEqual(capture.refusal({ status: 401, code: 'INVALID_SIGNATURE', message: 'm' }, undefined).body, { success: false, data: { error: { code: 'INVALID_SIGNATURE', message: 'm' } } })
  })

  it('checks the data type of each action', () => {
    assert.throws(() => capture.parse(new TextEncoder().encode('{"data":{"id":"x","type":"captures"}}')), /"authorizations", not "captures"/)
    kindOf(commerceLayer.payment.refund(noop, opts)).parse(new TextEncoder().encode('{"data":{"id":"x","type":"captures"}}'))
  })

  it('customer token: either token, shape replaceable (UNVERIFIED)', () => {
    const token = kindOf(commerceLayer.payment.customerToken(noop, opts))
    ok(token, { customer_token: 'cus_1' }, input('customer_payment_sources'))
    assert.match(problem(token, {}, input('customer_payment_sources')), /customer_token or payment_source_token/)
  })
})
