import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { pino } from 'pino'
import type { NewStep, Step, Store } from '../store/store.ts'
import { makeStep, StepError } from './steps.ts'

/** Just the two Store methods steps use, in memory. */
function memoryStore(initial: Step[] = []) {
  const steps = [...initial]
  const saved: NewStep[] = []
  const store = {
    async listSteps(runId: number) {
      return steps.filter((s) => s.runId === runId)
    },
    async saveStep(step: NewStep) {
      saved.push(step)
      const existing = steps.find((s) => s.runId === step.runId && s.name === step.name)
      if (existing) return existing
      const stored = { ...step, result: step.result === '' ? undefined : JSON.parse(step.result) }
      steps.push(stored)
      return stored
    },
  } as unknown as Store
  return { store, saved }
}
const logger = pino({ level: 'silent' })

describe('ctx.step', () => {
  it('runs a new step and stores its result as JSON', async () => {
    const { store, saved } = memoryStore()
    const step = makeStep({ store, runId: 1, attempt: 1, logger: () => logger })
    assert.deepEqual(await step('a', async () => ({ id: 7, tags: ['x'], note: undefined })), { id: 7, tags: ['x'] })
    assert.equal(await step('b', () => undefined), undefined)
    assert.deepEqual(saved.map((s) => [s.name, s.result]), [['a', '{"id":7,"tags":["x"]}'], ['b', '']])
  })

  it('hands back a stored result without running the step again', async () => {
    const { store, saved } = memoryStore([{ runId: 1, name: 'a', attempt: 1, result: { id: 7 }, finishedAt: 1 }])
    const step = makeStep({ store, runId: 1, attempt: 2, logger: () => logger })
    let ran = 0
    assert.deepEqual(await step('a', () => (ran++, { id: 8 })), { id: 7 })
    assert.equal(ran, 0)
    assert.equal(saved.length, 0)
  })

  it('lets a step that throws throw, and stores nothing', async () => {
    const { store, saved } = memoryStore()
    const step = makeStep({ store, runId: 1, attempt: 1, logger: () => logger })
    await assert.rejects(step('a', () => Promise.reject(new Error('Commerce answered 503'))), /Commerce answered 503/)
    assert.equal(saved.length, 0)
  })

  for (const [what, value, where] of [
    ['a Date', { at: new Date(0) }, 'a Date at the result.at'],
    ['a Map', new Map(), 'a Map at the result'],
    ['NaN', { total: Number.NaN }, 'NaN at the result.total'],
    ['a bigint', [1n], 'a bigint at the result[0]'],
    ['undefined in an array', [1, undefined], 'undefined at the result[1]'],
    ['a function', { f: () => 1 }, 'a function at the result.f'],
    ['a cycle', (() => { const o: any = { a: {} }; o.a.back = o; return o })(), 'a circular reference at the result.a.back'],
  ] as const) {
    it(`refuses ${what} at the step, naming where`, async () => {
      const { store, saved } = memoryStore()
      const step = makeStep({ store, runId: 1, attempt: 1, logger: () => logger })
      await assert.rejects(step('s', () => value), (error: Error) => {
        assert.ok(error instanceof StepError)
        assert.ok(error.message.includes(`step "s" returned ${where}`), error.message)
        return true
      })
      assert.equal(saved.length, 0)
    })
  }

  it('accepts a value shared twice (not a cycle) and objects without a prototype', async () => {
    const { store } = memoryStore()
    const step = makeStep({ store, runId: 1, attempt: 1, logger: () => logger })
    const shared = { sku: 'X' }
    const bare = Object.assign(Object.create(null), { a: 1 })
    assert.deepEqual(await step('s', () => ({ one: shared, two: shared, bare })), { one: { sku: 'X' }, two: { sku: 'X' }, bare: { a: 1 } })
  })

  it('refuses a name used twice in one attempt, and an empty name', async () => {
    const { store } = memoryStore()
    const step = makeStep({ store, runId: 1, attempt: 1, logger: () => logger })
    await step('a', () => 1)
    await assert.rejects(step('a', () => 2), /step "a" already ran in this attempt: give each step of a run its own name/)
    await assert.rejects(step('', () => 2), /name must be a non-empty string/)
  })
})
