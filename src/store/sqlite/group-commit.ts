/**
 * @module
 * Group commit: writes that arrive within a short window share one transaction, so one fsync
 * makes many of them durable. With `synchronous=FULL` a commit costs an fsync (about 8k commits/s
 * on the reference machine); batching keeps that cost per batch instead of per event.
 *
 * Only writes someone is told about need the fsync: an acknowledged event, a replay. The worker's
 * own bookkeeping (claims, attempt outcomes) is written with `durable: false` and commits without
 * one (`synchronous=NORMAL`): a process crash still keeps it (WAL), and power loss can only take
 * back claims and outcomes since the last fsync, so those runs are run again (at least once),
 * never lost. The next durable commit fsyncs the WAL and with it every earlier commit.
 *
 * Each write is a synchronous function run inside the shared transaction; one failing write
 * rolls back alone and the others still commit (see `flush`). Every caller's promise settles only
 * after COMMIT returns: a resolved write is durable.
 */
import type { DatabaseSync } from 'node:sqlite'

interface PendingWrite {
  work: () => unknown
  durable: boolean
  resolve: (value: any) => void
  reject: (error: unknown) => void
}

/** Flush at once when this many writes are waiting, whatever the window. */
const MAX_BATCH = 512

export class GroupCommit {
  readonly #db: DatabaseSync
  readonly #windowMs: number
  readonly #fsyncDurable: boolean
  #queue: PendingWrite[] = []
  #scheduled = false
  #synchronous: 'FULL' | 'NORMAL' | null = null

  /**
   * @param windowMs how long the first write of a batch waits for company; 0 = next tick.
   * @param synchronous `full`: a batch holding a durable write fsyncs its commit; `normal`: none do.
   */
  constructor(db: DatabaseSync, windowMs: number, synchronous: 'full' | 'normal' = 'full') {
    this.#db = db
    this.#windowMs = windowMs
    this.#fsyncDurable = synchronous === 'full'
  }

  /**
   * Runs `work` in the next batch's transaction; resolves with its result once committed.
   *
   * @example
   * const seq = await commits.write(() => insertEvent.get(...).seq)
   */
  write<T>(work: () => T, { durable = true }: { durable?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, durable, resolve, reject })
      if (this.#queue.length >= MAX_BATCH) this.flush()
      else this.#schedule()
    })
  }

  /** Commits whatever is waiting, now. */
  flush(): void {
    const batch = this.#queue
    this.#queue = []
    if (batch.length === 0) return
    // Optimistic first: all writes in one transaction, no savepoints (two statements per write
    // saved). Writes are pure functions of the database, so if one throws the whole batch is
    // rolled back and run again with a savepoint per write, where a failure rolls back alone.
    const results = this.#transaction(batch, false) ?? this.#transaction(batch, true)
    if (results instanceof Error || results === null) {
      // Disk full, I/O error: nothing in this batch is durable, so nobody may be told otherwise.
      for (const write of batch) write.reject(results)
      return
    }
    batch.forEach((write, i) => {
      const result = results[i]!
      if (result.ok) write.resolve(result.value)
      else write.reject(result.value)
    })
  }

  /**
   * Runs the batch in one transaction and commits it. Returns each write's result, null when a
   * write failed and `isolate` is off (nothing committed), or the error that stopped the commit.
   */
  #transaction(batch: PendingWrite[], isolate: boolean): { ok: boolean; value: unknown }[] | Error | null {
    const db = this.#db
    const synchronous = this.#fsyncDurable && batch.some((write) => write.durable) ? 'FULL' : 'NORMAL'
    try {
      if (synchronous !== this.#synchronous) {
        db.exec(`PRAGMA synchronous = ${synchronous}`)
        this.#synchronous = synchronous
      }
      db.exec('BEGIN IMMEDIATE')
    } catch (error) {
      return error as Error
    }
    const results: { ok: boolean; value: unknown }[] = []
    for (const write of batch) {
      if (!isolate) {
        try {
          results.push({ ok: true, value: write.work() })
        } catch {
          // Some errors (SQLITE_FULL, SQLITE_IOERR) have already ended the transaction.
          if (db.isTransaction) db.exec('ROLLBACK')
          return null
        }
        continue
      }
      db.exec('SAVEPOINT write')
      try {
        results.push({ ok: true, value: write.work() })
        db.exec('RELEASE write')
      } catch (error) {
        db.exec('ROLLBACK TO write')
        db.exec('RELEASE write')
        results.push({ ok: false, value: error })
      }
    }
    try {
      db.exec('COMMIT')
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK')
      return error as Error
    }
    return results
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    const run = () => {
      this.#scheduled = false
      this.flush()
    }
    if (this.#windowMs > 0) setTimeout(run, this.#windowMs)
    else setImmediate(run)
  }
}
