/**
 * @module
 * Group commit on PostgreSQL: writes that arrive within a short window share one transaction, so
 * one commit (one WAL flush with `synchronous_commit=on`) makes many of them durable. A commit
 * costs a round trip and a flush (about 3.8k single-row commits/s from one client on the reference
 * machine); batching keeps that cost per batch instead of per event.
 *
 * Each caller learns its own outcome, and one failing write does not fail the others. The batch is
 * first run optimistically without savepoints (one round trip per write); if any write fails, the
 * transaction is rolled back and the whole batch runs again with a savepoint around each write, so
 * the failing one rolls back alone. Failures are rare (bad input, a deadlock with another process),
 * so the common case pays no savepoint round trips. A write's work may therefore run twice: it must
 * only talk to the database through the client it is given.
 *
 * Writes of one kind can also be *combined*: a write may bring, besides its own work, an input
 * for a {@link Combined} runner that takes every such write of the batch in one statement (ingest
 * does: one INSERT for a whole batch of events instead of one per event). That happens in the
 * optimistic pass only; if it throws, the savepoint pass runs each write's own work.
 *
 * A batch is made of writes of one combined kind when the oldest waiting write has one, so that
 * it can go as that one statement alone, in autocommit: one round trip instead of BEGIN,
 * statement, NOTIFY and COMMIT, each of which waits for another process on a shared CPU. A single
 * statement is atomic on its own; its NOTIFY is sent right after, which PostgreSQL would
 * have delivered at that commit anyway.
 *
 * Every caller's promise settles only after its commit returns (COMMIT, or the autocommitted
 * statement): a resolved write is durable. If COMMIT fails (or the connection drops during it)
 * every write of the batch is rejected; an ingest the server then answers with 503 is retried by
 * the platform and deduplicated if it had committed.
 *
 * Several batches may be in flight at once on different pooled connections (`maxBatches`), so a
 * slow commit does not stall the writes arriving meanwhile.
 */
import type { Pool, PoolClient } from 'pg'

/** What a write may ask of the batch it runs in. */
export interface WriteContext {
  /** NOTIFY the runs-available channel when this write commits (it made runs claimable). */
  notify(): void
}

export type Work<T> = (client: PoolClient, ctx: WriteContext) => Promise<T>

/**
 * Runs many writes of one kind at once. Must return one result per input, in order, or throw (all
 * of them then run again alone, through their own work, in the savepoint pass).
 */
export interface Combined<I, T> {
  run(client: PoolClient, inputs: I[], ctx: WriteContext): Promise<T[]>
  /** `run` sends exactly one statement: a batch of these writes alone may commit it in autocommit. */
  readonly oneStatement?: boolean
}

interface PendingWrite {
  work: Work<unknown>
  combine: { with: Combined<any, unknown>; input: unknown } | undefined
  resolve: (value: any) => void
  reject: (error: unknown) => void
}

/** Flush at once when this many writes are waiting, whatever the window. */
const MAX_BATCH = 256

export interface GroupCommitOptions {
  /** How long the first write of a batch waits for company; 0 = next tick. */
  windowMs: number
  /** Batches in flight at once, each on its own pooled connection. */
  maxBatches: number
  /** Runs inside a transaction whose writes asked to notify, just before its COMMIT. */
  notify: (client: PoolClient) => Promise<unknown>
}

export class GroupCommit {
  readonly #pool: Pool
  readonly #options: GroupCommitOptions
  #queue: PendingWrite[] = []
  #timer: NodeJS.Timeout | NodeJS.Immediate | null = null
  #inFlight = new Set<Promise<void>>()

  constructor(pool: Pool, options: GroupCommitOptions) {
    this.#pool = pool
    this.#options = options
  }

  /**
   * Runs `work` in the next batch's transaction; resolves with its result once committed.
   * With `combine`, the batch may instead run `combine.with` once over every write that names it.
   *
   * @example
   * const seq = await commits.write(async (client) => (await client.query(sql, params)).rows[0].seq)
   */
  write<T, I = never>(work: Work<T>, combine?: { with: Combined<I, T>; input: I }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, combine, resolve, reject })
      if (this.#queue.length >= MAX_BATCH) this.#startBatches()
      else this.#schedule()
    })
  }

  /** Commits whatever is waiting, now, and resolves once every batch in flight has settled. */
  async flush(): Promise<void> {
    this.#clearTimer()
    while (this.#queue.length > 0 || this.#inFlight.size > 0) {
      this.#startBatches()
      await Promise.race(this.#inFlight)
    }
  }

  #schedule(): void {
    if (this.#timer) return
    const fire = () => {
      this.#timer = null
      this.#startBatches()
    }
    this.#timer = this.#options.windowMs > 0 ? setTimeout(fire, this.#options.windowMs) : setImmediate(fire)
  }

  #clearTimer(): void {
    if (this.#timer === null) return
    if (this.#options.windowMs > 0) clearTimeout(this.#timer as NodeJS.Timeout)
    else clearImmediate(this.#timer as NodeJS.Immediate)
    this.#timer = null
  }

  /** Starts batches for the waiting writes while there are free batch slots. */
  #startBatches(): void {
    while (this.#queue.length > 0 && this.#inFlight.size < this.#options.maxBatches) {
      this.#clearTimer()
      const batch = this.#takeBatch()
      const running: Promise<void> = this.#commit(batch).finally(() => {
        this.#inFlight.delete(running)
        // Writes that queued while every slot was busy have waited long enough: go now.
        if (this.#queue.length >= MAX_BATCH || (this.#queue.length > 0 && this.#timer === null)) this.#startBatches()
      })
      this.#inFlight.add(running)
    }
  }

  /**
   * The next batch: up to MAX_BATCH writes combined like the oldest one, when it is combined (the
   * rest keep their places), else the oldest MAX_BATCH. Batches in flight at once commit in no
   * given order anyway, so taking writes of one kind ahead of others promises nothing less.
   */
  #takeBatch(): PendingWrite[] {
    const kind = this.#queue[0]!.combine?.with
    if (!kind?.oneStatement) return this.#queue.splice(0, MAX_BATCH)
    const batch: PendingWrite[] = []
    const rest: PendingWrite[] = []
    for (const write of this.#queue) {
      if (write.combine?.with === kind && batch.length < MAX_BATCH) batch.push(write)
      else rest.push(write)
    }
    this.#queue = rest
    return batch
  }

  async #commit(batch: PendingWrite[]): Promise<void> {
    let client: PoolClient
    try {
      client = await this.#pool.connect()
    } catch (error) {
      for (const write of batch) write.reject(error)
      return
    }
    let broken: Error | undefined
    try {
      const alone = await this.#runAlone(client, batch)
      let results = alone?.results ?? (await this.#runBatch(client, batch, false))
      if (results === null) results = (await this.#runBatch(client, batch, true))!
      batch.forEach((write, i) => {
        const result = results[i]!
        if (result.ok) write.resolve(result.value)
        else write.reject(result.value)
      })
      if (alone?.notify) await this.#options.notify(client)
    } catch (error) {
      // BEGIN, COMMIT or the connection failed: nothing in this batch may be called durable.
      broken = error as Error
      await client.query('ROLLBACK').catch(() => {})
      for (const write of batch) write.reject(error)
    } finally {
      // A client whose transaction state is unknown is not given back to the pool.
      client.release(broken)
    }
  }

  /**
   * A batch of one-statement combined writes of one kind, as that statement alone in autocommit.
   * Null when the batch is not such a batch or the statement failed (nothing was committed then:
   * the caller goes on to the transaction passes).
   */
  async #runAlone(client: PoolClient, batch: PendingWrite[]): Promise<{ results: { ok: true; value: unknown }[]; notify: boolean } | null> {
    const kind = batch[0]!.combine?.with
    // #takeBatch gives a batch whose oldest write is of such a kind only writes of that kind.
    if (!kind?.oneStatement) return null
    let notify = false
    let values: unknown[]
    try {
      values = await kind.run(client, batch.map((write) => write.combine!.input), { notify: () => (notify = true) })
    } catch {
      return null
    }
    if (values.length !== batch.length) throw new Error(`a combined write returned ${values.length} results for ${batch.length} writes`)
    return { results: values.map((value) => ({ ok: true, value })), notify }
  }

  /**
   * One pass over the batch in one transaction. Without savepoints, combinable writes run
   * combined, and this returns null (after rolling back) as soon as anything fails, for the
   * caller to run the batch again with savepoints, each write through its own work.
   */
  async #runBatch(
    client: PoolClient,
    batch: PendingWrite[],
    savepoints: boolean,
  ): Promise<{ ok: boolean; value: unknown }[] | null> {
    const results: { ok: boolean; value: unknown }[] = new Array(batch.length)
    let notify = false
    const ctx: WriteContext = { notify: () => (notify = true) }
    await client.query('BEGIN')
    const alone: number[] = []
    if (savepoints) alone.push(...batch.keys())
    else {
      const groups = new Map<Combined<unknown, unknown>, number[]>()
      batch.forEach((write, i) => {
        if (!write.combine) return alone.push(i)
        const group = groups.get(write.combine.with) ?? []
        group.push(i)
        groups.set(write.combine.with, group)
      })
      for (const [combined, indexes] of groups) {
        try {
          const values = await combined.run(client, indexes.map((i) => batch[i]!.combine!.input), ctx)
          if (values.length !== indexes.length) throw new Error(`a combined write returned ${values.length} results for ${indexes.length} writes`)
          indexes.forEach((i, k) => (results[i] = { ok: true, value: values[k] }))
        } catch {
          await client.query('ROLLBACK')
          return null
        }
      }
    }
    for (const i of alone) {
      const write = batch[i]!
      let wantsNotify = false
      const writeCtx: WriteContext = { notify: () => (wantsNotify = true) }
      if (savepoints) await client.query('SAVEPOINT write')
      try {
        results[i] = { ok: true, value: await write.work(client, writeCtx) }
        if (savepoints) await client.query('RELEASE SAVEPOINT write')
        notify ||= wantsNotify
      } catch (error) {
        if (!savepoints) {
          await client.query('ROLLBACK')
          return null
        }
        await client.query('ROLLBACK TO SAVEPOINT write')
        await client.query('RELEASE SAVEPOINT write')
        results[i] = { ok: false, value: error }
      }
    }
    if (notify) await this.#options.notify(client)
    await client.query('COMMIT')
    return results
  }
}
