/**
 * External resource calls on PostgreSQL behave as on SQLite (`../sqlite/external-calls.test.ts`):
 * batches recorded in order, read newest first with every filter; a version-1 schema migrates and
 * keeps what it holds; and the runtime records through it, so the admin API lists the calls.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { eventually, makeProject, start } from '../../../test/helpers.ts'
import { usePostgres } from '../../../test/postgres-cluster.ts'
import { signCommerceLayer } from '../../sources/commerce-layer/signature.ts'
import type { NewExternalCall } from '../store.ts'
import { openPostgresStore } from './index.ts'
import { migrations } from './migrations.ts'

const server = await usePostgres()
const admin = new pg.Pool({ connectionString: server.url, max: 4 })
admin.on('error', () => {})
after(() => admin.end())

let counter = 0
const freshSchema = () => `x_${process.pid}_${++counter}_${randomUUID().slice(0, 6)}`
const dropSchema = (schema: string) => admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)

const call = (over: Partial<NewExternalCall> = {}): NewExternalCall => ({
  resource: 'price',
  kind: 'commerce-layer/price',
  startedAt: 1_000,
  durationMs: 2.5,
  inputDigest: 'aa',
  status: 200,
  outcome: 'answered',
  fallback: 'none',
  answer: '{"success":true,"data":{"sku_code":"S","unit_amount_cents":1}}',
  error: null,
  ...over,
})

describe('PostgreSQL external calls', () => {
  it('records batches and lists them newest first, parsed, with every filter', async () => {
    const schema = freshSchema()
    const store = await openPostgresStore({ url: server.url, schema })
    try {
      await store.recordExternalCalls!([
        call(),
        call({ resource: 'tax', kind: 'commerce-layer/tax', startedAt: 2_000, inputDigest: 'bb' }),
        call({ startedAt: 3_000, status: 422, outcome: 'timeout', fallback: 'error', error: 'still running', answer: 'not json' }),
      ])
      const all = await store.listExternalCalls!({})
      assert.deepEqual(all.map((c) => c.startedAt), [3_000, 2_000, 1_000])
      assert.deepEqual(all[2]!.answer, { success: true, data: { sku_code: 'S', unit_amount_cents: 1 } })
      assert.equal(all[0]!.answer, 'not json')
      assert.equal(all[0]!.error, 'still running')
      assert.equal(all[0]!.status, 422)
      assert.equal(all[2]!.durationMs, 2.5)
      assert.equal(typeof all[2]!.id, 'number')
      const ids = (filter: object) => store.listExternalCalls!(filter).then((calls) => calls.map((c) => c.startedAt))
      assert.deepEqual(await ids({ resource: 'price' }), [3_000, 1_000])
      assert.deepEqual(await ids({ outcome: 'timeout' }), [3_000])
      assert.deepEqual(await ids({ fallback: 'none', inputDigest: 'aa' }), [1_000])
      assert.deepEqual(await ids({ since: 2_000, until: 3_000 }), [2_000])
      assert.deepEqual(await ids({ since: 1_999.5, until: 2_000.5 }), [2_000])
      assert.deepEqual(await ids({ beforeId: all[0]!.id, limit: 1 }), [2_000])
      await store.recordExternalCalls!([])
      // What PostgreSQL's text refuses (NUL) or its bigint refuses (a fraction) does not lose the batch.
      await store.recordExternalCalls!([call({ startedAt: 4_000.4, error: 'bad\u0000byte', outcome: 'error', fallback: 'error', status: 422 })])
      const [last] = await store.listExternalCalls!({ limit: 1 })
      assert.equal(last!.startedAt, 4_000)
      assert.equal(last!.error, 'bad\uFFFDbyte')
    } finally {
      await store.close()
      await dropSchema(schema)
    }
  })

  it('keeps the order of a large batch, as ids', async () => {
    const schema = freshSchema()
    const store = await openPostgresStore({ url: server.url, schema })
    try {
      const batch = Array.from({ length: 500 }, (_, i) => call({ startedAt: 10_000 + i, inputDigest: `d${i}` }))
      await store.recordExternalCalls!(batch)
      const listed = await store.listExternalCalls!({ limit: 500 })
      assert.equal(listed.length, 500)
      assert.deepEqual(listed.map((c) => c.startedAt), batch.map((c) => c.startedAt).reverse())
    } finally {
      await store.close()
      await dropSchema(schema)
    }
  })

  it('migrates a version-1 schema, keeping what it holds', async () => {
    const schema = freshSchema()
    try {
      // The schema as a storehook with only migration 1 left it.
      await admin.query(`CREATE SCHEMA "${schema}"`)
      await admin.query(`CREATE TABLE "${schema}".migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)`)
      await admin.query(migrations[0]!.sql(`"${schema}"`))
      await admin.query(`INSERT INTO "${schema}".migrations (version, applied_at) VALUES (1, 0)`)
      await admin.query(`INSERT INTO "${schema}".events (source, id, type, payload, headers, received_at) VALUES ('s', 'e1', 't', '{}', '{}', 1)`)
      const store = await openPostgresStore({ url: server.url, schema })
      try {
        assert.equal((await store.listEvents({})).length, 1)
        await store.recordExternalCalls!([call()])
        assert.equal((await store.listExternalCalls!({})).length, 1)
      } finally {
        await store.close()
      }
      const { rows } = await admin.query(`SELECT version FROM "${schema}".migrations ORDER BY version`)
      assert.deepEqual(rows.map((r) => r.version), migrations.map((m) => m.version))
    } finally {
      await dropSchema(schema)
    }
  })

  it('holds what the runtime records, and the admin API lists it', async () => {
    const schema = freshSchema()
    const secret = 'pg_external_calls_secret'
    const project = makeProject({
      'storehook.config.ts': `import { defineConfig } from 'storehook'\nexport default defineConfig({})`,
      'external/price.ts': `import { commerceLayer } from 'storehook'
export default commerceLayer.price(() => ({ unit_amount_cents: 1234 }), { secrets: '${secret}' })`,
    })
    const url = new URL(server.url)
    url.searchParams.set('schema', schema)
    const storehook = await start({ project, db: url.toString() })
    // Registered after start's own hook, so it runs once storehook has closed its store.
    after(() => dropSchema(schema))
    const body = JSON.stringify({ data: { id: 'li1', type: 'line_items', attributes: { sku_code: 'SKU1', quantity: 1 } } })
    const response = await fetch(`${storehook.url}/external/price`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-commercelayer-signature': signCommerceLayer(secret, body) },
      body,
    })
    assert.equal(response.status, 200)
    const listed = await eventually(async () => {
      const { calls } = (await (await fetch(`${storehook.url}/admin/api/external/calls?resource=price`)).json()) as { calls: any[] }
      return calls.length === 1 ? calls : null
    }, 10_000, 'the call to be recorded')
    assert.equal(listed![0].outcome, 'answered')
    assert.deepEqual(listed![0].answer, { success: true, data: { sku_code: 'SKU1', unit_amount_cents: 1234 } })
    const { recording } = (await (await fetch(`${storehook.url}/admin/api/external`)).json()) as { recording: boolean }
    assert.equal(recording, true)
  })
})
