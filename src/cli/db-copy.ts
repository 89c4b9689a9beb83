/**
 * @module
 * `storehook db copy --from sqlite:PATH --to postgres://…`: moves an embedded installation's whole
 * history to PostgreSQL in one go, so that a storehook started on the copy goes on where the
 * SQLite one stopped: same event seqs and run ids (the admin API's links, `runs show 42`, replays
 * of old runs), same states, attempts and duplicate counts, and new ids after the old ones.
 *
 * How, and why:
 * - Every table the SQLite store has is copied, not a fixed list, so tables added by later
 *   migrations travel too. A table the PostgreSQL schema lacks stops the copy if it holds rows
 *   (history would be left behind silently) unless `--skip` names it; columns are matched by name.
 * - The source is read in one read transaction: a consistent snapshot even if a storehook is still
 *   writing to it (what it writes after the snapshot is not copied; stop it first).
 * - The target is written in one transaction holding an exclusive lock on its tables: a failed or
 *   interrupted copy leaves the target as it was, and a storehook started on the target too early
 *   waits instead of interleaving its own ids. An ACCESS EXCLUSIVE lock also stops readers, which
 *   is what a half-copied store should get.
 * - Rows go in batches of `--batch`, each one INSERT … SELECT FROM unnest(text arrays), cast to each
 *   column's PostgreSQL type: one round trip per batch, JSON text kept byte for byte (`json`).
 *   Integer columns get fractional SQLite values (SQLite is dynamically typed; retry times may be
 *   fractional ms) rounded up, as the PostgreSQL store itself does: a retry is never due earlier.
 * - Identity sequences are then set past the largest id ever used (SQLite's AUTOINCREMENT
 *   high-water mark, not just the largest id present), so a new event never reuses an old seq.
 * - A non-empty target is refused unless `--force`, which empties it first (in the same transaction).
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { DatabaseSync } from 'node:sqlite'
import { InvalidArgumentError, type Command } from 'commander'
import type { PoolClient } from 'pg'
import { ConfigError } from '../core/errors.ts'
import { sqlitePathOf } from '../store/open.ts'
import { printJson, startProgress, withExamples, type Progress } from './options.ts'

export interface CopyOptions {
  /** Absolute path of the SQLite file. */
  from: string
  /** `postgres://…[?schema=NAME]`. */
  to: string
  /** Empty a non-empty target first instead of refusing. */
  force?: boolean
  /** Tables to leave out (named in the report). */
  skip?: string[]
  /** Rows per INSERT; default 2000. */
  batch?: number
  /** Called after each table, for progress output. */
  onTable?: (table: CopiedTable) => void
  /** Called as a table's rows go in: before its first batch and after each one. */
  onRows?: (table: string, copied: number, rows: number) => void
}

export interface CopiedTable {
  table: string
  /** Rows in the source. */
  rows: number
  /** Rows copied (equal to `rows` unless skipped). */
  copied: number
  skipped?: 'skipped by --skip' | 'no such table in PostgreSQL (empty in SQLite)'
}

export interface CopyReport {
  source: string
  target: string
  tables: CopiedTable[]
  /** The next value each identity column will hand out, e.g. `{ column: 'events.seq', next: 1235 }`. */
  sequences: { column: string; next: number }[]
}

export function registerDbCommands(program: Command): void {
  const db = withExamples(program.command('db').description('move a store between databases'), [
    "storehook db copy --to 'postgres://storehook@db/shop?schema=storehook'",
  ])
  const copy = db
    .command('copy')
    .description('copy a SQLite store into PostgreSQL with its whole history, ids kept (one transaction)')
    .option('--project <dir>', 'project directory (for the default SQLite file)', '.')
    .option('--from <url>', 'sqlite:PATH (default: sqlite:<project>/.storehook/storehook.db)')
    .requiredOption('--to <url>', 'postgres://USER:PASSWORD@HOST:PORT/DATABASE[?schema=NAME]')
    .option('--force', 'replace whatever the target schema holds')
    .option('--skip <tables>', 'comma-separated tables to leave behind (ones PostgreSQL has no table for)')
    .option('--batch <n>', 'rows per INSERT', parseBatch, 2000)
    .option('--json', 'print the report as JSON for scripts: { source, target, tables, sequences }')
  withExamples(copy, [
    "storehook db copy --to 'postgres://storehook@db/shop'              # stop storehook first",
    "storehook db copy --from sqlite:/srv/shop/storehook.db --to 'postgres://storehook@db/shop?schema=shop' --force",
    "storehook db copy --to 'postgres://storehook@db/shop' --skip notes --json",
  ])
  copy.action(async (options: { project: string; from?: string; to: string; force?: boolean; skip?: string; batch: number; json?: boolean }) => {
    const from = sqlitePathOf(options.from, resolve(options.project), '--from')
    if (from === null) throw new ConfigError(`--from ${options.from}: db copy reads a sqlite:PATH store (it copies SQLite into PostgreSQL)`)
    if (sqlitePathOf(options.to, '.', '--to') !== null) throw new ConfigError(`--to ${options.to}: expected a postgres:// URL`)
    // Per table: a bar on a terminal (stderr); a summary line once it is done, on stdout (or
    // stderr with --json, whose stdout is the report alone).
    let bar: Progress | undefined
    const report = await copySqliteToPostgres({
      from,
      to: options.to,
      force: options.force ?? false,
      skip: options.skip ? options.skip.split(',').map((t) => t.trim()).filter(Boolean) : [],
      batch: options.batch,
      onRows: (table, copied, rows) => {
        if (!process.stderr.isTTY) return
        bar ??= startProgress(`  ${table.padEnd(16)} rows`, rows)
        bar.update(copied)
      },
      onTable: (t) => {
        bar?.finish()
        bar = undefined
        const line = `  ${t.table.padEnd(16)} ${t.skipped ? `${t.rows} rows, ${t.skipped}` : `${t.copied} rows`}`
        if (options.json) console.error(line)
        else console.log(line)
      },
    })
    if (options.json) return printJson(report)
    console.log(`copied ${report.source} to ${report.target}`)
    if (report.sequences.length) console.log(`next ids: ${report.sequences.map((s) => `${s.column} ${s.next}`).join(', ')}`)
  })
}

/**
 * Copies every table of a SQLite store into a PostgreSQL store's schema (migrated first), in one
 * transaction; see the module comment.
 *
 * @throws ConfigError when the source is missing or at another schema version, the target is not
 *   empty (without `force`), a table or column has no counterpart, or a value cannot be stored;
 *   nothing is written then
 * @example
 * await copySqliteToPostgres({ from: '/srv/shop/.storehook/storehook.db', to: 'postgres://storehook@db/shop' })
 */
export async function copySqliteToPostgres(options: CopyOptions): Promise<CopyReport> {
  const { DatabaseSync } = await import('node:sqlite')
  const { migrations: sqliteMigrations } = await import('../store/sqlite/migrations.ts')
  const { openPool } = await import('../store/postgres/pool.ts')
  const { explainOpenError, parsePostgresUrl } = await import('../store/postgres/config.ts')
  const { migrate } = await import('../store/postgres/migrations.ts')

  if (!existsSync(options.from)) throw new ConfigError(`--from sqlite:${options.from}: no such file`)
  const source = new DatabaseSync(options.from, { readOnly: true })
  const version = Number((source.prepare('PRAGMA user_version').get() as { user_version: number }).user_version)
  const latest = sqliteMigrations.at(-1)!.version
  if (version !== latest) {
    source.close()
    throw new ConfigError(
      version < latest
        ? `--from sqlite:${options.from} is at schema version ${version}; this storehook's is ${latest}: run \`storehook migrate --db sqlite:${options.from}\` first`
        : `--from sqlite:${options.from} was written by a newer storehook (schema ${version}, this one knows up to ${latest}); upgrade storehook`,
    )
  }

  const target = parsePostgresUrl(options.to)
  const s = `"${target.schema}"`
  const pool = openPool({ ...target.config, max: 1, connectionTimeoutMillis: 10_000, application_name: 'storehook db copy' })
  let client: PoolClient | undefined
  try {
    client = await pool.connect()
    await migrate(client, target.schema)
  } catch (error) {
    source.close()
    client?.release(error as Error)
    await pool.end().catch(() => {})
    throw explainOpenError(error, target)
  }

  const skip = new Set(options.skip ?? [])
  const batchSize = options.batch ?? 2000
  try {
    // The source snapshot: every read below sees the file as of the first one.
    source.exec('BEGIN')
    await client.query('BEGIN')
    await client.query(`SET LOCAL lock_timeout = '10s'`)
    const { tables: targetTables, references } = await describeTarget(client, target.schema)
    const dataTables = copyOrder([...targetTables.keys()].filter((t) => t !== 'migrations'), references)
    try {
      if (dataTables.length) await client.query(`LOCK TABLE ${dataTables.map((t) => `${s}."${t}"`).join(', ')} IN ACCESS EXCLUSIVE MODE`)
    } catch (error) {
      if ((error as { code?: string }).code !== '55P03') throw error
      throw new ConfigError(`--to: schema "${target.schema}" is in use by another session (a storehook running on it?); stop it and copy again`, { cause: error })
    }
    const held = await countRows(client, s, dataTables)
    const nonEmpty = [...held].filter(([, n]) => n > 0)
    if (nonEmpty.length && !options.force) {
      throw new ConfigError(
        `--to: schema "${target.schema}" at ${target.where} is not empty (${nonEmpty.map(([t, n]) => `${n} ${t}`).join(', ')}); ` +
          'copy into an empty schema (?schema=NAME picks another), or pass --force to replace its contents',
      )
    }
    if (nonEmpty.length) await client.query(`TRUNCATE ${dataTables.map((t) => `${s}."${t}"`).join(', ')} RESTART IDENTITY CASCADE`)

    const sourceTables = (source.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[]).map((r) => r.name)
    const highWater = new Map<string, number>()
    if (source.prepare(`SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'`).get()) {
      for (const row of source.prepare('SELECT name, seq FROM sqlite_sequence').all() as { name: string; seq: number }[]) highWater.set(row.name, Number(row.seq))
    }

    for (const table of skip) {
      if (!sourceTables.includes(table)) throw new ConfigError(`--skip ${table}: the SQLite store has no such table`)
    }

    const tables: CopiedTable[] = []
    for (const table of copyOrder(sourceTables, references)) {
      const rows = Number((source.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n)
      let copied: CopiedTable
      if (skip.has(table)) copied = { table, rows, copied: 0, skipped: 'skipped by --skip' }
      else if (!targetTables.has(table)) {
        if (rows > 0) {
          throw new ConfigError(
            `table "${table}" holds ${rows} rows in SQLite but the PostgreSQL store has no such table in this storehook version; ` +
              `pass --skip ${table} to leave them behind`,
          )
        }
        copied = { table, rows, copied: 0, skipped: 'no such table in PostgreSQL (empty in SQLite)' }
      } else {
        options.onRows?.(table, 0, rows)
        const onBatch = (done: number) => options.onRows?.(table, done, rows)
        copied = { table, rows, copied: await copyTable(source, client, s, table, targetTables.get(table)!, batchSize, onBatch) }
        const inTarget = (await countRows(client, s, [table])).get(table)
        if (copied.copied !== rows || inTarget !== rows) {
          throw new Error(`table "${table}": ${rows} rows in SQLite, ${copied.copied} copied, ${inTarget} in PostgreSQL; nothing was committed`)
        }
      }
      tables.push(copied)
      options.onTable?.(copied)
    }

    const sequences: CopyReport['sequences'] = []
    for (const [table, columns] of targetTables) {
      for (const column of columns.filter((c) => c.identity)) {
        const { rows } = await client.query<{ max: string | null }>(`SELECT max("${column.name}") AS max FROM ${s}."${table}"`)
        const used = Math.max(Number(rows[0]!.max ?? 0), highWater.get(table) ?? 0)
        await client.query(`SELECT setval(pg_get_serial_sequence($1, $2), $3, $4)`, [`${s}."${table}"`, column.name, Math.max(used, 1), used > 0])
        sequences.push({ column: `${table}.${column.name}`, next: used + 1 })
      }
    }
    await client.query('COMMIT')
    return { source: `sqlite:${options.from}`, target: `PostgreSQL at ${target.where}, schema "${target.schema}"`, tables, sequences }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    if (source.isTransaction) source.exec('ROLLBACK')
    source.close()
    client.release()
    await pool.end().catch(() => {})
  }
}

interface TargetColumn {
  name: string
  /** `format_type` of the column, e.g. `bigint`, `json`, `double precision`. */
  type: string
  identity: boolean
}

interface TargetSchema {
  /** Table → its columns, in order. */
  tables: Map<string, TargetColumn[]>
  /** Table → the other tables its foreign keys reference. */
  references: Map<string, Set<string>>
}

/** The target schema's tables, their columns (in order) and which tables each one references. */
async function describeTarget(client: PoolClient, schema: string): Promise<TargetSchema> {
  const { rows } = await client.query<{ table: string; name: string; type: string; identity: boolean }>(
    `SELECT c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attidentity <> '' AS identity
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname, a.attnum`,
    [schema],
  )
  const tables = new Map<string, TargetColumn[]>()
  for (const row of rows) {
    const list = tables.get(row.table) ?? []
    list.push({ name: row.name, type: row.type, identity: row.identity })
    tables.set(row.table, list)
  }
  const fks = await client.query<{ table: string; references: string }>(
    `SELECT src.relname AS table, dst.relname AS references FROM pg_constraint k
     JOIN pg_class src ON src.oid = k.conrelid JOIN pg_class dst ON dst.oid = k.confrelid
     JOIN pg_namespace n ON n.oid = src.relnamespace
     WHERE k.contype = 'f' AND n.nspname = $1 AND src.oid <> dst.oid`,
    [schema],
  )
  const references = new Map<string, Set<string>>()
  for (const fk of fks.rows) references.set(fk.table, (references.get(fk.table) ?? new Set()).add(fk.references))
  return { tables, references }
}

/** `tables` ordered so that a table comes after every table it references (events, runs, attempts, …). */
function copyOrder(tables: string[], references: TargetSchema['references']): string[] {
  const ordered: string[] = []
  const visit = (table: string, path: Set<string>) => {
    if (ordered.includes(table) || path.has(table)) return
    path.add(table)
    for (const dependency of references.get(table) ?? []) if (tables.includes(dependency)) visit(dependency, path)
    ordered.push(table)
  }
  for (const table of [...tables].sort()) visit(table, new Set())
  return ordered
}

async function countRows(client: PoolClient, s: string, tables: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const table of tables) {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${s}."${table}"`)
    counts.set(table, Number(rows[0]!.n))
  }
  return counts
}

const INTEGER_TYPES = new Set(['bigint', 'integer', 'smallint'])

/**
 * Copies one table in batches, in primary-key order (so a run's `replay_of` is inserted before the
 * replay that references it), or rowid order for a table without a primary key.
 */
async function copyTable(
  source: DatabaseSync,
  client: PoolClient,
  s: string,
  table: string,
  target: TargetColumn[],
  batchSize: number,
  onBatch: (copied: number) => void,
): Promise<number> {
  const info = source.prepare(`SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`).all(table) as { name: string; pk: number }[]
  const sourceColumns = info.map((c) => c.name)
  const primaryKey = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => `"${c.name}"`)
  const columns = sourceColumns.map((name) => {
    const column = target.find((c) => c.name === name)
    if (!column) throw new ConfigError(`column "${table}.${name}" has no counterpart in the PostgreSQL store of this storehook version; nothing was copied`)
    return column
  })
  const list = columns.map((c) => `"${c.name}"`).join(', ')
  const overriding = columns.some((c) => c.identity) ? 'OVERRIDING SYSTEM VALUE' : ''
  const insert = `INSERT INTO ${s}."${table}" (${list}) ${overriding}
    SELECT ${columns.map((c, i) => `u.c${i}::${c.type}`).join(', ')}
    FROM unnest(${columns.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS u (${columns.map((_, i) => `c${i}`).join(', ')})`
  const asText = columns.map((c) => {
    const integer = INTEGER_TYPES.has(c.type)
    return (value: unknown, row: number): string | null => {
      if (value === null) return null
      if (typeof value === 'number') return String(integer ? Math.ceil(value) : value)
      if (typeof value === 'bigint' || typeof value === 'string') return String(value)
      throw new ConfigError(`${table}.${c.name} of row ${row} holds a ${value instanceof Uint8Array ? 'BLOB' : typeof value}, which db copy cannot store`)
    }
  })

  let copied = 0
  let batch: unknown[][] = columns.map(() => [])
  const flush = async () => {
    if (batch[0]!.length === 0) return
    try {
      await client.query(insert, batch)
    } catch (error) {
      // The database refused a value (a NUL character in text, malformed JSON): the data's fault, said with where.
      const { message, code } = error as { message: string; code?: string }
      if (code?.startsWith('22')) throw new ConfigError(`${table}, rows ${copied + 1}–${copied + batch[0]!.length}: PostgreSQL refused a value: ${message}; nothing was copied`, { cause: error })
      throw error
    }
    copied += batch[0]!.length
    batch = columns.map(() => [])
    onBatch(copied)
  }
  const order = primaryKey.length ? primaryKey.join(', ') : 'rowid'
  const select = source.prepare(`SELECT ${sourceColumns.map((c) => `"${c}"`).join(', ')} FROM "${table}" ORDER BY ${order}`)
  for (const row of select.iterate() as Iterable<Record<string, unknown>>) {
    const ordinal = copied + batch[0]!.length + 1
    sourceColumns.forEach((name, i) => batch[i]!.push(asText[i]!(row[name], ordinal)))
    if (batch[0]!.length >= batchSize) await flush()
  }
  await flush()
  return copied
}

function parseBatch(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('expected a positive integer')
  return Number(value)
}
