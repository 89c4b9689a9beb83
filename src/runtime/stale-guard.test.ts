import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { ActionEvent } from './action.ts'
import { compareVersions, makeVersionReader } from './stale-guard.ts'

const event = (payload: unknown) => ({ id: 'e', type: 't', payload, headers: {}, source: 's', seq: 1, receivedAt: 0 }) as ActionEvent

describe('the stale-update guard', () => {
  it('compares numbers as numbers, timestamps as instants, anything else as strings', () => {
    assert.ok(compareVersions('9', '10') < 0)
    assert.ok(compareVersions('10.5', '10.25') > 0)
    assert.ok(compareVersions('2026-11-22 10:00:00', '2026-11-21T23:00:00Z') > 0)
    assert.equal(compareVersions('2026-11-22T10:00:00.000Z', '2026-11-22T10:00:00Z'), 0)
    assert.ok(compareVersions('v2-b', 'v2-a') > 0)
  })

  it('reads a version by dot path or function, as text, and none from an event without it', () => {
    assert.equal(makeVersionReader('product.updated_at')(event({ product: { updated_at: '2026-11-22 10:00:00' } })), '2026-11-22 10:00:00')
    assert.equal(makeVersionReader('rev')(event({ rev: 12 })), '12')
    assert.equal(makeVersionReader(() => new Date(0))(event({})), '1970-01-01T00:00:00.000Z')
    assert.equal(makeVersionReader('product.updated_at')(event({ product: null })), null)
    assert.equal(makeVersionReader('rev')(event({ rev: '' })), null)
  })
})
