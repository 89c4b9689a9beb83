/**
 * @module
 * The Store contract: everything storehook persists goes through it, and every implementation
 * (SQLite, PostgreSQL) passes the same contract suite (`contract.ts`).
 *
 * Rules every implementation keeps:
 * - `ingest` resolves only once the event and its runs are durable (committed, fsynced as
 *   configured). The server acknowledges the platform only after that.
 * - An event is unique on (source, id). A repeated delivery stores nothing new, creates no run,
 *   and is reported as a duplicate.
 * - `claimRuns` hands a run to one worker at a time, never hands out a run whose ordering key has
 *   an earlier unfinished run of the same action, and reclaims `running` runs whose lease expired.
 * - Writes that arrive close together may share one transaction (group commit); each caller still
 *   learns its own outcome.
 */
import type { SlotBackend } from '../core/slots.ts'
import { RUN_STATES, TERMINAL_RUN_STATES, type Attempt, type InboundEvent, type Run, type RunState, type StoredEvent } from '../core/types.ts'
import type { ExpungeApplyRequest, ExpungeFilter, ExpungeRecord, ExpungeSearchRequest, ExpungeSearchResult } from './expunge-plan.ts'
import type { RetentionBatch, RetentionRequest } from './retention.ts'

export interface NewRun {
  action: string
  orderingKey: string | null
  maxAttempts: number
  /**
   * Epoch ms before which the run may not be claimed (a delayed or scheduled run); default: the
   * ingest's time. A run not yet due is never started by an {@link IngestClaim}. While it waits it
   * is unfinished, so it holds its ordering key like a retrying run does.
   */
  runAt?: number
}

export interface IngestItem {
  source: string
  event: InboundEvent
  /** One run per action subscribed to the event; created only if the event is new. */
  runs: NewRun[]
}

export interface IngestOutcome {
  seq: number
  duplicate: boolean
  /** Ids of the runs created (empty for a duplicate). */
  runIds: number[]
  /** Runs started at once for the ingesting worker (see {@link IngestClaim}); absent if none. */
  claimed?: ClaimedRun[]
}

/**
 * Lets the worker of the process that ingests start the new runs in the ingest transaction itself,
 * sparing each event a claim transaction and a re-read. A run is claimed only within its action's
 * `limit` and only if no earlier run with its ordering key is unfinished; the others stay pending
 * for any worker. An implementation may claim none (the worker then claims them as usual).
 */
export interface IngestClaim {
  workerId: string
  /** Per action: how many new runs this worker can start now, and the lease they get. */
  slots: Record<string, { limit: number; leaseMs: number }>
}

export interface ClaimRequest {
  workerId: string
  action: string
  limit: number
  /** How long the claimed runs stay this worker's before another may reclaim them. */
  leaseMs: number
}

export interface ClaimedRun {
  /** The run, already `running`, with `attempts` counting the attempt just started. */
  run: Run
  event: StoredEvent
}

export type AttemptEnd =
  /**
   * `fingerprints`: what the run asked to remember (loop suppression); `version`: the entity
   * version it delivered (the stale-update guard). Both are written only with its success.
   */
  | { outcome: 'succeeded'; fingerprints?: Fingerprint[]; version?: EntityVersion }
  | { outcome: 'failed'; error: Error; retryAt: number }
  | { outcome: 'dead'; error: Error }
  /**
   * The run needs a connection whose breaker is open: it waits, without spending a retry, until
   * {@link Store.resumePausedRuns} is called for that connection.
   */
  | { outcome: 'paused'; connection: string; error: Error }
  /** The event is older than one already delivered for the run's ordering key: finished, not run. */
  | { outcome: 'skipped'; reason: string }

/** The stale-update guard's record: the newest version of an entity an action has delivered. */
export interface EntityVersion {
  action: string
  orderingKey: string
  version: string
}

/** A durable step's result, as `ctx.step` stored it (see runtime/steps.ts). */
export interface Step {
  runId: number
  name: string
  /** The attempt that finished the step. */
  attempt: number
  /** The step's result, parsed from the JSON it was stored as. */
  result: unknown
  finishedAt: number
}

export interface NewStep {
  runId: number
  name: string
  attempt: number
  /** The result as JSON text; '' for `undefined` (a step that returns nothing). */
  result: string
  finishedAt: number
}

/**
 * Loop suppression for two-way sync: a digest of what an action wrote to a system, kept under a
 * key (`product:<sku>`) until `expiresAt`, so that the system's echo of that write can be known.
 */
export interface Fingerprint {
  key: string
  digest: string
  /** Epoch ms. */
  expiresAt: number
}

export interface FinishAttempt {
  runId: number
  workerId: string
  /** The attempt number being finished (the run's `attempts` when it was claimed). */
  attempt: number
  end: AttemptEnd
}

export interface EventFilter {
  source?: string
  type?: string
  /** Epoch ms, inclusive. */
  since?: number
  /** Epoch ms, exclusive. */
  until?: number
  /** Substring of the event id. */
  idContains?: string
  /** Page backwards from this seq (exclusive). */
  beforeSeq?: number
  limit?: number
}

export interface RunFilter {
  state?: RunState
  action?: string
  source?: string
  type?: string
  /** Run creation time, epoch ms, inclusive. */
  since?: number
  /** Run creation time, epoch ms, exclusive. */
  until?: number
  /** Substring of the event id. */
  eventIdContains?: string
  /** Page backwards from this run id (exclusive). */
  beforeId?: number
  limit?: number
}

export interface EventsInMinute {
  source: string
  /** The minute's start, epoch ms. */
  minute: number
  count: number
}

export interface EventWithDeliveries extends StoredEvent {
  /** How many times the platform delivered this event again after the first. */
  duplicateDeliveries: number
  /**
   * Epoch ms at which retention or an expunge removed the payload and headers (both are then
   * `{}`); absent while they are kept. Such an event's runs cannot be replayed.
   */
  payloadRemovedAt?: number
}

/** How an external resource call ended (see `runtime/external/`). */
export type ExternalCallOutcome =
  /** The handler's answer was sent (2xx, or its own error envelope such as a failed validation). */
  | 'answered'
  /** The handler threw an ExternalResourceError: its error envelope was sent. */
  | 'refused'
  /** The handler was still running at the deadline. */
  | 'timeout'
  /** The handler threw something else. */
  | 'error'
  /** The handler's answer failed its kind's schema. */
  | 'invalid'

/** What answered instead of the handler: nothing (`none`), or the configured fallback that did. */
export type ExternalFallback = 'none' | 'last-good' | 'static' | 'error'

/** One call to an external resource, as recorded (off the response path, in batches). */
export interface NewExternalCall {
  resource: string
  /** `commerce-layer/price`, … */
  kind: string
  /** Epoch ms at which the request arrived. */
  startedAt: number
  /** From arrival to the answer being ready, in ms (fractions kept). */
  durationMs: number
  /** Hex SHA-256 of what makes two calls "the same input" for this kind. */
  inputDigest: string
  /** The HTTP status sent. */
  status: number
  outcome: ExternalCallOutcome
  fallback: ExternalFallback
  /** The exact JSON body sent. */
  answer: string
  /** Why the handler's answer was not used (timeout, the error's message, the schema problem). */
  error: string | null
}

export interface ExternalCall extends Omit<NewExternalCall, 'answer'> {
  id: number
  /** The body sent, parsed. */
  answer: unknown
}

export interface ExternalCallFilter {
  resource?: string
  outcome?: ExternalCallOutcome
  fallback?: ExternalFallback
  inputDigest?: string
  /** Epoch ms, inclusive. */
  since?: number
  /** Epoch ms, exclusive. */
  until?: number
  /** Page backwards from this id (exclusive). */
  beforeId?: number
  limit?: number
}

/**
 * The record of one invocation of an App Builder (OpenWhisk) action: what `runtime/app-builder/`
 * calls an activation. Kept so an operator can read an action's result and console output
 * afterwards, as `aio rt activation get` does on I/O Runtime.
 */
export interface ActivationRecord {
  activationId: string
  /** `<package>/<action>`. */
  action: string
  /** `event`, `web`, `invoke` or `webhook`. */
  cause: string
  /** Epoch ms. */
  start: number
  end: number
  /** `success`, `application error` or `action developer error`. */
  status: string
  result: Record<string, unknown>
  /** Console output lines, `<ISO time> stdout: <text>`. */
  logs: string[]
  /** main returned while work it started was still running. */
  leftWork: boolean
  /** The run it belongs to (event-consuming actions), else null. */
  runId: number | null
  attempt: number | null
}

export interface ActivationFilter {
  action?: string
  runId?: number
  /** Page backwards: activations that started before this epoch ms. */
  before?: number
  limit?: number
}

/** One line a run wrote during an attempt, redacted, as the runtime hands it to the store. */
export interface NewRunLogLine {
  runId: number
  attempt: number
  /** Epoch ms. */
  at: number
  /** pino's level names (`trace` … `fatal`), or `stdout` / `stderr` for console output. */
  level: string
  message: string
  /** The line's structured fields as JSON text, or null when it had none. */
  fields: string | null
}

export interface RunLogLine extends Omit<NewRunLogLine, 'fields'> {
  /** Grows in the order lines were written; the key for paging ({@link RunLogFilter.afterSeq}). */
  seq: number
  /** The fields, parsed (null when the line had none). */
  fields: Record<string, unknown> | null
}

export interface RunLogFilter {
  runId: number
  attempt?: number
  /** Substring of the message or the fields' JSON, compared without regard to (ASCII) case. */
  contains?: string
  /** Only lines of these levels. */
  levels?: readonly string[]
  /** Page forwards from this seq (exclusive). */
  afterSeq?: number
  limit?: number
}

/** One HTTP request a run sent through a connection (see `outbound_calls` in the migrations). */
export interface NewOutboundCall {
  runId: number
  attempt: number
  /** The connection's name in the config. */
  connection: string
  method: string
  /** Secret-looking query values already redacted. */
  url: string
  /** Null when no answer came (timeout, refused, aborted). */
  status: number | null
  /** Epoch ms. */
  startedAt: number
  durationMs: number
  error: string | null
  /** The W3C trace id the request carried, when tracing was on. */
  traceId: string | null
}

export interface OutboundCallRecord extends NewOutboundCall {
  seq: number
}

export interface OutboundCallFilter {
  runId: number
  /** Page forwards from this seq (exclusive). */
  afterSeq?: number
  limit?: number
}

export interface Store {
  /** Which implementation, for logs and health: `sqlite`, `postgres`. */
  readonly kind: string

  ingest(items: IngestItem[], claim?: IngestClaim): Promise<IngestOutcome[]>

  claimRuns(request: ClaimRequest): Promise<ClaimedRun[]>
  /** Records how an attempt ended. False when the run is no longer this worker's (lease lost). */
  finishAttempt(finish: FinishAttempt): Promise<boolean>
  /**
   * Gives back runs this worker holds without finishing them (at shutdown). Their attempt is
   * recorded as `interrupted` and does not count against the run's retries.
   */
  releaseRuns(workerId: string, runIds: number[]): Promise<void>
  /** Epoch ms at which the earliest not-yet-due run of `actions` becomes claimable, or null. */
  nextRunAt(actions: string[]): Promise<number | null>

  /** A new pending run of the same action for the same event; the old run is kept. */
  replayRun(runId: number): Promise<Run>
  /** Replays every dead run matching the filter that has not been replayed yet. */
  replayDeadRuns(filter: Omit<RunFilter, 'state' | 'beforeId' | 'limit'>): Promise<Run[]>

  listEvents(filter: EventFilter): Promise<EventWithDeliveries[]>
  getEvent(source: string, id: string): Promise<EventWithDeliveries | null>
  listRuns(filter: RunFilter): Promise<Run[]>
  getRun(id: number): Promise<Run | null>
  listAttempts(runId: number): Promise<Attempt[]>
  runsForEvent(eventSeq: number): Promise<Run[]>
  /**
   * Runs per state, each count exact up to `atMost` (default: no limit); a state with more runs
   * reports `atMost`, so a page can show "100 000+" without reading a million rows.
   */
  countRunsByState(atMost?: number): Promise<Record<RunState, number>>
  /**
   * Events received since `since` (epoch ms), counted per source and minute (`minute` is the
   * minute's start, epoch ms), for the overview's chart. Reads an index, not the events.
   */
  countEventsPerMinute(since: number): Promise<EventsInMinute[]>
  /** True when `digest` is the unexpired fingerprint recorded under `key` (see {@link Fingerprint}). */
  fingerprintMatches(key: string, digest: string, now: number): Promise<boolean>

  /** A run's finished steps, in the order they finished. */
  listSteps(runId: number): Promise<Step[]>
  /**
   * Stores a finished step before the run goes on, as durably as the run's own outcome: it
   * survives the process being killed; on SQLite a power loss may lose the last ones (no fsync
   * of their own, like all worker bookkeeping), and those steps then run again, as any
   * unfinished work does. The first result stored under (run, name) stays: when another attempt
   * already stored one (a lease lost mid-step), that one is returned, so every attempt continues
   * from the same result.
   */
  saveStep(step: NewStep): Promise<Step>
  /**
   * Makes runs paused on `connection` claimable again, oldest first: `limit` of them (a probe),
   * or all. Resolves to how many were resumed.
   */
  resumePausedRuns(connection: string, limit?: number): Promise<number>
  /** The newest version `action` delivered for `orderingKey` (see {@link EntityVersion}), or null. */
  latestVersion(action: string, orderingKey: string): Promise<string | null>

  /**
   * Optional: calls `listener` when another process sharing this store commits runs that may be
   * claimable now (an ingest, a replay, runs released at shutdown), so an idle worker can claim at
   * once instead of at its next poll. Writes made through this same Store object are not
   * reported (its caller already knows), and a notification may be spurious or, after a lost
   * connection, come once for several writes: listeners should just look. Implemented where
   * processes can share a store (PostgreSQL LISTEN/NOTIFY); absent on SQLite, where the worker
   * polls. Returns the function that unsubscribes.
   *
   * @example
   * const stop = store.onRunsAvailable?.(() => worker.wake())
   */
  onRunsAvailable?(listener: () => void): () => void

  /**
   * Optional: stores a batch of external resource calls. The runtime calls it off the response
   * path (queued, in batches), so it need not be fast, and it needs no fsync of its own: a record
   * lost to power loss costs no answer. A store without it records nothing; the runtime still
   * answers, counts and logs. Implemented by both stores.
   *
   * @example
   * await store.recordExternalCalls?.([{ resource: 'price', kind: 'commerce-layer/price', startedAt: Date.now(), durationMs: 3.2,
   *   inputDigest: 'ab…', status: 200, outcome: 'answered', fallback: 'none', answer: '{"success":true,"data":{}}', error: null }])
   */
  recordExternalCalls?(calls: NewExternalCall[]): Promise<void>
  /** Optional, with `recordExternalCalls`: recorded calls, newest first. */
  listExternalCalls?(filter: ExternalCallFilter): Promise<ExternalCall[]>

  /**
   * Optional: stores an activation record. Written without an fsync of its own (a record lost to
   * power loss loses no event: the run, if any, is recorded durably apart). Both stores have it.
   *
   * @example
   * await store.recordActivation?.({ activationId: 'a1b2…', action: 'my-app/order', cause: 'event', start, end,
   *   status: 'success', result: { statusCode: 200 }, logs: [], leftWork: false, runId: 7, attempt: 1 })
   */
  recordActivation?(activation: ActivationRecord): Promise<void>
  /** Optional, with `recordActivation`. */
  getActivation?(activationId: string): Promise<ActivationRecord | undefined>
  /** Optional, with `recordActivation`: newest first. */
  listActivations?(filter: ActivationFilter): Promise<ActivationRecord[]>

  /**
   * Optional: stores a batch of run log lines (see `runtime/run-log.ts`), in order. Written off
   * the run's path and without an fsync of their own, like external resource calls: a line lost
   * to power loss loses no event. Both stores have it.
   *
   * @example
   * await store.recordRunLogs?.([{ runId: 7, attempt: 1, at: Date.now(), level: 'info', message: 'order sent', fields: '{"sku":"A"}' }])
   */
  recordRunLogs?(lines: NewRunLogLine[]): Promise<void>
  /** Optional, with `recordRunLogs`: a run's lines in the order they were written. */
  listRunLogs?(filter: RunLogFilter): Promise<RunLogLine[]>
  /**
   * Optional: stores a batch of runs' outbound HTTP calls, written like {@link Store.recordRunLogs}.
   *
   * @example
   * await store.recordOutboundCalls?.([{ runId: 7, attempt: 1, connection: 'erp', method: 'POST', url: 'https://erp.example/orders',
   *   status: 201, startedAt: Date.now(), durationMs: 42.5, error: null, traceId: null }])
   */
  recordOutboundCalls?(calls: NewOutboundCall[]): Promise<void>
  /** Optional, with `recordOutboundCalls`: a run's calls in the order they were recorded. */
  listOutboundCalls?(filter: OutboundCallFilter): Promise<OutboundCallRecord[]>

  /**
   * Optional: connection slots (rate budgets, concurrency caps) shared by every process on this
   * store, handed to the connections once the store is open (`FlowRegistry.useBackend`).
   * PostgreSQL has them; SQLite, used by one process, leaves the slots in that process's memory.
   */
  readonly slots?: SlotBackend

  /**
   * Retention (see retention.ts): one small step of a pass, examining at most `batchSize` rows of
   * one table in one short transaction. Call again with `next` until it is null. On PostgreSQL a
   * step that finds another process applying retention does nothing and answers `busy`.
   *
   * @example
   * let cursor: RetentionCursor | null | undefined
   * do cursor = (await store.applyRetention({ policy, now: Date.now(), batchSize: 500, ...(cursor ? { cursor } : {}) })).next
   * while (cursor)
   */
  applyRetention(request: RetentionRequest): Promise<RetentionBatch>
  /**
   * Expunge (see expunge-plan.ts; `expunge()` in expunge-run.ts drives both steps): searches one
   * window of one table for the subject and says what to change. Reads only.
   */
  searchExpunge(request: ExpungeSearchRequest): Promise<ExpungeSearchResult>
  /** Writes an expunge's changes and its audit record in one durable transaction. */
  applyExpunge(request: ExpungeApplyRequest): Promise<ExpungeRecord>
  /** Audit records of expunges, newest first. */
  listExpunges(filter: ExpungeFilter): Promise<ExpungeRecord[]>

  /**
   * Resolves once the database has answered a trivial query through the path the store's own
   * queries take (SQLite: its thread; PostgreSQL: the pool, so an exhausted pool or a server that
   * went away shows as the runtime would feel it); rejects with the reason otherwise. For health
   * checks, so it stays cheap however much the store holds (`countRunsByState` reads every run).
   *
   * @example
   * await store.ping() // throws when the database cannot be reached
   */
  ping(): Promise<void>

  close(): Promise<void>
}

/**
 * `run_at` of a paused run: the largest time a Date can hold, so claims pass it by (and its
 * ordering key stays blocked behind it) until it resumes. A paused run is stored as `retrying`
 * with `paused_on` set; {@link storedState} reports it as `paused`.
 */
export const PAUSED_RUN_AT = 8_640_000_000_000_000

/**
 * The stored states of a run that is not finished (a paused run is stored as `retrying`), and the
 * same as an SQL list: `state IN ${UNFINISHED_STATES_SQL}`.
 */
export const UNFINISHED_STATES: ReadonlySet<string> = new Set(RUN_STATES.filter((state) => state !== 'paused' && !TERMINAL_RUN_STATES.includes(state)))
export const UNFINISHED_STATES_SQL = `(${[...UNFINISHED_STATES].map((state) => `'${state}'`).join(', ')})`

/** A run's state as reported, from its stored state and `paused_on`. */
export function storedState(state: RunState, pausedOn: unknown): RunState {
  return state === 'retrying' && pausedOn !== null && pausedOn !== undefined ? 'paused' : state
}

/** Page size when a filter gives none, and the most a filter may ask for. */
export const DEFAULT_PAGE_SIZE = 50
export const MAX_PAGE_SIZE = 1000

export function pageSize(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit) || limit <= 0) return DEFAULT_PAGE_SIZE
  return Math.min(Math.floor(limit), MAX_PAGE_SIZE)
}
