/**
 * @module
 * Retention, as every store applies it: what is removed when, the order of the work, and the error
 * a replay of a run whose payload is gone fails with. The SQL is each store's (`sqlite/retention.ts`,
 * `postgres/retention.ts`); the runtime drives the passes (`runtime/retention.ts`).
 *
 * The rules (docs/retention.md says them for users):
 * - Nothing that belongs to an unfinished run (pending, running, retrying, paused) is touched: not
 *   the run, not its event, not its payload, steps, log lines or activations.
 * - Past `payloadsDays`, an event's payload and headers become `{}` (its row stays, with
 *   `payload_removed_at` set, so the run history stays readable), its runs' step results are
 *   deleted, log lines are deleted and activation results and console output emptied.
 * - Past `metadataDays`, an event goes with all its runs, their attempts, steps, log lines,
 *   outbound calls and activations, once every run is finished and none was updated since the
 *   cutoff (a run replayed yesterday keeps its event's whole history). Activations of no run (web
 *   actions) go by their own age.
 * - Past `externalCallsDays`, external resource calls are deleted.
 * - Loop-guard fingerprints past their expiry are deleted (they are never matched again).
 *
 * A pass is a series of small calls ({@link RetentionRequest}), each examining at most `batchSize`
 * rows of one table in one short transaction, and handing back where it stopped; so a pass over a
 * large store never holds SQLite's writer, or PostgreSQL row locks, for long.
 */

/** How long each kind of record is kept, in days; null keeps it for as long as the store has it. */
export interface RetentionPolicy {
  /** Event payloads and headers, step results, run log lines, activation results and output. */
  payloadsDays: number | null
  /** Events with their finished runs, attempts, steps, log lines, outbound calls; activations. */
  metadataDays: number | null
  /** External resource calls (`POST /external/<name>`). */
  externalCallsDays: number | null
}

/** The tables a pass works through, in this order, each to its end before the next. */
export const RETENTION_TASKS = ['events', 'activations', 'run-logs', 'external-calls', 'fingerprints'] as const
export type RetentionTask = (typeof RETENTION_TASKS)[number]

/** Where a pass stands: the table being worked on and the last key examined in it. */
export interface RetentionCursor {
  task: RetentionTask
  after: number
}

export interface RetentionRequest {
  policy: RetentionPolicy
  /** Epoch ms the ages are measured from. */
  now: number
  /** The most rows one call examines. */
  batchSize: number
  /** The previous call's `next`; absent to begin a pass. */
  cursor?: RetentionCursor
}

/** What one call removed, per kind of record. */
export const RETENTION_COUNTS = [
  'eventPayloads',
  'events',
  'runs',
  'attempts',
  'steps',
  'runLogs',
  'outboundCalls',
  'activationPayloads',
  'activations',
  'externalCalls',
  'fingerprints',
] as const
export type RetentionCounts = Record<(typeof RETENTION_COUNTS)[number], number>

export interface RetentionBatch {
  removed: RetentionCounts
  /** Where the next call goes on; null when the pass is complete. */
  next: RetentionCursor | null
  /** True when another process sharing the store was applying retention: this pass stopped. */
  busy?: boolean
}

const DAY_MS = 86_400_000

/** Epoch ms before which each kind of record is past its retention; null where it is kept. */
export interface RetentionCutoffs {
  payloads: number | null
  metadata: number | null
  externalCalls: number | null
  /** Fingerprints expired before this are deleted: always `now`. */
  fingerprints: number
}

export function retentionCutoffs(policy: RetentionPolicy, now: number): RetentionCutoffs {
  const before = (days: number | null) => (days === null || days <= 0 ? null : Math.floor(now - days * DAY_MS))
  return { payloads: before(policy.payloadsDays), metadata: before(policy.metadataDays), externalCalls: before(policy.externalCallsDays), fingerprints: now }
}

/** Whether a task has anything to do under these cutoffs. */
function applies(task: RetentionTask, cut: RetentionCutoffs): boolean {
  switch (task) {
    case 'events':
    case 'activations':
      return cut.payloads !== null || cut.metadata !== null
    case 'run-logs':
      return cut.payloads !== null
    case 'external-calls':
      return cut.externalCalls !== null
    case 'fingerprints':
      return true
  }
}

/** The task a call works on: the cursor's, or the first that applies. */
export function currentCursor(request: RetentionRequest): RetentionCursor {
  if (request.cursor) return request.cursor
  const cut = retentionCutoffs(request.policy, request.now)
  return { task: RETENTION_TASKS.find((task) => applies(task, cut))!, after: 0 }
}

/**
 * The cursor after a call that examined `examined` rows of `cursor.task`, the last with key
 * `lastKey`: the same task further on while batches come back full, then the next task that
 * applies, then null.
 *
 * @example
 * nextCursor({ task: 'events', after: 0 }, 500, 500, 812, cutoffs) // { task: 'events', after: 812 }
 */
export function nextCursor(cursor: RetentionCursor, examined: number, batchSize: number, lastKey: number, cut: RetentionCutoffs): RetentionCursor | null {
  if (examined >= batchSize) return { task: cursor.task, after: lastKey }
  const following = RETENTION_TASKS.slice(RETENTION_TASKS.indexOf(cursor.task) + 1).find((task) => applies(task, cut))
  return following ? { task: following, after: 0 } : null
}

/** What one step of a task looked at: how many rows, and the key of the last (the next step's `after`). */
export interface Examined {
  examined: number
  lastKey: number
}

/** A step over a batch of rows: null when it found none (the task is over). */
export function examinedRows(rows: { seq: number | string }[]): Examined | null {
  return rows.length ? { examined: rows.length, lastKey: Number(rows.at(-1)!.seq) } : null
}

/**
 * Records that belong to no run: everything past its cutoff goes, oldest first, a batch at a time
 * (no cursor: what is left after a delete is the next batch). The cutoff and the count share a name.
 */
export const AGED_OUT = {
  'external-calls': { table: 'external_calls', key: 'id', time: 'started_at', counted: 'externalCalls' },
  fingerprints: { table: 'fingerprints', key: 'key', time: 'expires_at', counted: 'fingerprints' },
} as const

/** The step of an aged-out task that deleted `gone` rows. */
export function agedOut(gone: number): Examined | null {
  return gone ? { examined: gone, lastKey: 0 } : null
}

export function noneRemoved(): RetentionCounts {
  return Object.fromEntries(RETENTION_COUNTS.map((kind) => [kind, 0])) as RetentionCounts
}

/**
 * An examined row as either store reads it: numbers may arrive as strings (PostgreSQL's bigint)
 * and flags as 0/1 (SQLite).
 */
type Loose<T> = { [K in keyof T]: T[K] extends boolean ? boolean | number : T[K] extends number ? number | string : T[K] extends number | null ? number | string | null : T[K] }

/** What retention reads of an event: its time, whether its payload is gone, and its runs' state. */
export type EventFacts = Loose<{ seq: number; received_at: number; removed: boolean; unfinished: boolean; last_update: number | null }>

/** What retention reads of an activation. */
export type ActivationFacts = Loose<{ seq: number; started_at: number; run_id: number | null; empty: boolean; unfinished: boolean }>

/** The rows to delete (`gone`) and to empty (`emptied`), by key. */
export interface RetentionDecision {
  gone: number[]
  emptied: number[]
}

/**
 * Events: past the metadata cutoff with every run finished and none updated since, the whole
 * history goes; past the payload cutoff with every run finished, the payload and step results.
 */
export function decideEvents(rows: EventFacts[], cut: RetentionCutoffs): RetentionDecision {
  const decision: RetentionDecision = { gone: [], emptied: [] }
  for (const row of rows) {
    if (row.unfinished) continue
    const received = Number(row.received_at)
    if (cut.metadata !== null && received < cut.metadata && Number(row.last_update ?? 0) < cut.metadata) decision.gone.push(Number(row.seq))
    else if (cut.payloads !== null && received < cut.payloads && !row.removed) decision.emptied.push(Number(row.seq))
  }
  return decision
}

/**
 * Activations: of no run past the metadata cutoff, deleted (those of runs go with their event);
 * past the payload cutoff, result and console output emptied. None of an unfinished run.
 */
export function decideActivations(rows: ActivationFacts[], cut: RetentionCutoffs): RetentionDecision {
  const decision: RetentionDecision = { gone: [], emptied: [] }
  for (const row of rows) {
    if (row.unfinished) continue
    const started = Number(row.started_at)
    if (cut.metadata !== null && row.run_id === null && started < cut.metadata) decision.gone.push(Number(row.seq))
    else if (cut.payloads !== null && started < cut.payloads && !row.empty) decision.emptied.push(Number(row.seq))
  }
  return decision
}

/** The later of the cutoffs that apply: rows newer than this are past none of them. */
export function latestCutoff(...cutoffs: (number | null)[]): number | null {
  const set = cutoffs.filter((c): c is number => c !== null)
  return set.length ? Math.max(...set) : null
}

/**
 * Thrown by `replayRun` for a run whose event's payload was removed (by retention or an
 * expunge): running the action again on `{}` would do the wrong thing quietly. Its name survives
 * the SQLite thread (which rebuilds errors as plain Errors), so test with {@link isPayloadRemovedError}.
 */
export class PayloadRemovedError extends Error {
  constructor(runId: number, removedAt: number) {
    super(
      `run ${runId} cannot be replayed: its event's payload was removed on ${new Date(removedAt).toISOString()} ` +
        '(retention or an expunge), and the action would run without its data',
    )
    this.name = 'PayloadRemovedError'
  }
}

export function isPayloadRemovedError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'PayloadRemovedError'
}
