/**
 * @module
 * LISTEN/NOTIFY: wakes idle workers in every process as soon as another process commits runs
 * (ingest, replay, release at shutdown), instead of after their poll interval.
 *
 * Writers call `pg_notify(channel, instanceId)` inside the committing transaction; PostgreSQL
 * delivers it only if and when that transaction commits, and folds repeats within one transaction
 * into one. Listeners hold one dedicated connection (not a pooled one: a pooled connection may be
 * handed to anyone, and LISTEN belongs to the session). A notification carrying this store's own
 * instance id is dropped: whoever wrote through this store already knows.
 *
 * The connection is opened when the first listener subscribes and reopened with backoff when it
 * drops; after a reconnect every listener is called once, because notifications sent while it
 * was down are lost.
 */
import pg from 'pg'

export type RunsAvailableListener = () => void

const MAX_BACKOFF_MS = 30_000

export class RunsAvailableChannel {
  readonly #config: pg.ClientConfig
  /** The channel name, as sent with pg_notify and listened to (quoted) with LISTEN. */
  readonly name: string
  readonly instanceId: string
  readonly #listeners = new Set<RunsAvailableListener>()
  #client: pg.Client | null = null
  #connecting: Promise<void> | null = null
  #retryTimer: NodeJS.Timeout | null = null
  #backoffMs = 250
  #closed = false

  constructor(config: pg.ClientConfig, schema: string, instanceId: string) {
    this.#config = config
    this.name = `${schema}.runs_available`
    this.instanceId = instanceId
  }

  /** Resolves once LISTEN is in place (so a test can notify right after). */
  subscribe(listener: RunsAvailableListener): { ready: Promise<void>; unsubscribe: () => void } {
    this.#listeners.add(listener)
    const ready = this.#closed ? Promise.resolve() : this.#ensureConnected()
    return {
      ready,
      unsubscribe: () => {
        this.#listeners.delete(listener)
        if (this.#listeners.size === 0) void this.#disconnect()
      },
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    await this.#disconnect()
  }

  #ensureConnected(): Promise<void> {
    if (this.#client) return Promise.resolve()
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = null))
    return this.#connecting
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#config)
    client.on('notification', (message) => {
      if (message.channel === this.name && message.payload !== this.instanceId) this.#emit()
    })
    client.on('error', () => this.#lost(client))
    client.on('end', () => this.#lost(client))
    try {
      await client.connect()
      await client.query(`LISTEN "${this.name}"`)
    } catch {
      client.removeAllListeners('end')
      client.on('error', () => {})
      await client.end().catch(() => {})
      this.#scheduleReconnect()
      return
    }
    if (this.#closed || this.#listeners.size === 0) {
      client.removeAllListeners('end')
      await client.end().catch(() => {})
      return
    }
    this.#client = client
    this.#backoffMs = 250
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return
    this.#client = null
    client.removeAllListeners('end')
    client.on('error', () => {})
    void client.end().catch(() => {})
    this.#scheduleReconnect()
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#listeners.size === 0 || this.#retryTimer) return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null
      void this.#ensureConnected().then(() => {
        // Whatever was notified while we were away is lost: look once.
        if (this.#client) this.#emit()
      })
    }, this.#backoffMs)
    this.#retryTimer.unref()
    this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS)
  }

  async #disconnect(): Promise<void> {
    if (this.#retryTimer) clearTimeout(this.#retryTimer)
    this.#retryTimer = null
    await this.#connecting
    const client = this.#client
    this.#client = null
    if (!client) return
    client.removeAllListeners('end')
    client.on('error', () => {})
    await client.end().catch(() => {})
  }

  #emit(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener()
      } catch {
        // A listener's failure is its own; the others still hear.
      }
    }
  }
}
