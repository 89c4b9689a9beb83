import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { NewRunLogLine } from '../store/store.ts'
import { captureConsole } from './run-console.ts'
import { AttemptLog } from './run-log.ts'
import { runInScope, type RunScope } from './run-scope.ts'

function scope(runId: number) {
  const lines: NewRunLogLine[] = []
  const run: RunScope = { log: new AttemptLog(runId, 1, (line) => lines.push(line)), outbound: () => {} }
  return { run, lines }
}

/** Replaces the real streams' write for the test, so what still reaches them can be read (and the test's output stays clean). */
async function withFakeStreams(body: (written: Record<'stdout' | 'stderr', string>) => Promise<void>) {
  const written = { stdout: '', stderr: '' }
  const real = { stdout: process.stdout.write, stderr: process.stderr.write }
  for (const stream of ['stdout', 'stderr'] as const) {
    process[stream].write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written[stream] += String(chunk)
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined
      callback?.()
      return true
    }) as typeof process.stdout.write
  }
  try {
    await body(written)
  } finally {
    process.stdout.write = real.stdout
    process.stderr.write = real.stderr
  }
}

describe('console output of runs', () => {
  it("adds what code in a run's scope writes to that run's log only, and still writes it to the process's streams", () =>
    withFakeStreams(async (written) => {
      const fakeStdout = process.stdout.write
      const release = captureConsole()
      const one = scope(1)
      const two = scope(2)
      try {
        const work = (name: string) => async () => {
          const circular: Record<string, unknown> = { d: new Date(0), pwd: 'k' }
          circular.self = circular
          console.log('log from', name, { password: 'hunter2', n: 1 })
          console.debug(circular)
          await sleep(5)
          console.warn(`warn from ${name}`)
          process.stdout.write(`raw from ${name} `)
          await sleep(5)
          process.stdout.write(Buffer.from('ends\n'))
          console.error(new Error(`boom in ${name}`).message)
        }
        await Promise.all([runInScope(one.run, work('one')), runInScope(two.run, work('two'))])
        console.info('outside any run')
      } finally {
        release()
      }
      for (const [{ lines }, name] of [[one, 'one'], [two, 'two']] as const) {
        assert.deepEqual(lines.map((l) => [l.level, l.message]), [
          ['stdout', `log from ${name} { password: '[redacted]', n: 1 }`],
          ['stdout', "{ d: 1970-01-01T00:00:00.000Z, pwd: '[redacted]', self: '[Circular]' }"],
          ['stderr', `warn from ${name}`],
          ['stdout', `raw from ${name} ends`],
          ['stderr', `boom in ${name}`],
        ])
      }
      assert.match(written.stdout, /log from one \{ password: 'hunter2', n: 1 \}\n/, 'the process still gets what was written, unredacted')
      assert.match(written.stdout, /outside any run\n/)
      assert.match(written.stderr, /warn from two\n/)
      assert.equal(process.stdout.write, fakeStdout, 'releasing puts the streams back')
    }))

  it('stays installed until the last worker releases it', () =>
    withFakeStreams(async () => {
      const original = console.log
      const first = captureConsole()
      const second = captureConsole()
      first()
      first()
      assert.notEqual(console.log, original)
      second()
      assert.equal(console.log, original)
    }))
})
