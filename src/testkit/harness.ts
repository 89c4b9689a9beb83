/**
 * @module
 * A storehook for your own tests: {@link startHarness} starts the runtime in-process on your
 * project, on a temporary SQLite file, with the simulators of the platforms it talks to wired in
 * through the environment variables your config reads; then {@link StorehookHarness.send} fires
 * a signed event, {@link StorehookHarness.waitForRun} awaits its run, and the ERP simulator shows
 * what reached the ERP.
 *
 * Framework-agnostic on purpose: plain async functions and an explicit `close()`, no test-runner
 * import, so the same code serves node:test, Vitest and Jest.
 *
 * The environment is process-wide: the harness sets the simulators' variables (and your `env`)
 * before the project loads, and `close()` puts `process.env` back as it found it, including what
 * the project's `.env` added. For the same reason one harness runs at a time per process (test
 * runners give each test file its own process or worker).
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import type { Logger } from 'pino'
import { signStandardWebhook } from '../core/standard-webhooks.ts'
import { TERMINAL_RUN_STATES, type Attempt, type Run, type RunState, type StoredEvent } from '../core/types.ts'
import type { Project } from '../runtime/project.ts'
import type { RunningStorehook } from '../server/start.ts'
import type { Step } from '../store/store.ts'
import { startCommerceLayerSimulator, type CommerceLayerSimulator } from './commerce-layer-simulator.ts'
import { signCommerceLayer } from './commerce-layer/sign.ts'
import { startCommerceSimulator, type CommerceSimulator } from './commerce-simulator.ts'
import { startErpSimulator, type ErpDelivery, type ErpSimulator } from './erp-simulator.ts'
import { startIoEventsSimulator, type IoEventsSimulator } from './io-events-simulator.ts'

export const SIMULATOR_NAMES = ['io-events', 'commerce', 'erp', 'commerce-layer'] as const
export type SimulatorName = (typeof SIMULATOR_NAMES)[number]

export interface SimulatorsOptions {
  /** Which to start (default: all four). */
  only?: readonly SimulatorName[]
  /** Order entity ids the Commerce simulator knows (default none: seed them with `commerce.seedOrder`). */
  orders?: number[]
  /** I/O Events' retry clock: 0.001 turns its minutes of backoff into tens of milliseconds (default 1). */
  ioEventsTimeScale?: number
  /** Called with every request the ERP simulator answers (`storehook dev` prints them). */
  onErpDelivery?: (delivery: ErpDelivery) => void
  /** The Commerce Layer simulator signs every call and webhook with this (default: a new one). */
  commerceLayerSharedSecret?: string
}

/** Running simulators and the environment variables that point a project at them. */
export interface Simulators {
  /**
   * The variables the examples and `storehook init` templates read: `IO_CLIENT_ID`,
   * `IO_EVENTS_PUBLIC_KEY_BASE_URL`, `COMMERCE_BASE_URL`, `COMMERCE_CONSUMER_KEY`,
   * `COMMERCE_CONSUMER_SECRET`, `COMMERCE_ACCESS_TOKEN`, `COMMERCE_ACCESS_TOKEN_SECRET`, `ERP_URL`,
   * `CL_BASE_URL`, `CL_TOKEN_URL`, `CL_CLIENT_ID`, `CL_CLIENT_SECRET`, `CL_SHARED_SECRET`.
   */
  env: Record<string, string>
  ioEvents?: IoEventsSimulator
  commerce?: CommerceSimulator
  erp?: ErpSimulator
  commerceLayer?: CommerceLayerSimulator
  close(): Promise<void>
}

/**
 * Starts the platform simulators on free ports of 127.0.0.1.
 *
 * @example
 * const simulators = await startSimulators({ only: ['erp', 'commerce'], orders: [1, 2] })
 * Object.assign(process.env, simulators.env) // ERP_URL, COMMERCE_BASE_URL, COMMERCE_CONSUMER_KEY, …
 * await simulators.close()
 */
export async function startSimulators(options: SimulatorsOptions = {}): Promise<Simulators> {
  const wanted = new Set(options.only ?? SIMULATOR_NAMES)
  const started: Simulators = { env: {}, close: async () => {} }
  const closers: (() => Promise<void>)[] = []
  started.close = async () => {
    await Promise.all(closers.splice(0).map((close) => close()))
  }
  try {
    if (wanted.has('io-events')) {
      const io = await startIoEventsSimulator({ timeScale: options.ioEventsTimeScale ?? 1 })
      closers.push(() => io.close())
      started.ioEvents = io
      Object.assign(started.env, { IO_CLIENT_ID: io.clientId, IO_EVENTS_PUBLIC_KEY_BASE_URL: io.publicKeyBaseUrl })
    }
    if (wanted.has('commerce')) {
      const commerce = await startCommerceSimulator()
      closers.push(() => commerce.close())
      started.commerce = commerce
      for (const id of options.orders ?? []) commerce.seedOrder({ entity_id: id })
      const { consumerKey, consumerSecret, accessToken, accessTokenSecret } = commerce.credentials
      Object.assign(started.env, {
        // The seed's URL form: ${COMMERCE_BASE_URL}rest/V1/orders/<id>.
        COMMERCE_BASE_URL: `${commerce.url}/`,
        COMMERCE_CONSUMER_KEY: consumerKey,
        COMMERCE_CONSUMER_SECRET: consumerSecret,
        COMMERCE_ACCESS_TOKEN: accessToken,
        COMMERCE_ACCESS_TOKEN_SECRET: accessTokenSecret,
      })
    }
    if (wanted.has('erp')) {
      const erp = await startErpSimulator(options.onErpDelivery ? { onDelivery: options.onErpDelivery } : {})
      closers.push(() => erp.close())
      started.erp = erp
      started.env.ERP_URL = erp.url
    }
    if (wanted.has('commerce-layer')) {
      // One shared secret for every external resource and webhook: CL_SHARED_SECRET verifies them all.
      const sharedSecret = options.commerceLayerSharedSecret ?? randomUUID().replaceAll('-', '')
      const cl = await startCommerceLayerSimulator({ sharedSecret })
      closers.push(() => cl.close())
      started.commerceLayer = cl
      Object.assign(started.env, {
        CL_BASE_URL: cl.url,
        CL_TOKEN_URL: cl.tokenUrl,
        CL_CLIENT_ID: cl.credentials.clientId,
        CL_CLIENT_SECRET: cl.credentials.clientSecret,
        CL_SHARED_SECRET: sharedSecret,
      })
    }
  } catch (error) {
    await started.close()
    throw error
  }
  return started
}

export interface HarnessOptions {
  /** The project directory (with storehook.config.ts, or an App Builder app.config.yaml). */
  project: string
  /** Simulators to start and wire in (default true: all four); false for none. */
  simulators?: boolean | readonly SimulatorName[]
  /** Order entity ids the Commerce simulator knows from the start. */
  orders?: number[]
  /** More environment for the project, set after (and over) the simulators' variables. */
  env?: Record<string, string>
  /** A store URL instead of the temporary SQLite file (e.g. a PostgreSQL test database). */
  db?: string
  adminToken?: string
  /** Log level of the runtime (default `info`); lines are kept in `logs`. */
  logLevel?: string
  /** Also write the runtime's log lines to stderr (default false). */
  printLogs?: boolean
}

/** What {@link StorehookHarness.send} fires. */
export interface SendInput {
  /**
   * The event type: `order.created` (standard-webhooks), a topic such as `orders.place`
   * (commerce-layer), `observer.sales_order_save_after` or the whole
   * `com.adobe.commerce.observer.sales_order_save_after` (adobe-io-events).
   */
  type: string
  /** standard-webhooks: the body's `data`; commerce-layer: the payload's `data` resource; adobe-io-events: `data.value`. */
  data?: unknown
  /** standard-webhooks and commerce-layer: the whole body instead, sent as it is. */
  payload?: unknown
  /** The delivery's id (webhook-id, or the CloudEvent's id); default a new one. */
  id?: string
  /** Sign with this secret instead of the source's first configured one. */
  secret?: string
}

export interface SendResult {
  status: number
  /** The id storehook stored the (first) event under: what {@link StorehookHarness.waitForRun} takes. */
  eventId: string
  /** As storehook answered: `[{ id, type, duplicate, runs }]`. */
  events: { id: string; type: string; duplicate: boolean; runs: number }[]
}

export interface RunQuery {
  eventId: string
  /** The source the event came in through (default: whichever has it). */
  source?: string
  /** The action whose run to await; needed when several actions consume the event. */
  action?: string
  /** The states that end the wait (default: succeeded, dead, skipped). */
  until?: readonly RunState[]
  /** Default 10 000. */
  timeoutMs?: number
}

/** A run as `storehook runs show --json` has it. */
export interface RunOutcome {
  run: Run
  attempts: Attempt[]
  steps: Step[]
  event: StoredEvent
}

/** An ERP request with its body parsed (null when it is not JSON). */
export interface ErpRequest extends ErpDelivery {
  json: unknown
}

export interface StorehookHarness {
  /** Where it listens, e.g. `http://127.0.0.1:41234`. */
  url: string
  /** The store's URL: `sqlite:<temporary dir>/storehook.db` unless `db` was given. */
  db: string
  storehook: RunningStorehook
  project: Project
  /** The runtime's log lines, parsed. */
  logs: Record<string, unknown>[]
  simulators: Simulators
  /** The simulators, or an error saying it was not started. */
  readonly erp: ErpSimulator
  readonly commerce: CommerceSimulator
  readonly ioEvents: IoEventsSimulator
  readonly commerceLayer: CommerceLayerSimulator
  /** Signs `input` as the source's platform does and POSTs it to `/events/<source>`; throws unless 2xx. */
  send(source: string, input: SendInput): Promise<SendResult>
  /** Resolves with the run once it reaches a final state; rejects with what it is doing after `timeoutMs`. */
  waitForRun(query: RunQuery): Promise<RunOutcome>
  /** The requests the ERP simulator accepted (2xx), bodies parsed. */
  erpRequests(): ErpRequest[]
  /** Stops storehook (in-flight runs finish or are released), the simulators; removes the temporary store; restores `process.env`. */
  close(): Promise<void>
}

let open: string | undefined

/**
 * Starts storehook on `options.project` in this process, on a free port and a temporary SQLite
 * file, with the simulators wired in.
 *
 * @example
 * import { startHarness } from 'storehook/testkit'
 * const sh = await startHarness({ project: '.', orders: [42] })
 * try {
 *   const { eventId } = await sh.send('commerce', { type: 'observer.sales_order_save_after', data: { entity_id: 42 } })
 *   const { run, attempts } = await sh.waitForRun({ eventId })
 *   assert.equal(run.state, 'succeeded', attempts.at(-1)?.errorMessage ?? '')
 *   assert.deepEqual(sh.erpRequests().map((r) => r.path), ['/orders'])
 * } finally {
 *   await sh.close()
 * }
 */
export async function startHarness(options: HarnessOptions): Promise<StorehookHarness> {
  if (open) throw new Error(`startHarness: a harness for ${open} is still open in this process; close() it first (the environment is process-wide)`)
  open = options.project
  const savedEnv = { ...process.env }
  const tempDir = mkdtempSync(join(tmpdir(), 'storehook-harness-'))
  let simulators: Simulators | undefined
  let storehook: RunningStorehook | undefined
  const cleanUp = async () => {
    await storehook?.close()
    await simulators?.close()
    rmSync(tempDir, { recursive: true, force: true })
    for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name]
    Object.assign(process.env, savedEnv)
    open = undefined
  }
  try {
    const wanted = options.simulators === false ? [] : options.simulators === true || options.simulators === undefined ? SIMULATOR_NAMES : options.simulators
    simulators = await startSimulators({ only: wanted, ...(options.orders ? { orders: options.orders } : {}), ioEventsTimeScale: 0.001 })
    Object.assign(process.env, simulators.env, options.env)
    const logs: Record<string, unknown>[] = []
    // Loaded here: `storehook/testkit` users who only want a simulator do not load the server.
    const { startStorehook } = await import('../server/start.ts')
    const { createLogger } = await import('../runtime/logger.ts')
    const db = options.db ?? `sqlite:${join(tempDir, 'storehook.db')}`
    storehook = await startStorehook({
      project: options.project,
      port: 0,
      db,
      logger: captureLogs(logs, options.logLevel ?? 'info', options.printLogs ?? false, createLogger),
      ...(options.adminToken ? { adminToken: options.adminToken } : {}),
    })
    return makeHarness(storehook, db, simulators, logs, cleanUp)
  } catch (error) {
    await cleanUp()
    throw error
  }
}

function captureLogs(
  logs: Record<string, unknown>[],
  level: string,
  print: boolean,
  createLogger: (options: { level?: string; destination?: Writable }) => Logger,
): Logger {
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        if (print) process.stderr.write(`${line}\n`)
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>)
        } catch {
          logs.push({ msg: line })
        }
      }
      done()
    },
  })
  return createLogger({ level, destination })
}

function makeHarness(storehook: RunningStorehook, db: string, simulators: Simulators, logs: Record<string, unknown>[], close: () => Promise<void>): StorehookHarness {
  const { project, store } = storehook.runtime
  const need = <T>(simulator: T | undefined, name: SimulatorName): T => {
    if (!simulator) throw new Error(`the ${name} simulator was not started: pass simulators: true (or a list with '${name}') to startHarness`)
    return simulator
  }
  let closing: Promise<void> | undefined
  return {
    url: storehook.url,
    db,
    storehook,
    project,
    logs,
    simulators,
    get erp() {
      return need(simulators.erp, 'erp')
    },
    get commerce() {
      return need(simulators.commerce, 'commerce')
    },
    get ioEvents() {
      return need(simulators.ioEvents, 'io-events')
    },
    get commerceLayer() {
      return need(simulators.commerceLayer, 'commerce-layer')
    },
    send: (source, input) => send(storehook.url, project, simulators, source, input),
    waitForRun: (query) => waitForRun(project, store, query),
    erpRequests: () => need(simulators.erp, 'erp').accepted().map((delivery) => ({ ...delivery, json: parseOrNull(delivery.body) })),
    close: () => (closing ??= close()),
  }
}

async function send(url: string, project: Project, simulators: Simulators, sourceName: string, input: SendInput): Promise<SendResult> {
  const source = project.sources.get(sourceName)
  const what = `send('${sourceName}', { type: '${input.type}' })`
  if (!source) throw new Error(`${what}: the project has no source "${sourceName}" (it has ${[...project.sources.keys()].join(', ') || 'none'})`)
  const endpoint = `${url}/events/${encodeURIComponent(sourceName)}`
  const config = await sourceConfig(project, sourceName)
  const secret = (): string => {
    const configured = input.secret ?? (config?.secrets as string[] | undefined)?.[0]
    if (!configured) throw new Error(`${what}: no secret to sign with: the source's secrets could not be read from ${project.configFile}; pass { secret }`)
    return configured
  }
  let response: Response
  if (source.kind === 'standard-webhooks') {
    const id = input.id ?? `msg_${randomUUID()}`
    const timestamp = Math.floor(Date.now() / 1000)
    const payload = input.payload ?? withPath({ data: input.data ?? {} }, String(config?.typeField ?? 'type'), input.type)
    const body = new TextEncoder().encode(JSON.stringify(payload))
    const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandardWebhook(secret(), id, timestamp, body) }
    response = await fetch(endpoint, { method: 'POST', headers, body })
  } else if (source.kind === 'commerce-layer') {
    const resource = input.type.split('.')[0]!
    const payload = input.payload ?? { data: input.data ?? { id: randomUUID().slice(0, 10), type: resource, attributes: { updated_at: new Date().toISOString() } } }
    const body = JSON.stringify(payload)
    const headers = { 'content-type': 'application/vnd.api+json', 'x-commercelayer-topic': input.type, 'x-commercelayer-signature': signCommerceLayer(body, secret()) }
    response = await fetch(endpoint, { method: 'POST', headers, body })
  } else if (source.kind === 'adobe-io-events') {
    const io = simulators.ioEvents
    if (!io) throw new Error(`${what}: adobe-io-events deliveries are signed by the I/O Events simulator; start the harness with it`)
    const keysFrom = config?.publicKeyBaseUrl
    if (keysFrom !== undefined && keysFrom !== io.publicKeyBaseUrl) {
      throw new Error(
        `${what}: the source fetches its keys from ${String(keysFrom)}, not the simulator; set its publicKeyBaseUrl to ` +
          `env('IO_EVENTS_PUBLIC_KEY_BASE_URL', 'https://static.adobeioevents.com') in ${project.configFile}`,
      )
    }
    const code = input.type.startsWith('com.') ? input.type : `com.adobe.commerce.${input.type}`
    const recipient = typeof config?.clientId === 'string' ? config.clientId : io.clientId
    const event = io.cloudEvent(code, input.data ?? {}, { recipientClientId: recipient, ...(input.id ? { eventId: input.id } : {}) })
    response = await io.deliver(endpoint, event)
  } else {
    throw new Error(`${what}: sources of kind ${source.kind} are not signed by the harness; POST to ${endpoint} yourself`)
  }
  const text = await response.text()
  if (!response.ok) throw new Error(`${what}: storehook answered ${response.status}: ${text}`)
  const answer = JSON.parse(text) as { events: SendResult['events'] }
  return { status: response.status, eventId: answer.events[0]?.id ?? '', events: answer.events }
}

/**
 * The source's options as the config gives them, env() resolved: where its secrets are. Sources
 * keep their secrets to themselves, so the harness reads the config module (already imported by
 * the loader, so not run again); an App Builder project's source has no entry there.
 */
async function sourceConfig(project: Project, name: string): Promise<Record<string, unknown> | undefined> {
  if (!/\.(ts|mjs|js)$/.test(project.configFile)) return undefined
  const config = ((await import(pathToFileURL(project.configFile).href)) as { default?: { sources?: Record<string, unknown> } }).default
  const raw = config?.sources?.[name]
  if (typeof raw !== 'object' || raw === null) return undefined
  const { isEnvRef } = await import('../runtime/config.ts')
  const { sourceKinds } = await import('../sources/index.ts')
  const resolve = (value: unknown): unknown => {
    if (isEnvRef(value)) return process.env[value.name] ?? value.fallback
    if (Array.isArray(value)) return value.map(resolve)
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]))
    return value
  }
  const { kind, ...options } = resolve(raw) as { kind: string }
  const parsed = sourceKinds[kind]?.configSchema.safeParse(options)
  return parsed?.success ? (parsed.data as Record<string, unknown>) : undefined
}

async function waitForRun(project: Project, store: RunningStorehook['runtime']['store'], query: RunQuery): Promise<RunOutcome> {
  const timeoutMs = query.timeoutMs ?? 10_000
  const until = query.until ?? TERMINAL_RUN_STATES
  const sources = query.source ? [query.source] : [...project.sources.keys(), 'schedule', 'cron']
  const deadline = Date.now() + timeoutMs
  let seen = `no event with id "${query.eventId}" was stored (sources looked in: ${sources.join(', ')})`
  for (;;) {
    for (const source of sources) {
      const event = await store.getEvent(source, query.eventId)
      if (!event) continue
      const runs = await store.runsForEvent(event.seq)
      const actions = [...new Set(runs.map((r) => r.action))]
      if (!query.action && actions.length > 1) {
        throw new Error(`waitForRun({ eventId: '${query.eventId}' }): actions ${actions.join(', ')} each have a run for this event; say which with { action }`)
      }
      // A replay is a newer run of the same action: the latest one is the outcome.
      const run = runs.filter((r) => !query.action || r.action === query.action).at(-1)
      if (!run) {
        seen = `event "${query.eventId}" (${event.type}) from ${source} has no run${query.action ? ` of action "${query.action}"` : ''} (actions with runs: ${actions.join(', ') || 'none'})`
        break
      }
      if (until.includes(run.state)) {
        const [attempts, steps] = await Promise.all([store.listAttempts(run.id), store.listSteps(run.id)])
        return { run, attempts, steps, event }
      }
      seen = `run ${run.id} of action "${run.action}" is ${run.state} after ${run.attempts} of ${run.maxAttempts} attempts${run.lastError ? `; last error: ${run.lastError}` : ''}`
      break
    }
    if (Date.now() >= deadline) throw new Error(`waitForRun({ eventId: '${query.eventId}' }): not ${until.join('/')} within ${timeoutMs} ms: ${seen}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** `{ data }` with `value` set at a dot path such as `type` or `data.event_type`. */
function withPath(target: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.')
  let node = target
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {}
    node = node[key] as Record<string, unknown>
  }
  node[keys.at(-1)!] = value
  return target
}

function parseOrNull(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
