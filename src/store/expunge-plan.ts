/**
 * @module
 * An expunge as both stores carry it out: the tables searched and what is done to a row that
 * mentions the subject, the search's windows, and the audit record. The stores only fetch
 * candidate rows (a cheap `instr(lower(column), needle)` filter) and write the changes decided
 * here; `expunge-run.ts` drives the search and the writing.
 *
 * What an expunge does (docs/retention.md says it for users):
 * - **events** whose payload or headers mention the subject: both become `{}`, `payload_removed_at`
 *   is set, and their unfinished runs end as `dead` (they cannot run without their data);
 * - the records of those events' runs (their "own" records): step results are deleted, activation
 *   results emptied, and mentions scrubbed from the rest;
 * - in every other record: mentions are replaced by `[expunged]` in log lines and their fields,
 *   outbound call URLs and errors, attempt and run errors, activation results and console
 *   output, external resource answers; a step result that mentions the subject is deleted.
 */
import { SubjectMatcher, type ExpungeSubject, type ExpungeSubjectKind } from './expunge-subject.ts'
import { UNFINISHED_STATES } from './store.ts'

/** How a column is searched: free text, a JSON document, or a JSON list of text lines. */
export type ExpungeColumnKind = 'text' | 'json' | 'lines'

export const EXPUNGE_TABLES = ['events', 'runs', 'attempts', 'steps', 'run_logs', 'outbound_calls', 'activations', 'external_calls'] as const
export type ExpungeTable = (typeof EXPUNGE_TABLES)[number]

export interface ExpungeTableSpec {
  table: Exclude<ExpungeTable, 'events'>
  /** The primary key's columns; the search walks the first one in windows. */
  key: readonly string[]
  /** The column holding the run the row belongs to, if any. */
  run: string | null
  /** The columns searched; every one may be NULL. */
  columns: Readonly<Record<string, ExpungeColumnKind>>
  /** A row of the subject's own runs, mention or not: deleted, or with these columns set. */
  ownRun?: 'delete' | Readonly<Record<string, string>>
  /** A row that mentions the subject is deleted rather than scrubbed (a step result is one value). */
  deleteOnMention?: boolean
}

/** Every table but `events` (which the stores search themselves: it decides the own runs). */
export const EXPUNGE_SPECS: readonly ExpungeTableSpec[] = [
  { table: 'runs', key: ['id'], run: 'id', columns: { last_error: 'text' } },
  { table: 'attempts', key: ['run_id', 'number'], run: 'run_id', columns: { error_message: 'text', error_stack: 'text' } },
  { table: 'steps', key: ['run_id', 'name'], run: 'run_id', columns: { result: 'json' }, ownRun: 'delete', deleteOnMention: true },
  { table: 'run_logs', key: ['seq'], run: 'run_id', columns: { message: 'text', fields: 'json' } },
  { table: 'outbound_calls', key: ['seq'], run: 'run_id', columns: { url: 'text', error: 'text' } },
  { table: 'activations', key: ['seq'], run: 'run_id', columns: { result: 'json', logs: 'lines' }, ownRun: { result: '{}' } },
  { table: 'external_calls', key: ['id'], run: null, columns: { answer: 'json', error: 'text' } },
]

/** Keys searched per store call: small enough that one call never holds SQLite's thread for long. */
export const EXPUNGE_WINDOW = 2000

/** The spec of a table, refusing any other name (table and column names are spliced into SQL). */
export function expungeSpec(table: string): ExpungeTableSpec {
  const spec = EXPUNGE_SPECS.find((s) => s.table === table)
  if (!spec) throw new RangeError(`expunge: no table "${table}" is searched`)
  return spec
}

/** An event whose payload mentions the subject, with its runs. */
export interface ExpungedEvent {
  seq: number
  source: string
  id: string
  runIds: number[]
  /** Its runs not finished yet: an expunge ends them as dead. */
  unfinishedRunIds: number[]
}

/** One row to delete, or to update with scrubbed values. */
export interface ExpungeChange {
  table: Exclude<ExpungeTable, 'events'>
  /** The row's primary key values, in the spec's `key` order. */
  key: (number | string)[]
  delete?: true
  set?: Record<string, string>
}

export interface ExpungeSearchRequest {
  subject: ExpungeSubject
  table: ExpungeTable
  /** Search keys (of the table's first key column) after this one; 0 to begin. */
  after: number
  /** The runs of the events found (`events` is searched first): their records are the subject's own. */
  ownRuns: number[]
}

export interface ExpungeSearchResult {
  /** Events found in this window (searching `events`; empty otherwise). */
  events: ExpungedEvent[]
  changes: ExpungeChange[]
  /** The key searched up to: the next call's `after`; null once the table is searched to its end. */
  next: number | null
  /** The table's largest key when this call ran, to show progress. */
  last: number
}

/** Who asked: the audit record keeps it. */
export type ExpungeRequester = 'cli' | 'admin-api'

export interface ExpungeApplyRequest {
  subject: ExpungeSubject
  requestedBy: ExpungeRequester
  events: ExpungedEvent[]
  changes: ExpungeChange[]
}

/** What an expunge removed, as its audit record keeps it. */
export interface ExpungeRemoved {
  /** Per table, the rows changed: payloads removed, mentions scrubbed, rows deleted. */
  counts: Record<ExpungeTable, number>
  /** The events whose payload and headers were removed, as (source, id). */
  events: { source: string; id: string }[]
  /** Unfinished runs of those events that were ended as dead. */
  endedRuns: number[]
}

/** The audit record of one expunge: it holds the subject's digest, never the subject. */
export interface ExpungeRecord {
  id: number
  /** Epoch ms. */
  at: number
  requestedBy: ExpungeRequester
  subjectKind: ExpungeSubjectKind
  /** Hex SHA-256 of the normalized subject (see `subjectDigest`). */
  subjectDigest: string
  removed: ExpungeRemoved
}

export interface ExpungeFilter {
  /** Only the expunges of this subject (its `subjectDigest`). */
  subjectDigest?: string
  /** Page backwards from this id (exclusive). */
  beforeId?: number
  limit?: number
}

/** The message an ended run and its open attempt are left with. */
export const ENDED_BY_EXPUNGE = "ended by an expunge: its event's payload was removed on request (personal data erased)"

/**
 * What to do with one candidate row of `spec.table`: null when it does not mention the subject
 * (the stores' first filter lets through some that do not).
 *
 * @example
 * planRow(expungeSpec('run_logs'), { seq: 7, run_id: 3, message: 'mailed ann@example.com', fields: null }, matcher, new Set())
 * // { table: 'run_logs', key: [7], set: { message: 'mailed [expunged]' } }
 */
export function planRow(spec: ExpungeTableSpec, row: Record<string, unknown>, matcher: SubjectMatcher, ownRuns: ReadonlySet<number>): ExpungeChange | null {
  const own = spec.run !== null && row[spec.run] !== null && row[spec.run] !== undefined && ownRuns.has(Number(row[spec.run]))
  const key = spec.key.map((column) => (column === 'name' ? String(row[column]) : Number(row[column])))
  if (own && spec.ownRun === 'delete') return { table: spec.table, key, delete: true }
  const set: Record<string, string> = {}
  for (const [column, kind] of Object.entries(spec.columns)) {
    const value = row[column]
    if (typeof value !== 'string' || value === '') continue
    const scrubbed = scrubColumn(kind, value, matcher, own)
    if (scrubbed !== value) set[column] = scrubbed
  }
  if (own && typeof spec.ownRun === 'object') {
    for (const [column, value] of Object.entries(spec.ownRun)) if (row[column] !== value) set[column] = value
  }
  if (Object.keys(set).length === 0) return null
  return spec.deleteOnMention ? { table: spec.table, key, delete: true } : { table: spec.table, key, set }
}

function scrubColumn(kind: ExpungeColumnKind, text: string, matcher: SubjectMatcher, own: boolean): string {
  if (kind === 'text') return matcher.scrubText(text, own)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return matcher.scrubText(text, own) // an external call's answer need not be JSON
  }
  if (kind === 'lines' && Array.isArray(parsed)) {
    const lines = parsed.map((line) => (typeof line === 'string' ? matcher.scrubText(line, own) : line))
    return lines.some((line, i) => line !== parsed[i]) ? JSON.stringify(lines) : text
  }
  const scrubbed = matcher.scrubJson(parsed, own)
  return scrubbed === parsed ? text : JSON.stringify(scrubbed)
}

/** Per-table counts of zero, to add to. */
/** A matched event row (`seq`, `source`, `id`) with its runs' rows (`id`, `state`), in run order. */
export function expungedEvent(row: Record<string, unknown>, runs: Record<string, unknown>[]): ExpungedEvent {
  return {
    seq: Number(row.seq),
    source: String(row.source),
    id: String(row.id),
    runIds: runs.map((r) => Number(r.id)),
    unfinishedRunIds: runs.filter((r) => UNFINISHED_STATES.has(String(r.state))).map((r) => Number(r.id)),
  }
}

/** The columns a search of `spec`'s table reads: its key, its run and the columns it may change. */
export function searchedColumns(spec: ExpungeTableSpec): string[] {
  return [...new Set([...spec.key, ...(spec.run ? [spec.run] : []), ...Object.keys(spec.columns)])]
}

/** The changes a window's candidate rows call for (see {@link planRow}). */
export function planRows(spec: ExpungeTableSpec, rows: Record<string, unknown>[], matcher: SubjectMatcher, ownRuns: number[]): ExpungeChange[] {
  const own = new Set(ownRuns)
  return rows.map((row) => planRow(spec, row, matcher, own)).filter((change): change is ExpungeChange => change !== null)
}

/**
 * A search's answer for one window: `range` is the window searched (null: the table holds no key
 * after `after`, so the search of it is over).
 */
export function windowResult(after: number, range: { through: number; last: number } | null, found: { events?: ExpungedEvent[]; changes?: ExpungeChange[] } = {}): ExpungeSearchResult {
  if (!range) return { events: [], changes: [], next: null, last: after }
  return { events: found.events ?? [], changes: found.changes ?? [], next: range.through >= range.last ? null : range.through, last: range.last }
}

/** The audit record's `removed`, from what the statements of a real expunge changed. */
export function removedBy(events: ExpungedEvent[], counts: Record<ExpungeTable, number>, endedRuns: number[]): ExpungeRemoved {
  return { counts, events: events.map(({ source, id }) => ({ source, id })), endedRuns }
}

export function noCounts(): Record<ExpungeTable, number> {
  return Object.fromEntries(EXPUNGE_TABLES.map((table) => [table, 0])) as Record<ExpungeTable, number>
}

/**
 * What applying these findings would remove: a dry run's report. A real expunge counts what its
 * statements changed instead (rows may have gone meanwhile).
 */
export function summarize(events: ExpungedEvent[], changes: ExpungeChange[]): ExpungeRemoved {
  const counts = noCounts()
  counts.events = events.length
  for (const change of changes) counts[change.table] += 1
  return removedBy(events, counts, events.flatMap((e) => e.unfinishedRunIds))
}

/** Checks a change against its table's spec before its names are spliced into SQL. */
export function checkedChange(change: ExpungeChange): { spec: ExpungeTableSpec; columns: string[] } {
  const spec = expungeSpec(change.table)
  if (change.key.length !== spec.key.length) throw new RangeError(`expunge: a ${change.table} key has ${spec.key.length} parts`)
  const allowed = new Set([...Object.keys(spec.columns), ...(typeof spec.ownRun === 'object' ? Object.keys(spec.ownRun) : [])])
  const columns = Object.keys(change.set ?? {})
  for (const column of columns) if (!allowed.has(column)) throw new RangeError(`expunge: ${change.table}.${column} is not a searched column`)
  if (!change.delete && columns.length === 0) throw new RangeError(`expunge: a ${change.table} change neither deletes nor sets`)
  return { spec, columns }
}

/** An `expunges` row as either store returns it (the same columns), as an {@link ExpungeRecord}. */
export function toExpungeRecord(row: Record<string, unknown>): ExpungeRecord {
  return {
    id: Number(row.id),
    at: Number(row.at),
    requestedBy: String(row.requested_by) as ExpungeRequester,
    subjectKind: String(row.subject_kind) as ExpungeSubjectKind,
    subjectDigest: String(row.subject_digest),
    removed: JSON.parse(String(row.removed)) as ExpungeRemoved,
  }
}

/** The SQL of a change, with `?` for the values: the `set` values in order, then the key. */
export function changeSql(change: ExpungeChange, table: (name: string) => string): string {
  const { spec, columns } = checkedChange(change)
  const where = spec.key.map((column) => `${column} = ?`).join(' AND ')
  if (change.delete) return `DELETE FROM ${table(spec.table)} WHERE ${where}`
  return `UPDATE ${table(spec.table)} SET ${columns.map((column) => `${column} = ?`).join(', ')} WHERE ${where}`
}

/** The values {@link changeSql}'s placeholders take. */
export function changeValues(change: ExpungeChange): (string | number)[] {
  return [...(change.delete ? [] : Object.values(change.set ?? {})), ...change.key]
}

/**
 * The changes still to write once `endedRuns` are ended: not the scrubbing of their last error,
 * which the expunge's own message has replaced. (Runs are ended first, so that an expunge takes a
 * run's row before its attempts' rows, in the order a worker finishing the run does.)
 */
export function withoutEnded<T extends { change: ExpungeChange }>(changes: T[], endedRuns: number[]): T[] {
  const ended = new Set(endedRuns)
  return changes.filter(({ change }) => !(change.table === 'runs' && ended.has(Number(change.key[0]))))
}
