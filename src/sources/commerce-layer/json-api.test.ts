import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { denormalizeResponse } from '@commercelayer/sdk-utils'
import { MalformedRequestError } from '../../core/errors.ts'
import { parseJsonApi, type Resource } from './json-api.ts'

const priceCall = {
  data: {
    id: 'li1',
    type: 'line_items',
    links: { self: '/api/line_items/li1' },
    attributes: { sku_code: 'TSHIRTMM', quantity: 2, _external_price: true, updated_at: '2026-01-01T00:00:00.000Z' },
    relationships: {
      order: { links: {}, data: { type: 'orders', id: 'o1' } },
      item: { data: { type: 'skus', id: 'sku1' } },
      line_item_options: { links: { related: '/api/line_items/li1/line_item_options' } },
      bundle: { data: null },
    },
    meta: { mode: 'test', organization_id: 'org1' },
  },
  included: [
    {
      id: 'o1',
      type: 'orders',
      attributes: { currency_code: 'EUR', number: '123' },
      relationships: {
        market: { data: { type: 'markets', id: 'm1' } },
        line_items: { data: [{ type: 'line_items', id: 'li1' }, { type: 'line_items', id: 'li2' }] },
      },
    },
    { id: 'm1', type: 'markets', attributes: { code: 'europe' } },
    { id: 'sku1', type: 'skus', attributes: { code: 'TSHIRTMM', name: 'T-shirt' } },
  ],
}

describe('parseJsonApi', () => {
  it('denormalizes data and resolves relationships through included by (type, id)', () => {
    const doc = parseJsonApi(JSON.stringify(priceCall))
    const lineItem = doc.data as any
    assert.equal(lineItem.id, 'li1')
    assert.equal(lineItem.sku_code, 'TSHIRTMM')
    assert.equal(lineItem.order.currency_code, 'EUR')
    assert.equal(lineItem.order.market.code, 'europe')
    assert.equal(lineItem.item.name, 'T-shirt')
    assert.deepEqual(doc.meta, { mode: 'test', organization_id: 'org1' })
    assert.equal(doc.find('markets', 'm1')?.code, 'europe')
    assert.equal(doc.included.length, 3)
  })

  it('is tolerant: a missing include stays an identifier, no data is absent, null stays null', () => {
    const lineItem = parseJsonApi(priceCall).data as any
    assert.deepEqual(lineItem.order.line_items[1], { id: 'li2', type: 'line_items' })
    assert.equal('line_item_options' in lineItem, false)
    assert.equal(lineItem.bundle, null)
    const bare = parseJsonApi({ data: { id: 'x', type: 'orders' } })
    assert.deepEqual({ ...bare.data }, { id: 'x', type: 'orders' })
    assert.deepEqual(bare.included, [])
  })

  it('shares objects, so cycles exist, yet JSON.stringify writes relationships as identifiers', () => {
    const lineItem = parseJsonApi(priceCall).data as any
    assert.equal(lineItem.order.line_items[0], lineItem)
    const json = JSON.parse(JSON.stringify(lineItem))
    assert.deepEqual(json.order, { id: 'o1', type: 'orders' })
    assert.equal(json.sku_code, 'TSHIRTMM')
  })

  it('reads the same attributes as @commercelayer/sdk-utils denormalizeResponse', () => {
    const theirs = denormalizeResponse(structuredClone(priceCall)) as any
    const ours = parseJsonApi(priceCall).data as any
    assert.equal(ours.sku_code, theirs.sku_code)
    assert.equal(ours.order.currency_code, theirs.order.currency_code)
    assert.equal(ours.order.market.code, theirs.order.market.code)
    assert.equal(ours.item.name, theirs.item.name)
  })

  it('ignores __proto__ and id/type attributes rather than letting them overwrite', () => {
    const doc = parseJsonApi('{"data":{"id":"a","type":"orders","attributes":{"__proto__":{"polluted":true},"id":"evil","type":"evil","n":1}}}')
    assert.equal((doc.data as Resource).id, 'a')
    assert.equal((doc.data as Resource).type, 'orders')
    assert.equal(({} as any).polluted, undefined)
    assert.equal((doc.data as any).polluted, undefined)
  })

  it('refuses what is not a JSON:API document with a 400 and a reason', () => {
    for (const [body, reason] of [
      ['not json', /not valid JSON/],
      ['[1]', /JSON object/],
      ['{"data":{"id":"a"}}', /string "type"/],
      ['{"data":{"id":"a","type":"orders"},"included":{}}', /included: expected an array/],
      ['{"data":{"id":"a","type":"orders","attributes":[]}}', /data.attributes: expected an object/],
    ] as const) {
      assert.throws(() => parseJsonApi(body), (error: unknown) => error instanceof MalformedRequestError && reason.test(error.message))
    }
    assert.throws(() => parseJsonApi(new Uint8Array([0xff, 0xfe])), /UTF-8/)
  })
})
