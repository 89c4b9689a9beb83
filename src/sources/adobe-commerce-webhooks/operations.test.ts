import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { add, checkOperations, exception, remove, replace, success } from './operations.ts'

describe('operation builders (the shapes of aio-commerce-sdk presets)', () => {
  it('build exactly the documented objects, optional fields left out when empty', () => {
    assert.deepEqual(success(), { op: 'success' })
    assert.deepEqual(exception('Out of stock'), { op: 'exception', message: 'Out of stock' })
    assert.deepEqual(exception('No', 'Vendor\\Module\\Exception\\Refused'), { op: 'exception', message: 'No', class: 'Vendor\\Module\\Exception\\Refused' })
    assert.deepEqual(exception(''), { op: 'exception' })
    assert.deepEqual(add('result', { method: 'dps' }), { op: 'add', path: 'result', value: { method: 'dps' } })
    assert.deepEqual(add('result', 1, 'Magento\\Quote\\Api\\Data\\ShippingMethodInterface'), {
      op: 'add',
      path: 'result',
      value: 1,
      instance: 'Magento\\Quote\\Api\\Data\\ShippingMethodInterface',
    })
    assert.deepEqual(replace('result/a/b', 6), { op: 'replace', path: 'result/a/b', value: 6 })
    assert.deepEqual(remove('result/key2'), { op: 'remove', path: 'result/key2' })
  })
})

describe('checkOperations', () => {
  it('accepts one operation or a list, and always returns a list', () => {
    assert.deepEqual(checkOperations(success()), { ok: true, answer: [{ op: 'success' }] })
    const list = [add('result', { price: 17 }), replace('result/0/price', 18), remove('result/1'), exception('x')]
    assert.deepEqual(checkOperations(list), { ok: true, answer: list })
    assert.deepEqual(checkOperations([]), { ok: true, answer: [] })
    // null values are values: a replace with null is a real instruction.
    assert.equal(checkOperations(replace('result/note', null)).ok, true)
  })

  it('drops undefined members, as JSON would', () => {
    assert.deepEqual(checkOperations({ op: 'exception', message: 'm', class: undefined }), { ok: true, answer: [{ op: 'exception', message: 'm' }] })
  })

  const problems: [string, unknown, RegExp][] = [
    ['nothing returned', undefined, /returned nothing; return adobeCommerce\.success\(\)/],
    ['an HTTP response from ported App Builder code', { statusCode: 200, body: [success()] }, /HTTP response/],
    ['an unknown op', { op: 'append', path: 'result', value: 1 }, /^\[0\]\.op: expected one of success, exception, add, replace, remove/],
    ['a string', ['success'], /^\[0\]: expected an operation object/],
    ['a dotted path', add('result.price', 1), /\[0\]\.path: .*use "\/" between keys/],
    ['an empty path part', remove('result//a'), /\[0\]\.path: .*empty part/],
    ['a leading slash', remove('/result'), /\[0\]\.path: .*empty part/],
    ['no path', { op: 'remove' }, /\[0\]\.path: expected a path/],
    ['no value', { op: 'add', path: 'result' }, /\[0\]\.value: required for "add"/],
    ['type instead of class', { op: 'exception', message: 'm', type: 'X' }, /\[0\]\.type: .*Commerce reads the exception class from "class"/],
    ['an extra field on success', { op: 'success', message: 'ok' }, /\[0\]\.message: a "success" operation has no such field/],
    ['a non-string message', { op: 'exception', message: 42 }, /\[0\]\.message: expected a string/],
    ['an empty instance', { op: 'add', path: 'result', value: 1, instance: '' }, /\[0\]\.instance/],
  ]
  for (const [what, answer, expected] of problems) {
    it(`refuses ${what}, saying where`, () => {
      const checked = checkOperations(answer)
      assert.equal(checked.ok, false)
      assert.match((checked as { problem: string }).problem, expected)
    })
  }

  it('names the index of the bad operation in a list', () => {
    const checked = checkOperations([success(), add('result', 1), { op: 'remove' }])
    assert.match((checked as { problem: string }).problem, /^\[2\]\.path/)
  })
})
