/**
 * @module
 * What a claim and the next due time cost while runs wait for a later retry: the state of a store
 * whose target has been down for a while (every failed attempt is followed by a claim and a
 * next-due-time query). `npm run bench:backlog -- [--db sqlite|postgres|postgres://…] [--sizes 1000,10000,100000]`
 *
 * For each backlog size, that many runs of one action wait, due an hour from now, and it times, on the store as storehook opens it (SQLite on its own thread, or PostgreSQL):
 * - `nextRunAt`: the worker's question after each claim round;
 * - a claim that finds nothing due (the common case while the target is down).
 * Target: both flat in the backlog size (well under a millisecond at 100 000 on SQLite; before
 * runs_due they read every waiting run: 33 ms and 37 ms at 100 000).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../src/store/open.ts'
import type { IngestItem } from '../src/store/store.ts'
import { benchDatabase, fmt, machine, parseFlags, table, verdict } from './lib.ts'

const flags = parseFlags(process.argv.slice(2), { db: 'sqlite', sizes: '1000,10000,100000', repeat: 20 })
const sizes = String(flags.sizes).split(',').map(Number)
const tmp = mkdtempSync(join(tmpdir(), 'storehook-backlog-'))
const database = await benchDatabase(String(flags.db), tmp)
const store = await openStore(database.url, { projectDir: tmp, synchronous: 'normal' })
console.log(`storehook backlog bench: ${machine()}\nstore: ${database.where}\n`)

/** Mean milliseconds of `repeat` sequential calls. */
async function time(call: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  for (let i = 0; i < flags.repeat; i++) await call()
  return (performance.now() - started) / flags.repeat
}

const rows = [['runs waiting', 'nextRunAt ms', 'empty claim ms']]
let made = 0
try {
  for (const size of sizes) {
    for (; made < size; made += 500) {
      const items: IngestItem[] = Array.from({ length: Math.min(500, size - made) }, (_, i) => ({
        source: 'bench',
        event: { id: `e${made + i}`, type: 'order.created', payload: { n: made + i }, headers: {} },
        runs: [{ action: 'erp', orderingKey: null, maxAttempts: 25, runAt: Date.now() + 3_600_000 }],
      }))
      await store.ingest(items)
    }
    made = size
    const next = await time(() => store.nextRunAt(['erp']))
    const claim = await time(() => store.claimRuns({ workerId: 'bench', action: 'erp', limit: 16, leaseMs: 60_000 }))
    rows.push([String(size), fmt(next, 3), fmt(claim, 3)])
  }
  console.log(table(rows))
  // Largest size against smallest: the cost must not grow with the backlog.
  const [next, claim] = [1, 2].map((column) => Number(rows.at(-1)![column]) / Number(rows[1]![column]))
  console.log(`\ngrowth from ${sizes[0]} to ${sizes.at(-1)} waiting runs: nextRunAt ×${fmt(next!, 1)}, claim ×${fmt(claim!, 1)} ${verdict(next! < 5 && claim! < 5)} (target: under ×5)`)
} finally {
  await store.close()
  await database.close()
  rmSync(tmp, { recursive: true, force: true })
}
