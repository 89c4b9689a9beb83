/**
 * @module
 * Fault cases on the event path, each returning its {@link CaseResult} (the test files assert on
 * it, `bench/chaos.ts` prints it): `kill -9` of the runtime under load, and the ERP down, slower
 * than its timeout, answering 500 or 429 for a while. Sizes come from the caller, so one code path
 * serves CI (small) and the benchmark (large).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { join } from 'node:path'
import { createLogger } from '../../src/runtime/logger.ts'
import { startStorehook } from '../../src/server/start.ts'
import { startErpSimulator } from '../../src/testkit/erp-simulator.ts'
import {
  awaitDelivery, Cleanup, emptyResult, forwardProject, kill9, Load, record, runStates, seeded, startChild, startSlowProxy, type CaseResult,
} from './driver.ts'

export interface Kill9Size {
  cycles: number
  senders: number
  seed: number
}

/**
 * `kill -9` of `storehook start` at random moments (100–600 ms apart) under steady load, restarted
 * each time on the same SQLite file; then one last process drains everything acknowledged.
 */
export async function killNineCase(size: Kill9Size): Promise<CaseResult> {
  const started = Date.now()
  const result = emptyResult('kill -9 of the runtime (SQLite)')
  result.notes.push(`seed ${size.seed}`)
  const cleanup = new Cleanup()
  try {
    const erp = await startErpSimulator()
    cleanup.add(() => erp.close())
    const project = forwardProject(cleanup, erp.url)
    const db = `sqlite:${join(project, 'chaos.db')}`
    const random = seeded(size.seed)
    let target: string | null = null
    const load = new Load(() => target, { senders: size.senders }).start()
    cleanup.add(() => load.stop())
    for (let cycle = 0; cycle < size.cycles; cycle++) {
      const proc = await startChild(cleanup, { project, db })
      target = proc.url
      await sleep(100 + Math.floor(random() * 500))
      if (proc.exit) result.unexpectedCrashes += 1
      target = null
      await kill9(proc)
      result.faults += 1
    }
    const last = await startChild(cleanup, { project, db })
    target = last.url
    await sleep(300)
    await load.stop()
    // Runs cut off by the last kill come back once their lease (timeout + margin) expires.
    const t = await awaitDelivery(erp, load.acknowledged, 60_000)
    await waitSettled(last.url, 20_000)
    const states = await runStates(last.url)
    result.runs = states.succeeded! + states.dead!
    if (states.dead) result.notes.push(`${states.dead} dead runs`)
    if (last.exit) result.unexpectedCrashes += 1
    record(result, load, t, erp)
  } finally {
    await cleanup.run()
  }
  result.ms = Date.now() - started
  return result
}

export interface ErpFaultSize {
  /** Events sent in all. */
  events: number
  senders: number
  /** How long each fault lasts. */
  faultMs: number
}

/**
 * One storehook (in this process, SQLite) forwarding to an ERP that goes through four faults in
 * turn while events keep arriving: down (503), slower than the connection's 300 ms timeout (yet
 * processing the late request, so a retry meets an order already booked), answering 500, and
 * answering 429 with `Retry-After: 1`. Then it recovers; every acknowledged event must arrive.
 */
export async function erpFaultCase(size: ErpFaultSize): Promise<CaseResult> {
  const started = Date.now()
  const result = emptyResult('ERP down / slow / 500 / 429')
  const cleanup = new Cleanup()
  try {
    const erp = await startErpSimulator()
    cleanup.add(() => erp.close())
    const proxy = await startSlowProxy(cleanup, erp.url)
    const project = forwardProject(cleanup, proxy.url, { erpTimeoutMs: 300 })
    const storehook = await startStorehook({ project, db: `sqlite:${join(project, 'chaos.db')}`, port: 0, logger: createLogger({ level: 'silent' }) })
    cleanup.add(() => storehook.close())
    const gapMs = Math.max(1, Math.floor((size.faultMs * 5 * size.senders) / size.events))
    const load = new Load(() => storehook.url, { senders: size.senders, gapMs, limit: size.events }).start()
    cleanup.add(() => load.stop())

    await sleep(size.faultMs / 2)
    erp.setDown(true)
    await sleep(size.faultMs)
    erp.setDown(false)
    proxy.state.delayMs = 800
    await sleep(size.faultMs)
    proxy.state.delayMs = 0
    // Scripted answers are consumed by whichever requests come next, retries included.
    erp.failFirst(Math.max(20, size.events / 10), 500)
    await sleep(size.faultMs)
    erp.respondWith(...Array.from({ length: Math.max(20, size.events / 10) }, () => ({ status: 429, headers: { 'retry-after': '1' } })))
    result.faults = 4
    await load.done()
    const t = await awaitDelivery(erp, load.acknowledged, 60_000)
    await waitSettled(storehook.url, 20_000)
    const states = await runStates(storehook.url)
    result.runs = states.succeeded! + states.dead!
    if (states.dead) result.notes.push(`${states.dead} dead runs`)
    record(result, load, t, erp)
    const failed = erp.deliveries.filter((d) => d.status >= 300).length
    result.notes.push(`${failed} ERP requests answered with an error`)
  } finally {
    await cleanup.run()
  }
  result.ms = Date.now() - started
  return result
}

/** Waits until no run is pending, running or retrying (or `timeoutMs`). */
export async function waitSettled(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const states = await runStates(url)
    if (!states.pending && !states.running && !states.retrying) return
    if (Date.now() > deadline) return
    await sleep(200)
  }
}
