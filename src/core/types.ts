/**
 * @module
 * The records storehook keeps, and the words for them (use these in code, docs and UI, and no
 * synonyms):
 *
 * - **source**: a configured inbound endpoint for one platform account (`standard-webhooks`, …).
 *   It verifies a request and turns it into events.
 * - **event**: one verified, persisted notification; immutable. Identified by (source, id), where
 *   id is the platform's id (or a digest where the platform gives none).
 * - **action**: user code that consumes events of some types.
 * - **run**: one action applied to one event. `pending → running → succeeded`, or
 *   `→ retrying → … → dead`. A replay creates a new run; the old one is kept.
 * - **attempt**: one try of a run: start, end, outcome, error.
 * - **connection**: a configured outbound client (a platform callback or an `http` target).
 * - **ordering key**: runs of one action with the same key execute one at a time, in event order;
 *   other keys go on.
 * - **store**: the persistence contract, with a SQLite and a PostgreSQL implementation.
 */

/** What a source produces from one verified request: an event not yet stored. */
export interface InboundEvent {
  /** The platform's id for this notification; the dedupe key within the source. */
  id: string
  /** Normalized type, e.g. `observer.sales_order_save_after`, `orders.place`. */
  type: string
  /** The parsed JSON body (or the part of it that is this event, for batches). */
  payload: unknown
  /** Request headers with secrets removed (see `redactHeaders`). */
  headers: Record<string, string>
}

/** An event as the store keeps it. */
export interface StoredEvent extends InboundEvent {
  /** Store-wide ascending number: the order in which events became durable. */
  seq: number
  source: string
  /** Epoch milliseconds at which the event was committed. */
  receivedAt: number
}

/**
 * - `paused`: waiting for a connection's target to recover (its breaker is open); it did not
 *   spend a retry and resumes in order once a probe succeeds.
 * - `skipped`: not run because its event is older than one already delivered for the same
 *   ordering key (the action's `version` guard): finished, like `succeeded`.
 */
export const RUN_STATES = ['pending', 'running', 'succeeded', 'retrying', 'dead', 'paused', 'skipped'] as const
export type RunState = (typeof RUN_STATES)[number]

/** Runs in these states are finished; nothing will move them again except a replay (new run). */
export const TERMINAL_RUN_STATES: readonly RunState[] = ['succeeded', 'dead', 'skipped']

export interface Run {
  id: number
  eventSeq: number
  source: string
  eventId: string
  eventType: string
  action: string
  state: RunState
  /** Attempts started so far, including the one running now. */
  attempts: number
  maxAttempts: number
  orderingKey: string | null
  /** Epoch ms from which a `pending`/`retrying` run may be claimed. */
  runAt: number
  /** Epoch ms after which a `running` run is presumed abandoned and may be reclaimed. */
  leaseExpiresAt: number | null
  workerId: string | null
  lastError: string | null
  /** The run this one replays, if it is a replay. */
  replayOf: number | null
  /** While `paused`: the connection whose target it waits for. */
  pausedOn: string | null
  createdAt: number
  updatedAt: number
}

/** `interrupted` and `paused` attempts do not count against the run's retries. */
export type AttemptOutcome = 'succeeded' | 'failed' | 'dead' | 'interrupted' | 'paused' | 'skipped'

export interface Attempt {
  runId: number
  /** 1-based. */
  number: number
  workerId: string
  startedAt: number
  /** Null while the attempt is in progress (or its process died; see `interrupted`). */
  endedAt: number | null
  outcome: AttemptOutcome | null
  errorMessage: string | null
  errorStack: string | null
}
