import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { captureLogs, makeProject, webhooksConfig } from '../../test/helpers.ts'
import { ConfigError } from '../core/errors.ts'
import { eventWithRun, laterThan } from '../store/contract-fixtures.ts'
import { openThreadedSqliteStore } from '../store/sqlite/thread.ts'
import { loadProject } from './project.ts'
import { DEFAULT_RETENTION, RetentionPass } from './retention.ts'

const DAY_MS = 86_400_000
const dir = mkdtempSync(join(tmpdir(), 'storehook-retention-'))
after(() => rmSync(dir, { recursive: true, force: true }))

describe('retention settings', () => {
  it('default to 30 days of payloads, 90 of records and 30 of external calls, hourly', async () => {
    const project = await loadProject(makeProject({ 'storehook.config.ts': webhooksConfig() }))
    assert.deepEqual(project.settings.retention, DEFAULT_RETENTION)
    assert.deepEqual(DEFAULT_RETENTION, { payloadsDays: 30, metadataDays: 90, externalCallsDays: 30, intervalMs: 3_600_000, batchSize: 500 })
  })

  it('take 0 or null as for ever, and keep the defaults of what is not set', async () => {
    const project = await loadProject(makeProject({ 'storehook.config.ts': webhooksConfig('retention: { payloadsDays: 0, externalCallsDays: null, metadataDays: 365 },') }))
    assert.deepEqual(project.settings.retention, { ...DEFAULT_RETENTION, payloadsDays: null, externalCallsDays: null, metadataDays: 365 })
  })

  it('refuse records kept for less time than their payloads, and unknown keys, naming the field', async () => {
    const shorter = loadProject(makeProject({ 'storehook.config.ts': webhooksConfig('retention: { payloadsDays: 30, metadataDays: 7 },') }))
    await assert.rejects(shorter, (error: Error) => error instanceof ConfigError && /retention\.metadataDays: must be at least payloadsDays/.test(error.message))
    const typo = loadProject(makeProject({ 'storehook.config.ts': webhooksConfig('retention: { payloadDays: 30 },') }))
    await assert.rejects(typo, (error: Error) => error instanceof ConfigError && /retention/.test(error.message) && /payloadDays/.test(error.message))
  })
})

describe('the retention pass', () => {
  it('removes what is past retention in small calls, logs it and counts it', async () => {
    const store = await openThreadedSqliteStore({ path: join(dir, 'pass.db') })
    try {
      for (let i = 0; i < 5; i++) await eventWithRun(store, 'a', { outcome: 'succeeded' }, { customer: `c${i}` })
      const now = (await laterThan(Date.now())) + 31 * DAY_MS
      const logs = captureLogs()
      const registry = new Registry()
      const pass = new RetentionPass({ store, settings: { ...DEFAULT_RETENTION, batchSize: 2 }, logger: logs.logger, registry })
      const removed = await pass.run(now)
      assert.equal(removed!.eventPayloads, 5)
      const line = logs.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'retention: removed records past their retention')
      assert.deepEqual(line?.removed, { eventPayloads: 5 })
      const metrics = await registry.metrics()
      assert.match(metrics, /^storehook_retention_removed_total\{record="event_payloads"\} 5$/m)
      assert.match(metrics, /^storehook_retention_last_pass_timestamp_seconds [1-9]/m)
      assert.equal((await pass.run(now))!.eventPayloads, 0, 'the next pass finds nothing')
    } finally {
      await store.close()
    }
  })

  it('runs at start, and stop waits for the pass in flight', async () => {
    const store = await openThreadedSqliteStore({ path: join(dir, 'start.db') })
    try {
      const logs = captureLogs()
      const pass = new RetentionPass({ store, settings: DEFAULT_RETENTION, logger: logs.logger, registry: new Registry() })
      pass.start()
      const deadline = Date.now() + 10_000
      while (!logs.lines.some((l) => l.includes('nothing past its retention')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      assert.ok(logs.lines.some((l) => l.includes('nothing past its retention')), 'the first pass ran at start')
      await pass.stop()
    } finally {
      await store.close()
    }
  })
})
