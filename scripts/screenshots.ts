/**
 * Screenshots of the dashboard for docs/dashboard.md and for judging how its pages read: starts
 * storehook with its dashboard on a throwaway project (test/browser/demo-project.ts) filled with
 * generated traffic, logs in with headless Chromium, and writes PNGs of the overview and a dead
 * run's page at 1280 px and at 390 px (a phone), and of the dead runs list at 1280 px.
 *
 *   npx node scripts/screenshots.ts [output directory, default docs/screenshots/]
 *
 * Needs Debian's chromium (`apt-get install chromium`), or STOREHOOK_CHROMIUM pointing at one.
 * The generated events are spread over the last hour (their times are moved back in the SQLite
 * file) so the events-per-minute chart has something to show.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLogger } from '../src/runtime/logger.ts'
import { startErpSimulator } from '../src/testkit/erp-simulator.ts'
import { launchChromium } from '../test/browser/chromium.ts'
import { callPrice, makeDemoProject, sendDemoEvent } from '../test/browser/demo-project.ts'
import { startWithDashboard } from '../test/browser/storehook.ts'

const out = resolve(process.argv[2] ?? 'docs/screenshots')
mkdirSync(out, { recursive: true })
const token = randomBytes(18).toString('base64url')
const erp = await startErpSimulator()
const project = makeDemoProject(erp.url)
// The demo's failures are on purpose: keep them out of the output.
const logger = createLogger({ level: 'fatal' })
process.env.STOREHOOK_REDACT_FIELDS ??= 'customer_email'
const storehook = await startWithDashboard({ project: project.dir, adminToken: token, logger })
const browser = await launchChromium()
try {
  await generateTraffic()
  spreadOverTheLastHour()
  const deadRun = (await storehook.runtime.store.listRuns({ state: 'dead', limit: 1 }))[0]
  if (!deadRun) throw new Error('the generated traffic left no dead run to show')
  for (const [width, height, label] of [[1280, 900, 'desktop'], [390, 844, 'phone']] as const) {
    const context = await browser.newContext({ viewport: { width, height } })
    const page = await context.newPage()
    await page.goto(`${storehook.url}/admin/login`)
    await page.fill('#token', token)
    await Promise.all([page.waitForURL(`${storehook.url}/admin`), page.click('button[type=submit]')])
    await page.screenshot({ path: `${out}/overview-${label}.png`, fullPage: true })
    await page.goto(`${storehook.url}/admin/runs/${deadRun.id}`)
    await page.screenshot({ path: `${out}/run-${label}.png`, fullPage: true })
    if (label === 'desktop') {
      await page.goto(`${storehook.url}/admin/runs?state=dead`)
      await page.screenshot({ path: `${out}/runs-${label}.png`, fullPage: true })
    }
    await context.close()
  }
  console.log(`screenshots written to ${out}`)
} finally {
  await browser.close()
  await storehook.close()
  await erp.close()
  project.remove()
}

async function generateTraffic(): Promise<void> {
  const sends: Promise<number>[] = []
  for (let i = 0; i < 150; i++) {
    const source = i % 3 === 0 ? 'shop' : 'webhooks'
    const type = i % 10 === 0 ? 'payment.captured' : i % 2 ? 'order.created' : 'order.updated'
    const data = { order: { increment_id: `10000${i}`, customer_email: `buyer${i}@example.com`, grand_total: 40 + i, payment: { method: 'card', card_number: '4111111111111111' } } }
    sends.push(sendDemoEvent(storehook.url, type.startsWith('payment') ? 'shop' : source, { id: `evt_${String(i).padStart(4, '0')}_${randomBytes(3).toString('hex')}`, type, data }))
    if (sends.length === 10) await Promise.all(sends.splice(0))
  }
  await Promise.all(sends)
  for (const sku of ['A', 'B', 'SLOW', 'A', 'SLOW', 'HANG', 'B', 'A']) await callPrice(storehook.url, sku)
  // Let the worker finish (the ERP answers at once; `fragile` goes dead on the first attempt).
  for (let i = 0; i < 100; i++) {
    const counts = await storehook.runtime.store.countRunsByState()
    if (counts.pending + counts.running + counts.retrying === 0) break
    await sleep(100)
  }
}

function spreadOverTheLastHour(): void {
  const db = new DatabaseSync(storehook.dbFile)
  db.exec('PRAGMA busy_timeout = 5000')
  const seqs = (db.prepare('SELECT seq FROM events ORDER BY seq').all() as { seq: number }[]).map((row) => Number(row.seq))
  const now = Date.now()
  const receivedAt = db.prepare('SELECT received_at AS at FROM events WHERE seq = ?')
  const moves = [
    'UPDATE events SET received_at = received_at + :by WHERE seq = :seq',
    'UPDATE runs SET created_at = created_at + :by, updated_at = updated_at + :by, run_at = run_at + :by WHERE event_seq = :seq',
    'UPDATE attempts SET started_at = started_at + :by, ended_at = ended_at + :by WHERE run_id IN (SELECT id FROM runs WHERE event_seq = :seq)',
  ].map((sql) => db.prepare(sql))
  seqs.forEach((seq, i) => {
    // A busier stretch in the second half of the hour, as a sale would make.
    const position = i / seqs.length
    const at = now - 58 * 60_000 + Math.round((position < 0.4 ? position * 1.4 : 0.56 + (position - 0.4) * 0.7) * 57 * 60_000)
    const by = at - Number((receivedAt.get(seq) as { at: number }).at)
    for (const move of moves) move.run({ by, seq })
  })
  db.close()
}
