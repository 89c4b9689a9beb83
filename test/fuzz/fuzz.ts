/**
 * @module
 * What every fuzz test shares: how many runs, how to reproduce a failure, and the one property
 * all of them check — an answer to bad input is a clean refusal (an {@link HttpError} with a 4xx
 * status and a reason), never another exception.
 *
 * Size: each property states the runs it makes in CI (small enough that all of `test/fuzz/` takes
 * a few seconds on two slow cores). `FUZZ_RUNS=<factor>` multiplies every one of them for a large
 * run, e.g. `FUZZ_RUNS=100 npx node --test "test/fuzz/*.test.ts"`. fast-check prints the seed and
 * path of a failure; `FUZZ_SEED=<seed>` replays that seed.
 */
import fc from 'fast-check'
import { HttpError } from '../../src/core/errors.ts'

const factor = Number(process.env.FUZZ_RUNS ?? 1)
if (!Number.isFinite(factor) || factor <= 0) throw new Error(`FUZZ_RUNS must be a positive number (a multiplier of the CI runs), got "${process.env.FUZZ_RUNS}"`)
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)

/** fast-check parameters for a property that makes `ciRuns` runs in CI. */
export function runs(ciRuns: number): fc.Parameters<unknown> {
  return { numRuns: Math.max(1, Math.round(ciRuns * factor)), ...(seed === undefined ? {} : { seed }) }
}

/** How a call ended: its value, or the status of the refusal it threw. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; status: number; message: string }

/**
 * Runs `call` and classifies what it did. Any exception other than an HttpError with a 4xx/5xx
 * status and a non-empty message is rethrown: that is the bug a fuzz test looks for (it would
 * reach the server as a 500).
 */
export async function outcome<T>(call: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await call() }
  } catch (error) {
    if (!(error instanceof HttpError)) throw error
    if (error.message === '') throw new Error(`an HttpError ${error.status} without a reason`, { cause: error })
    return { ok: false, status: error.status, message: error.message }
  }
}

/** Fails unless the outcome is a refusal with one of `statuses`. */
export function assertRefused(result: Outcome<unknown>, statuses: readonly number[], what: string): void {
  if (result.ok) throw new Error(`${what}: accepted, expected a refusal with ${statuses.join(' or ')}`)
  if (!statuses.includes(result.status)) throw new Error(`${what}: refused with ${result.status} (${result.message}), expected ${statuses.join(' or ')}`)
}

/** Headers from a plain record; a name given a list of values is sent once per value (a repeated header). */
export function headersOf(record: Record<string, string | string[]>): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(record)) for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
  return headers
}
