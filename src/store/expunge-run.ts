/**
 * @module
 * Runs an expunge against any store: searches every table a window at a time (so a large store is
 * never blocked for long, and progress can be shown), then writes every change and the audit
 * record in one transaction. The CLI and the admin API both call {@link expunge}.
 */
import { EXPUNGE_TABLES, summarize, type ExpungeChange, type ExpungedEvent, type ExpungeRecord, type ExpungeRequester, type ExpungeTable } from './expunge-plan.ts'
import { normalizeSubject, subjectDigest, type ExpungeSubject } from './expunge-subject.ts'
import type { Store } from './store.ts'

export interface ExpungeOptions {
  requestedBy: ExpungeRequester
  /** Search and report, change nothing, write no audit record. */
  dryRun?: boolean
  /** After each window: `tablesDone` tables of {@link EXPUNGE_TABLES} are searched, and `table` up to `fraction`. */
  onProgress?: (progress: { tablesDone: number; table: ExpungeTable; fraction: number }) => void
}

/** The audit record written, or for a dry run what it would say (with `id` null). */
export type ExpungeReport = Omit<ExpungeRecord, 'id'> & { id: number | null; dryRun: boolean }

/**
 * Removes the subject's personal data from everything the store keeps and records the expunge.
 *
 * @throws RangeError when the subject is not a valid email address or order id
 * @example
 * const report = await expunge(store, { kind: 'customer-email', value: 'ann.lee@example.com' }, { requestedBy: 'cli' })
 * report.removed.counts.events // events whose payload was removed
 */
export async function expunge(store: Store, subject: ExpungeSubject, options: ExpungeOptions): Promise<ExpungeReport> {
  const normalized = normalizeSubject(subject)
  const events: ExpungedEvent[] = []
  const changes: ExpungeChange[] = []
  let ownRuns: number[] = []
  for (const [tablesDone, table] of EXPUNGE_TABLES.entries()) {
    let after = 0
    for (;;) {
      const found = await store.searchExpunge({ subject: normalized, table, after, ownRuns })
      events.push(...found.events)
      changes.push(...found.changes)
      const fraction = found.next === null || found.last <= 0 ? 1 : Math.min(1, found.next / found.last)
      options.onProgress?.({ tablesDone: found.next === null ? tablesDone + 1 : tablesDone, table, fraction })
      if (found.next === null) break
      after = found.next
    }
    if (table === 'events') ownRuns = events.flatMap((event) => event.runIds)
  }
  if (options.dryRun) {
    return {
      id: null,
      dryRun: true,
      at: Date.now(),
      requestedBy: options.requestedBy,
      subjectKind: normalized.kind,
      subjectDigest: subjectDigest(normalized),
      removed: summarize(events, changes),
    }
  }
  const record = await store.applyExpunge({ subject: normalized, requestedBy: options.requestedBy, events, changes })
  return { ...record, dryRun: false }
}
