/**
 * @module
 * Group commit: writes that arrive within a short window share one transaction, so one fsync
 * makes many of them durable. With `synchronous=FULL` a commit costs an fsync (about 8k commits/s
 * on the reference machine); batching keeps that cost per batch instead of per event.
 *
 * Each write is a synchronous function run inside the shared transaction under its own savepoint,
 * so one failing write rolls back alone and the others still commit. Every caller's promise
 * settles only after COMMIT returns: a resolved write is durable.
 */
import type { DatabaseSync } from 'node:sqlite'

interface PendingWrite {
  work: () => unknown
  resolve: (value: any) => void
  reject: (error: unknown) => void
}

/** Flush at once when this many writes are waiting, whatever the window. */
const MAX_BATCH = 512

export class GroupCommit {
  readonly #db: DatabaseSync
  readonly #windowMs: number
  #queue: PendingWrite[] = []
  #scheduled = false

  /** @param windowMs how long the first write of a batch waits for company; 0 = next tick. */
  constructor(db: DatabaseSync, windowMs: number) {
    this.#db = db
    this.#windowMs = windowMs
  }

  /**
   * Runs `work` in the next batch's transaction; resolves with its result once committed.
   *
   * @example
   * const seq = await commits.write(() => insertEvent.get(...).seq)
   */
  write<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve, reject })
      if (this.#queue.length >= MAX_BATCH) this.flush()
      else this.#schedule()
    })
  }

  /** Commits whatever is waiting, now. */
  flush(): void {
    const batch = this.#queue
    this.#queue = []
    if (batch.length === 0) return
    const results: { ok: boolean; value: unknown }[] = []
    try {
      this.#db.exec('BEGIN IMMEDIATE')
    } catch (error) {
      for (const write of batch) write.reject(error)
      return
    }
    for (const write of batch) {
      this.#db.exec('SAVEPOINT write')
      try {
        results.push({ ok: true, value: write.work() })
        this.#db.exec('RELEASE write')
      } catch (error) {
        this.#db.exec('ROLLBACK TO write')
        this.#db.exec('RELEASE write')
        results.push({ ok: false, value: error })
      }
    }
    try {
      this.#db.exec('COMMIT')
    } catch (error) {
      // Disk full, I/O error: nothing in this batch is durable, so nobody may be told otherwise.
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      for (const write of batch) write.reject(error)
      return
    }
    batch.forEach((write, i) => {
      const result = results[i]!
      if (result.ok) write.resolve(result.value)
      else write.reject(result.value)
    })
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
