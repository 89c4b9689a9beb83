/**
 * @module
 * The fault suite of `test/chaos/` at a large size, printing one table: faults injected, events
 * acknowledged, lost, duplicates without the same Idempotency-Key, 2xx given while not durable,
 * external answers past the platform's deadline, unexpected crashes. Exits 1 if any of the
 * must-be-zero columns is not 0 (or a case failed to run).
 *
 *   node bench/chaos.ts [--size N] [--cases kill9,erp,storage,postgres,external] [--seed S]
 *
 * `--size` multiplies every case's load and fault count (default 5; the CI tests run at about 1).
 */
import { machine, parseFlags, table } from './lib.ts'
import { summary } from '../test/chaos/assert.ts'
import { erpFaultCase, killNineCase } from '../test/chaos/cases.ts'
import { commerceFaultCase } from '../test/chaos/commerce.ts'
import { MUST_BE_ZERO, type CaseResult } from '../test/chaos/driver.ts'
import { externalDeadlineCase } from '../test/chaos/external.ts'
import { postgresRestartCase } from '../test/chaos/postgres.ts'
import { storageFaultCase } from '../test/chaos/storage.ts'

const flags = parseFlags(process.argv.slice(2), { size: 5, cases: 'kill9,erp,commerce,storage,postgres,external', seed: Math.floor(Math.random() * 2 ** 31) })
const n = Math.max(1, flags.size)
const cases: Record<string, () => Promise<CaseResult>> = {
  kill9: () => killNineCase({ cycles: 4 * n, senders: 4, seed: flags.seed }),
  erp: () => erpFaultCase({ events: 120 * n, senders: 4, faultMs: 1000 + 400 * n }),
  commerce: () => commerceFaultCase({ orders: 30 * n, faultCalls: 4 * n }),
  storage: () => storageFaultCase({ senders: 4, faultMs: 1000 + 500 * n }),
  postgres: () => postgresRestartCase({ senders: 4, restarts: 2 * n, downMs: 1500 }),
  external: () => externalDeadlineCase({ calls: 600 * n, concurrency: 50, deadlineMs: 1000, blockEvery: 300 }),
}

console.log(`# storehook chaos, size ${n}, seed ${flags.seed}; ${machine()}`)
const results: CaseResult[] = []
let failedToRun = 0
for (const name of String(flags.cases).split(',').filter(Boolean)) {
  const run = cases[name]
  if (!run) throw new Error(`--cases: unknown case "${name}"; known: ${Object.keys(cases).join(', ')}`)
  try {
    const result = await run()
    results.push(result)
    console.error(summary(result))
  } catch (error) {
    failedToRun += 1
    console.error(`${name}: did not run: ${(error as Error).stack}`)
  }
}

const header = ['case', 'faults', 'sent', 'acked', 'refused', 'runs', 'delivered', 'dup same key', 'lost', 'dup w/o key', '2xx not durable', 'past deadline', 'crashes', 's']
const rows = results.map((r) => [
  r.name, r.faults, r.sent, r.acknowledged, Object.entries(r.rejected).map(([s, c]) => `${s}×${c}`).join(' ') || '0', r.runs, r.delivered, r.duplicatesSameKey,
  r.lost, r.duplicatesWithoutKey, r.ackedWhileNotDurable, r.pastDeadline, r.unexpectedCrashes, (r.ms / 1000).toFixed(1),
].map(String))
console.log(table([header, ...rows]))
for (const r of results) if (r.notes.length) console.log(`- ${r.name}: ${r.notes.join('; ')}`)
const broken = results.flatMap((r) => MUST_BE_ZERO.filter((f) => r[f] !== 0).map((f) => `${r.name}: ${f} = ${r[f]}`))
if (broken.length || failedToRun) {
  console.log(`FAIL: ${[...broken, ...(failedToRun ? [`${failedToRun} case(s) did not run`] : [])].join('; ')}`)
  process.exit(1)
}
console.log('PASS: lost, duplicates without key, 2xx not durable, past deadline and crashes are all 0')
process.exit(0)
