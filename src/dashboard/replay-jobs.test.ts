import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { timeWindows } from './replay-jobs.ts'

/** Which window each time falls in, checking the windows are contiguous and ordered. */
function assign(times: number[], windows: ReturnType<typeof timeWindows>): number[] {
  for (let i = 1; i < windows.length; i++) assert.equal(windows[i]!.since, windows[i - 1]!.until, 'no gap and no overlap between windows')
  return times.map((t) => windows.findIndex((w) => (w.since === undefined || t >= w.since) && (w.until === undefined || t < w.until)))
}

describe('timeWindows', () => {
  it('cuts sorted times into windows of about `size`, covering the whole range', () => {
    const times = [10, 11, 12, 13, 14, 15, 16]
    const windows = timeWindows(times, 3, undefined, undefined)
    assert.deepEqual(windows, [
      { until: 13, count: 3 },
      { since: 13, until: 16, count: 3 },
      { since: 16, count: 1 },
    ])
    assert.deepEqual(assign(times, windows), [0, 0, 0, 1, 1, 1, 2])
  })

  it('keeps the filter bounds at both ends', () => {
    const windows = timeWindows([10, 20, 30], 2, 5, 100)
    assert.deepEqual(windows, [
      { since: 5, until: 30, count: 2 },
      { since: 30, until: 100, count: 1 },
    ])
  })

  it('never splits runs created in the same millisecond, so no window is empty or inverted', () => {
    const times = [7, 7, 7, 7, 7, 8, 8, 9]
    const windows = timeWindows(times, 2, undefined, undefined)
    assert.deepEqual(windows, [
      { until: 8, count: 5 },
      { since: 8, count: 3 },
    ])
    assert.equal(windows.reduce((n, w) => n + w.count, 0), times.length)
    assert.ok(assign(times, windows).every((i) => i >= 0))
  })

  it('one open window when nothing or little matched', () => {
    assert.deepEqual(timeWindows([], 100, undefined, undefined), [{ count: 0 }])
    assert.deepEqual(timeWindows([5, 6], 100, 1, undefined), [{ since: 1, count: 2 }])
  })
})
