/**
 * @module
 * The runtime: one loaded project, its store, its worker and its metrics. `receive` is the
 * durable half of every inbound request: verify through the source, store the event with one run
 * per subscribed action (starting those the worker has room for), then wake the worker for the
 * rest. The server answers 2xx only after it returns.
 */
import type { Logger } from 'pino'
import type { FlowRegistry } from '../connections/flow/index.ts'
import { HttpError, VerificationError } from '../core/errors.ts'
import type { InboundEvent } from '../core/types.ts'
import type { SourceRequest } from '../sources/source.ts'
import type { IngestItem, IngestOutcome, Store } from '../store/store.ts'
import { cronType } from './cron-action.ts'
import { CRON_SOURCE, Timekeeper, type CronJob } from './cron.ts'
import { ExternalResources } from './external/index.ts'
import { createMetrics, type Metrics, type RejectReason } from './metrics.ts'
import { PausedRuns } from './paused-runs.ts'
import { RetentionPass } from './retention.ts'
import type { Project } from './project.ts'
import { planRuns, subscribers } from './subscriptions.ts'
import { Worker } from './worker.ts'

export interface ReceivedEvent {
  id: string
  type: string
  duplicate: boolean
  runs: number
}

export class Runtime {
  readonly project: Project
  readonly store: Store
  readonly logger: Logger
  readonly metrics: Metrics
  readonly worker: Worker
  /** The project's external resources: `POST /external/<name>`. */
  readonly external: ExternalResources
  /** Fires the ticks of the project's cron actions (`onCron`) while the runtime runs. */
  readonly cron: Timekeeper
  /** Resumes runs paused on a connection whose breaker was open (absent without a flow registry). */
  readonly pausedRuns: PausedRuns | undefined
  /** Removes what is past the project's retention, at start and periodically. */
  readonly retention: RetentionPass

  /** @param options.flow the registry the project's connections were created with (start.ts) */
  constructor(options: { project: Project; store: Store; logger: Logger; flow?: FlowRegistry; workerId?: string; random?: () => number }) {
    this.project = options.project
    this.store = options.store
    this.logger = options.logger
    this.metrics = createMetrics(options.store)
    this.worker = new Worker({
      store: options.store,
      actions: options.project.actions,
      connections: options.project.connections,
      logger: options.logger,
      metrics: this.metrics,
      concurrency: options.project.settings.worker.concurrency,
      pollIntervalMs: options.project.settings.worker.pollIntervalMs,
      leaseMarginMs: options.project.settings.worker.leaseMarginMs,
      runLogs: { linesPerAttempt: options.project.settings.worker.logLinesPerAttempt, lineLength: options.project.settings.worker.logLineLength },
      ...(options.workerId ? { workerId: options.workerId } : {}),
      ...(options.random ? { random: options.random } : {}),
    })
    this.external = new ExternalResources({
      resources: options.project.external ?? [],
      store: options.store,
      logger: options.logger,
      registry: this.metrics.registry,
      connections: options.project.connections,
      projectDir: options.project.dir,
      settings: options.project.settings.external,
    })
    this.cron = new Timekeeper({
      jobs: options.project.actions.flatMap((action) => (action.cron ? [{ action: action.name, ...action.cron }] : [])),
      fire: (job, tick) => this.#storeTick(job, tick),
      logger: options.logger,
    })
    options.project.appBuilder?.start({ store: options.store, logger: options.logger })
    this.retention = new RetentionPass({ store: options.store, settings: options.project.settings.retention, logger: options.logger, registry: this.metrics.registry })
    this.pausedRuns = options.flow
      ? new PausedRuns({
          store: options.store,
          flow: options.flow,
          connections: Object.keys(options.project.connections),
          wake: () => this.worker.wake(),
          logger: options.logger,
          sweepMs: options.project.settings.worker.pausedSweepMs,
        })
      : undefined
  }

  start(): void {
    this.worker.start()
    this.cron.start()
    this.pausedRuns?.start()
    this.retention.start()
    // Runs committed by other processes sharing the store (PostgreSQL) wake this worker at once.
    this.store.onRunsAvailable?.(() => this.worker.wake())
  }

  /**
   * Verifies a request through the named source and makes its events durable.
   * @throws HttpError 404 (unknown source), 401 (verification), 400 (malformed), 503 (not durable).
   */
  async receive(sourceName: string, request: SourceRequest): Promise<ReceivedEvent[]> {
    const source = this.project.sources.get(sourceName)
    if (!source) {
      this.metrics.eventsRejected.inc({ source: '(unknown)', reason: 'unknown_source' })
      throw new HttpError(404, `no source named "${sourceName}" is configured`)
    }
    let events: InboundEvent[]
    try {
      events = await source.receive(request, Date.now())
    } catch (error) {
      const reason: RejectReason =
        error instanceof VerificationError ? 'signature' : (error as HttpError).status === 503 ? 'unavailable' : 'malformed'
      this.metrics.eventsRejected.inc({ source: sourceName, reason })
      this.logger.warn({ source: sourceName, reason, message: (error as Error).message }, 'rejected an inbound request')
      throw error
    }

    const items = events.map((event) => this.#ingestItem(sourceName, event))
    let outcomes: IngestOutcome[]
    try {
      outcomes = await this.#ingest(items)
    } catch (error) {
      this.metrics.eventsRejected.inc({ source: sourceName, reason: 'not_durable' })
      this.logger.error({ err: error, source: sourceName }, 'could not store an inbound event; answered 503 so the platform retries')
      throw new HttpError(503, 'the event could not be stored; retry later', { cause: error })
    }
    return outcomes.map((outcome, i) => {
      const { event, runs } = items[i]!
      const counter = outcome.duplicate ? this.metrics.eventsDuplicate : this.metrics.eventsReceived
      counter.inc({ source: sourceName, type: event.type })
      return { id: event.id, type: event.type, duplicate: outcome.duplicate, runs: outcome.duplicate ? 0 : runs.length }
    })
  }

  /**
   * Stores events with their runs. Runs this process has room for start in the ingest
   * transaction (no separate claim); the worker is woken for the others.
   */
  async #ingest(items: IngestItem[]): Promise<IngestOutcome[]> {
    const reservation = this.worker.reserve(items.flatMap((item) => item.runs))
    let outcomes: IngestOutcome[]
    try {
      outcomes = await this.store.ingest(items, reservation)
    } catch (error) {
      this.worker.cancel(reservation)
      throw error
    }
    const started = outcomes.flatMap((outcome) => outcome.claimed ?? [])
    this.worker.adopt(reservation, started)
    if (started.length < outcomes.reduce((n, outcome) => n + outcome.runIds.length, 0)) this.worker.wake()
    return outcomes
  }

  #ingestItem(source: string, event: InboundEvent): IngestItem {
    return { source, event, runs: planRuns(subscribers(this.project.actions, source, event), source, event, this.logger) }
  }

  /**
   * Stores a cron tick as an event of the source `cron` with one run, for its action only. Every
   * process sharing the store stores the same tick under the same id: one wins, the rest are
   * duplicates, so the tick runs once.
   */
  async #storeTick(job: CronJob, tick: Date): Promise<void> {
    const at = tick.toISOString()
    const event: InboundEvent = { id: `${job.action}@${at}`, type: cronType(job.action), payload: { tick: at, cron: job.pattern }, headers: {} }
    const action = this.project.actions.find((a) => a.name === job.action)!
    const item: IngestItem = { source: CRON_SOURCE, event, runs: planRuns([action], CRON_SOURCE, event, this.logger) }
    const [outcome] = await this.#ingest([item])
    const counter = outcome!.duplicate ? this.metrics.eventsDuplicate : this.metrics.eventsReceived
    counter.inc({ source: CRON_SOURCE, type: event.type })
  }
}
