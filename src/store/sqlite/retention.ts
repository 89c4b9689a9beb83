/**
 * @module
 * Retention on SQLite (the rules are in ../retention.ts). Each call is one write through group
 * commit, examining at most `batchSize` rows of one table: a pass over a large store is many short
 * transactions, never one that holds the writer while ingests wait. Written without an fsync of
 * its own: a removal lost to power loss is simply done again by the next pass.
 *
 * A table is walked in key order up to the newest row past the cutoff, found through the table's
 * time index; rows are examined, not only the ones to remove, so a call's cost stays bounded even
 * where most old rows were handled by earlier passes.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import {
  AGED_OUT,
  agedOut,
  currentCursor,
  decideActivations,
  decideEvents,
  examinedRows,
  latestCutoff,
  nextCursor,
  noneRemoved,
  PayloadRemovedError,
  retentionCutoffs,
  type ActivationFacts,
  type EventFacts,
  type Examined,
  type RetentionBatch,
  type RetentionCounts,
  type RetentionCutoffs,
  type RetentionRequest,
  type RetentionTask,
} from '../retention.ts'
import { UNFINISHED_STATES_SQL } from '../store.ts'
import type { GroupCommit } from './group-commit.ts'

/** True for a row whose run is still unfinished (`alias.run_id`). */
const ofUnfinishedRun = (alias: string) => `EXISTS (SELECT 1 FROM runs u WHERE u.id = ${alias}.run_id AND u.state IN ${UNFINISHED_STATES_SQL})`

export function makeRetention(db: DatabaseSync, commits: GroupCommit) {
  const ids = (values: number[]) => JSON.stringify(values)
  const run = (statement: StatementSync, ...params: (number | string | null)[]) => Number(statement.run(...params).changes)

  // Events and activations: the rules are decideEvents and decideActivations (../retention.ts).
  const newestEvent = db.prepare('SELECT seq FROM events WHERE received_at < ? ORDER BY received_at DESC LIMIT 1')
  const examineEvents = db.prepare(/* sql */ `
    SELECT e.seq, e.received_at, e.payload_removed_at IS NOT NULL AS removed,
      EXISTS (SELECT 1 FROM runs r WHERE r.event_seq = e.seq AND r.state IN ${UNFINISHED_STATES_SQL}) AS unfinished,
      (SELECT max(r.updated_at) FROM runs r WHERE r.event_seq = e.seq) AS last_update
    FROM events e WHERE e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?`)
  const runsOfEvents = `SELECT id FROM runs WHERE event_seq IN (SELECT value FROM json_each(?))`
  const deleteByRuns = (table: string) => db.prepare(`DELETE FROM ${table} WHERE run_id IN (${runsOfEvents})`)
  const deleteSteps = deleteByRuns('steps')
  const deleteAttempts = deleteByRuns('attempts')
  const deleteRunLogs = deleteByRuns('run_logs')
  const deleteOutboundCalls = deleteByRuns('outbound_calls')
  const deleteActivations = deleteByRuns('activations')
  // A replay refers to the run it replays; both belong to the same event and go together.
  const deleteRuns = db.prepare('DELETE FROM runs WHERE event_seq IN (SELECT value FROM json_each(?))')
  const deleteEvents = db.prepare('DELETE FROM events WHERE seq IN (SELECT value FROM json_each(?))')
  const removePayloads = db.prepare(/* sql */ `
    UPDATE events SET payload = '{}', headers = '{}', payload_removed_at = ?
    WHERE seq IN (SELECT value FROM json_each(?)) AND payload_removed_at IS NULL`)

  function events(after: number, cut: RetentionCutoffs, batch: number, now: number, removed: RetentionCounts): Examined | null {
    const through = newestEvent.get(latestCutoff(cut.payloads, cut.metadata)) as { seq: number } | undefined
    if (!through) return null
    const rows = examineEvents.all(after, through.seq, batch) as EventFacts[]
    const { gone, emptied } = decideEvents(rows, cut)
    if (gone.length) {
      const list = ids(gone)
      removed.steps += run(deleteSteps, list)
      removed.attempts += run(deleteAttempts, list)
      removed.runLogs += run(deleteRunLogs, list)
      removed.outboundCalls += run(deleteOutboundCalls, list)
      removed.activations += run(deleteActivations, list)
      removed.runs += run(deleteRuns, list)
      removed.events += run(deleteEvents, list)
    }
    if (emptied.length) {
      removed.steps += run(deleteSteps, ids(emptied))
      removed.eventPayloads += run(removePayloads, now, ids(emptied))
    }
    return examinedRows(rows)
  }

  const newestActivation = db.prepare('SELECT seq FROM activations WHERE started_at < ? ORDER BY started_at DESC LIMIT 1')
  const examineActivations = db.prepare(/* sql */ `
    SELECT a.seq, a.started_at, a.run_id, a.result = '{}' AND a.logs = '[]' AS empty, ${ofUnfinishedRun('a')} AS unfinished
    FROM activations a WHERE a.seq > ? AND a.seq <= ? ORDER BY a.seq LIMIT ?`)
  const deleteActivationsBySeq = db.prepare('DELETE FROM activations WHERE seq IN (SELECT value FROM json_each(?))')
  const emptyActivations = db.prepare(`UPDATE activations SET result = '{}', logs = '[]' WHERE seq IN (SELECT value FROM json_each(?))`)

  function activations(after: number, cut: RetentionCutoffs, batch: number, removed: RetentionCounts): Examined | null {
    const through = newestActivation.get(latestCutoff(cut.payloads, cut.metadata)) as { seq: number } | undefined
    if (!through) return null
    const rows = examineActivations.all(after, through.seq, batch) as ActivationFacts[]
    const { gone, emptied } = decideActivations(rows, cut)
    if (gone.length) removed.activations += run(deleteActivationsBySeq, ids(gone))
    if (emptied.length) removed.activationPayloads += run(emptyActivations, ids(emptied))
    return examinedRows(rows)
  }

  const newestRunLog = db.prepare('SELECT seq FROM run_logs WHERE at < ? ORDER BY at DESC LIMIT 1')
  const examineRunLogs = db.prepare(`SELECT l.seq, l.at < ? AND NOT ${ofUnfinishedRun('l')} AS old FROM run_logs l WHERE l.seq > ? AND l.seq <= ? ORDER BY l.seq LIMIT ?`)
  const deleteRunLogsBySeq = db.prepare('DELETE FROM run_logs WHERE seq IN (SELECT value FROM json_each(?))')

  function runLogs(after: number, cut: RetentionCutoffs, batch: number, removed: RetentionCounts): Examined | null {
    const through = newestRunLog.get(cut.payloads) as { seq: number } | undefined
    if (!through) return null
    const rows = examineRunLogs.all(cut.payloads, after, through.seq, batch) as { seq: number; old: number }[]
    const gone = rows.filter((row) => row.old).map((row) => Number(row.seq))
    if (gone.length) removed.runLogs += run(deleteRunLogsBySeq, ids(gone))
    return examinedRows(rows)
  }

  const deleteAgedOut = Object.fromEntries(
    Object.entries(AGED_OUT).map(([task, { table, key, time }]) => [
      task,
      db.prepare(`DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${time} < ? ORDER BY ${time} LIMIT ?)`),
    ]),
  ) as Record<keyof typeof AGED_OUT, StatementSync>

  function step(task: RetentionTask, after: number, cut: RetentionCutoffs, batch: number, now: number, removed: RetentionCounts): Examined | null {
    switch (task) {
      case 'events':
        return events(after, cut, batch, now, removed)
      case 'activations':
        return activations(after, cut, batch, removed)
      case 'run-logs':
        return runLogs(after, cut, batch, removed)
      case 'external-calls':
      case 'fingerprints': {
        const { counted } = AGED_OUT[task]
        const gone = run(deleteAgedOut[task], cut[counted], batch)
        removed[counted] += gone
        return agedOut(gone)
      }
    }
  }

  return {
    applyRetention(request: RetentionRequest): Promise<RetentionBatch> {
      return commits.write(
        () => {
          const cut = retentionCutoffs(request.policy, request.now)
          const cursor = currentCursor(request)
          const removed = noneRemoved()
          const batch = Math.max(1, Math.floor(request.batchSize))
          const done = step(cursor.task, cursor.after, cut, batch, request.now, removed) ?? { examined: 0, lastKey: cursor.after }
          return { removed, next: nextCursor(cursor, done.examined, batch, done.lastKey, cut) }
        },
        { durable: false },
      )
    },
  }
}

/**
 * For `replayRun`, inside its write: refuses a run whose event's payload was removed.
 *
 * @example
 * const refuseRemovedPayload = makeReplayGuard(db)
 * refuseRemovedPayload(runId) // throws PayloadRemovedError
 */
export function makeReplayGuard(db: DatabaseSync): (runId: number) => void {
  const select = db.prepare('SELECT e.payload_removed_at AS at FROM runs r JOIN events e ON e.seq = r.event_seq WHERE r.id = ?')
  return (runId) => {
    const row = select.get(runId) as { at: number | null } | undefined
    if (row && row.at !== null) throw new PayloadRemovedError(runId, Number(row.at))
  }
}
