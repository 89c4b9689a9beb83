/**
 * @module
 * The runs an accepted event started, read from the running storehook's admin API
 * (`GET /admin/api/runs?source=…&q=<event id>`, with `Authorization: Bearer $STOREHOOK_ADMIN_TOKEN`
 * when it is set) until each has finished its first attempt — or, with `wait`, until each is
 * finished for good — or the time is up.
 */

import { UnreachableError } from './request.ts'

/** A run as the admin API shows it (times are ISO 8601 strings there). */
export interface ApiRun {
  id: number
  action: string
  state: string
  eventId: string
  eventType: string
  attempts: number
  maxAttempts: number
  lastError: string | null
  createdAt: string
  updatedAt: string
}

/** The admin API refused us: the token is missing or wrong. */
export class AdminApiError extends Error {}

/** States a run does not leave without a replay. */
export const FINAL_STATES = ['succeeded', 'dead', 'skipped']

export interface AwaitOptions {
  baseUrl: string
  source: string
  /** Event ids from storehook's answer, with how many runs each started. */
  events: { id: string; runs: number }[]
  timeoutMs: number
  /** Wait through retries until every run is final, rather than until its first attempt is over. */
  wait: boolean
  adminToken?: string
}

/**
 * Polls until every run of the events has settled: final, or (without `wait`) retrying or
 * paused after an attempt. Resolves with the runs as last seen, and whether time ran out first.
 *
 * @example
 * const { runs, timedOut } = await awaitRuns({ baseUrl: 'http://127.0.0.1:3000', source: 'commerce', events: [{ id, runs: 1 }], timeoutMs: 30_000, wait: false })
 */
export async function awaitRuns(options: AwaitOptions): Promise<{ runs: ApiRun[]; timedOut: boolean }> {
  const deadline = Date.now() + options.timeoutMs
  const expected = options.events.reduce((sum, e) => sum + e.runs, 0)
  for (let pause = 50; ; pause = Math.min(pause * 2, 500)) {
    const runs = (await Promise.all(options.events.map((e) => runsOf(options, e.id)))).flat()
    const settled = runs.length >= expected && runs.every((run) => FINAL_STATES.includes(run.state) || (!options.wait && run.attempts > 0 && ['retrying', 'paused'].includes(run.state)))
    if (settled) return { runs, timedOut: false }
    if (Date.now() >= deadline) return { runs, timedOut: true }
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(0, deadline - Date.now()))))
  }
}

async function runsOf(options: AwaitOptions, eventId: string): Promise<ApiRun[]> {
  const url = new URL('/admin/api/runs', options.baseUrl)
  url.search = new URLSearchParams({ source: options.source, q: eventId, limit: '100' }).toString()
  let response: Response
  try {
    response = await fetch(url, {
      headers: options.adminToken ? { authorization: `Bearer ${options.adminToken}` } : {},
      signal: AbortSignal.timeout(10_000),
    })
  } catch (error) {
    throw new UnreachableError(`storehook at ${url.origin} stopped answering while its runs were awaited (${(error as Error).message})`)
  }
  if (response.status === 401 || response.status === 403) {
    const { error } = (await response.json().catch(() => ({}))) as { error?: string }
    throw new AdminApiError(`the admin API answered ${response.status}${error ? ` (${error})` : ''}: set STOREHOOK_ADMIN_TOKEN to the token storehook was started with`)
  }
  if (!response.ok) throw new AdminApiError(`the admin API answered ${response.status} to GET ${url.pathname}${url.search}`)
  const { runs } = (await response.json()) as { runs: ApiRun[] }
  // `q` matches part of an id; only this event's runs count. Oldest first reads in the order they ran.
  return runs.filter((run) => run.eventId === eventId).reverse()
}
