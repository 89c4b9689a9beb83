/**
 * @module
 * Inside an action thread: waits, after main returned, until the work main started and did not
 * await has settled, as AWS Lambda waits for an empty event loop before it freezes a function.
 *
 * The seed's old action calls `sendOrderToErpSystem(event_payload)` without `await` and returns
 * 200 at once; on I/O Runtime the container is then reused or frozen and the ERP call may never
 * finish, or fail where nobody looks. Here the invocation is complete only when that call is.
 *
 * "Settled" means the thread's ref'd resources (`process.getActiveResourcesInfo()`: timers,
 * sockets, file system requests, immediates…) are back to what they were just before main ran.
 * What is unref'd does not count, rightly: an idle keep-alive socket or an `unref()`'d timer is
 * not work the action waits for, and would never end. The wait polls on an unref'd timer, which
 * does not count either. It has no bound of its own: the invoker cuts the invocation off at the
 * action's time limit.
 */
import { setTimeout as sleep } from 'node:timers/promises'

/** The thread's ref'd resources, counted by kind (`Timeout`, `TCPSocketWrap`, `FSReqPromise`…). */
export type ResourceCounts = Map<string, number>

export function activeResources(): ResourceCounts {
  const counts: ResourceCounts = new Map()
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  return counts
}

/** True when no kind of resource is more numerous than in `baseline`. */
export function isBackTo(baseline: ResourceCounts, now: ResourceCounts = activeResources()): boolean {
  for (const [kind, count] of now) if (count > (baseline.get(kind) ?? 0)) return false
  return true
}

const MAX_POLL_MS = 50
const nextTurn = () => sleep(1, undefined, { ref: false })

/**
 * Resolves once the resources are back to `baseline`, calling `onPending` first if they were not
 * at the first look (main returned while its work was still running). With `wait` false it only
 * takes that first look.
 *
 * @example
 * const baseline = activeResources()
 * const result = await main(params)
 * const { leftWork, waitedMs } = await waitForFloatingWork(baseline, () => {})
 */
export async function waitForFloatingWork(baseline: ResourceCounts, onPending: () => void, wait = true): Promise<{ leftWork: boolean; waitedMs: number }> {
  const returnedAt = performance.now()
  // Let I/O callbacks already due run first: a response whose body was just read frees its socket.
  // (An unref'd timer, not an unref'd setImmediate: with nothing ref'd to run, the latter does not
  // stop the loop from blocking in its poll phase, and would wait for some unrelated wake-up.)
  await nextTurn()
  if (isBackTo(baseline)) return { leftWork: false, waitedMs: 0 }
  if (!wait) return { leftWork: true, waitedMs: 0 }
  onPending()
  let delay = 1
  for (;;) {
    await sleep(delay, undefined, { ref: false })
    delay = Math.min(delay * 2, MAX_POLL_MS)
    if (!isBackTo(baseline)) continue
    // Look again a turn later: a callback may have been about to start the next step.
    await nextTurn()
    if (isBackTo(baseline)) break
  }
  return { leftWork: true, waitedMs: Math.round(performance.now() - returnedAt) }
}
