/**
 * Cron actions end to end: two storehook runtimes on one PostgreSQL schema, each with its own
 * timekeeper, pool and worker, run a per-second cron action. Both fire every tick; the store
 * keeps one event per (source, id), so each tick runs exactly once. Also: how a bad schedule is
 * reported when the project loads.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { loadProject } from '../src/runtime/project.ts'
import { startStorehook } from '../src/server/start.ts'
import { openPostgresStore } from '../src/store/postgres/index.ts'
import { captureLogs, eventually, makeProject } from './helpers.ts'
import { usePostgres } from './postgres-cluster.ts'

const server = await usePostgres()
const schema = `cron_${process.pid}_${randomUUID().slice(0, 6)}`
const db = `${server.url}${server.url.includes('?') ? '&' : '?'}schema=${schema}`
const admin = new pg.Pool({ connectionString: server.url, max: 1 })
admin.on('error', () => {})
after(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {})
  await admin.end()
})

/** What the cron action reports: one entry per run it executes. */
const ran: { tick: string; id: string; type: string; source: string }[] = []
Object.assign(globalThis, { cronProbe: ran })
after(() => delete (globalThis as Record<string, unknown>).cronProbe)

const config = `import { defineConfig } from 'storehook'
export default defineConfig({ worker: { pollIntervalMs: 100 } })`

describe('cron actions', () => {
  it('fire once per tick with two runtimes on one PostgreSQL schema', async () => {
    const project = makeProject({
      'storehook.config.ts': config,
      'actions/every-second.ts': `import { onCron } from 'storehook'
export default onCron('* * * * * *', (event) => {
  globalThis.cronProbe.push({ tick: event.payload.tick, id: event.id, type: event.type, source: event.source })
}, { retry: { maxAttempts: 3, baseDelayMs: 50 } })`,
    })
    const runtimes = await Promise.all(
      ['a', 'b'].map((workerId) => startStorehook({ project, db, port: 0, workerId, logger: captureLogs().logger })),
    )
    const bothStarted = Date.now()
    try {
      // Four ticks after both were surely up, so that at least three fall while both run.
      await eventually(() => ran.filter((r) => Date.parse(r.tick) > bothStarted + 1000).length >= 4, 20_000, 'four ticks to run')
    } finally {
      await Promise.all(runtimes.map((r) => r.close()))
    }
    const bothStopping = Date.now()

    const ticks = ran.map((r) => r.tick)
    assert.equal(new Set(ticks).size, ticks.length, `every tick ran once: ${ticks.join(', ')}`)
    for (const r of ran) {
      assert.deepEqual([r.source, r.type, r.id], ['cron', 'cron.every-second', `every-second@${r.tick}`])
      assert.equal(Date.parse(r.tick) % 1000, 0, 'a tick is the schedule\'s whole second, not when a timer fired')
    }

    // In the store: one event per tick with one run; both runtimes fired the ticks they were both
    // up for (the second delivery is counted as a duplicate, not run).
    const store = await openPostgresStore({ url: server.url, schema })
    try {
      const events = await store.listEvents({ source: 'cron', limit: 1000 })
      assert.ok(events.length >= ticks.length)
      for (const event of events) assert.equal((await store.runsForEvent(event.seq)).length, 1, `one run for ${event.id}`)
      const tickOf = (e: { payload: unknown }) => Date.parse((e.payload as { tick: string }).tick)
      const shared = events.filter((e) => tickOf(e) > bothStarted + 1000 && tickOf(e) <= bothStopping - 1000)
      assert.ok(shared.length >= 2, 'ticks while both were up')
      assert.ok(shared.every((e) => e.duplicateDeliveries <= 1), 'no more deliveries than runtimes')
      assert.ok(shared.some((e) => e.duplicateDeliveries === 1), 'both runtimes fired the same ticks')
    } finally {
      await store.close()
    }
  })

  it('refuses a schedule croner cannot read, naming the file', async () => {
    for (const [args, reason] of [
      [`'every minute', () => {}`, /actions\/bad\.ts \(action "bad"\): cron "every minute": .*five, six, or seven/],
      [`'* * * * *', () => {}, { timezone: 'Mars/Olympus_Mons' }`, /cron "\* \* \* \* \*" \(timezone Mars\/Olympus_Mons\):/],
      [`'* * * * *', () => {}, { catchUp: 'yes' }`, /catchUp: expected true or false/],
    ] as const) {
      const dir = makeProject({
        'storehook.config.ts': config,
        'actions/bad.ts': `import { onCron } from 'storehook'
export default onCron(${args})`,
      })
      await assert.rejects(loadProject(dir), { name: 'ConfigError', message: reason })
    }
  })
})
