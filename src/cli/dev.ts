/**
 * @module
 * `storehook dev`: `storehook start` for the inner loop. It reloads when a file of the project
 * changes, prints readable logs and the dashboard's URL, and with `--simulators` brings up what
 * the project calls (Adobe Commerce, an ERP, Commerce Layer) so that events fired with
 * `storehook send` run through without any platform account.
 *
 * How a reload keeps every acknowledged event and every in-flight run:
 * - Each version of the project runs as its own `storehook start` child on a free loopback port
 *   (dev/generation.ts), on the one store every version shares; the address dev prints is a
 *   front door that passes connections to the version serving now (dev/front.ts).
 * - On a change the new version is started first. If it does not load, the old one goes on
 *   serving and the error is printed; nothing else happens until the next change.
 * - Once the new version listens, new connections go to it, and the old one gets SIGTERM: it
 *   stops claiming runs, serves the requests it already has, lets in-flight runs finish (or
 *   releases them after `shutdownGraceMs`, for the new version to pick up) and exits. An event it
 *   acknowledged is in the store, so its run is executed by whichever version claims it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseEnv } from 'node:util'
import { InvalidArgumentError, type Command } from 'commander'
import { ConfigError } from '../core/errors.ts'
import type { Simulators } from '../testkit/harness.ts'
import { startFront, type Front } from './dev/front.ts'
import { GenerationFailed, startGeneration, type Generation } from './dev/generation.ts'
import { formatLogLine, wantsColor } from './dev/pretty.ts'
import { watchProject, type ProjectWatcher } from './dev/watch.ts'
import { parsePort, storeOptions, withExamples } from './options.ts'
import { listenProblem, portFromEnv } from './start.ts'

/**
 * Written while `storehook dev` runs, removed when it stops: `{ url, pid, env }`, the address it
 * listens on and the simulators' variables it set for the project, so that the project's other
 * commands (`storehook send`) can reach it and resolve the same configuration. A file left by a
 * dev that was killed names a pid that no longer runs.
 */
export const DEV_SESSION_FILE = '.storehook/dev.json'

export interface DevSession {
  url: string
  pid: number
  env: Record<string, string>
}

/**
 * The session of the `storehook dev` running for the project in `dir`, or null when none runs
 * (no file, or a file left by a dev that was killed).
 *
 * @example
 * const session = readDevSession('.') // { url: 'http://127.0.0.1:3000', pid: 4242, env: { ERP_URL: … } }
 */
export function readDevSession(dir: string): DevSession | null {
  let session: DevSession
  try {
    session = JSON.parse(readFileSync(join(dir, DEV_SESSION_FILE), 'utf8')) as DevSession
    process.kill(session.pid, 0)
  } catch {
    return null
  }
  return typeof session.url === 'string' && typeof session.env === 'object' && session.env !== null ? session : null
}

interface DevOptions {
  project: string
  port?: number
  host: string
  db?: string
  simulators?: boolean
  orders?: number[]
  jsonLogs?: boolean
}

export function registerDevCommand(program: Command): void {
  const dev = storeOptions(
    program.command('dev').description('start plus reload on change, readable logs and, with --simulators, the platforms: the local development loop'),
  )
    .option('--port <n>', 'port to listen on, 0 picks a free one (default: $PORT or 3000)', parsePort)
    .option('--host <host>', 'interface to listen on', process.env.STOREHOOK_HOST ?? '127.0.0.1')
    .option('--simulators', "start the Adobe Commerce, ERP and Commerce Layer simulators and point the project's connections at them (prints their variables)")
    .option('--orders <ids>', 'with --simulators: order entity ids the Commerce simulator knows, e.g. 1,2,42 (default: 1-100)', parseOrders)
    .option('--json-logs', "print the runtime's JSON log lines as they are")
  withExamples(dev, [
    'storehook dev                                        # the project in ., on http://127.0.0.1:3000',
    'storehook dev --simulators                           # no platform account needed',
    'storehook dev --project examples/order-to-erp --simulators --port 8080',
    'storehook dev --json-logs | jq .                     # the JSON logs start prints',
  ])
  dev.action((options: DevOptions) => runDev(options))
}

async function runDev(options: DevOptions): Promise<void> {
  const project = resolve(options.project)
  if (!existsSync(project) || !statSync(project).isDirectory()) throw new ConfigError(`--project ${options.project}: no such directory`)
  if (!isLoopback(options.host) && !process.env.STOREHOOK_ADMIN_TOKEN) {
    // Behind the front door every client connects from loopback, so the admin API needs its token.
    throw new ConfigError(`--host ${options.host}: storehook dev outside loopback needs STOREHOOK_ADMIN_TOKEN set (its clients all look local to the admin API)`)
  }
  const port = options.port ?? portFromEnv()
  const color = wantsColor(process.stdout)
  const say = (text: string) => console.log(color ? `\x1b[36m${text}\x1b[0m` : text)

  const env: NodeJS.ProcessEnv = { ...process.env }
  let simulators: Simulators | undefined
  if (options.simulators) simulators = await startDevSimulators(project, options.orders ?? range(1, 100), env, say)
  let front: Front
  try {
    front = await startFront(options.host, port)
  } catch (error) {
    await simulators?.close()
    throw listenProblem(error, options.host, port)
  }

  let number = 0
  let current: Generation | undefined
  /** A generation's output; one that is not (or no longer) serving says which it is. */
  const print = (generation: number, line: string, stream: 'stdout' | 'stderr') => {
    const tag = current === undefined || current.number === generation ? '' : `[generation ${generation}] `
    if (stream === 'stderr') console.error(`${tag}${line}`)
    else console.log(`${tag}${options.jsonLogs ? line : formatLogLine(line, { color })}`)
  }
  const draining = new Set<Generation>()
  let stopping = false
  let watcher: ProjectWatcher | undefined

  const launch = () => {
    const generation = ++number
    const onOutput = (line: string, stream: 'stdout' | 'stderr') => print(generation, line, stream)
    return startGeneration({ number: generation, project, env, onOutput, ...(options.db ? { db: options.db } : {}) })
  }
  /** Routes new connections to `next` and lets the previous generation wind down. */
  const adopt = (next: Generation) => {
    front.routeTo(next.port)
    const previous = current
    current = next
    void next.exited.then((code) => {
      if (current !== next || stopping) return
      current = undefined
      front.refuse('storehook dev: the project stopped; save a file to start it again')
      say(`[dev] generation ${next.number} exited (${code ?? 'killed'}); save a file to start it again`)
    })
    if (!previous) return
    draining.add(previous)
    void previous.stop().then(() => {
      draining.delete(previous)
      say(`[dev] generation ${previous.number} stopped (its in-flight runs finished, or were released to generation ${next.number})`)
    })
  }

  const session = join(project, DEV_SESSION_FILE)
  // Registered before the first version starts: Ctrl-C during a slow first load stops it too.
  const stop = async (signal: string) => {
    const all = [current, ...draining].filter((g): g is Generation => g !== undefined)
    if (stopping) {
      // A second Ctrl-C: no more waiting.
      for (const generation of all) generation.kill()
      process.exit(1)
    }
    stopping = true
    watcher?.close()
    front.refuse('storehook dev is stopping')
    say(`[dev] stopping (${signal}): in-flight runs finish or are released`)
    await Promise.all(all.map((generation) => generation.stop()))
    await front.close()
    await simulators?.close()
    rmSync(session, { force: true })
    process.exit(0)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))

  // For the project's other commands (`storehook send`): where dev listens and what it set.
  mkdirSync(dirname(session), { recursive: true })
  writeFileSync(session, `${JSON.stringify({ url: front.url, pid: process.pid, env: simulators?.env ?? {} }, null, 2)}\n`)

  try {
    const first = await launch()
    adopt(first)
    console.log(`storehook listening on ${front.url}`)
    for (const line of first.banner) console.log(line.replaceAll('{url}', front.url))
    if (simulators) wireCommerceLayer(simulators, first.banner, front.url, say)
  } catch (error) {
    if (!(error instanceof GenerationFailed)) throw error
    front.refuse('storehook dev: the project does not load; see the terminal, fix it and save')
    console.log(`storehook listening on ${front.url}`)
    say('[dev] the project does not load; nothing is served until it does (fix it and save):')
    console.error(indent(error.message))
  }
  console.log(`  watching ${project} for changes (config, .env, actions, external resources, app.config.yaml)`)
  if (simulators) {
    console.log('simulators, set in the environment of the project:')
    for (const [name, value] of Object.entries(simulators.env)) console.log(`  ${name}=${value}`)
    console.log('  Adobe I/O Events: `storehook send <source>` signs deliveries with the testkit\'s keys and serves them at IO_EVENTS_PUBLIC_KEY_BASE_URL')
  }

  let reloading = false
  let queued: string[] = []
  const reload = async (files: string[]): Promise<void> => {
    if (stopping) return
    if (reloading) return void queued.push(...files)
    reloading = true
    say(`[dev] ${files.join(', ')} changed: reloading`)
    try {
      const next = await launch()
      if (stopping) return void (await next.stop())
      const previous = current
      adopt(next)
      say(`[dev] reloaded: generation ${next.number} serves ${front.url}${previous ? `; generation ${previous.number} finishes its in-flight runs` : ''}`)
      if (simulators) wireCommerceLayer(simulators, next.banner, front.url, say)
    } catch (error) {
      say(`[dev] reload failed; ${current ? `generation ${current.number} goes on serving` : 'nothing is served until the project loads'}:`)
      console.error(indent(error instanceof GenerationFailed ? error.message : String((error as Error).stack ?? error)))
    } finally {
      reloading = false
      if (queued.length && !stopping) void reload([...new Set(queued.splice(0))])
    }
  }
  watcher = watchProject(project, (files) => void reload(files))

}

/**
 * The simulators of what the project calls (Adobe Commerce, the ERP, Commerce Layer's API), with
 * their variables set in `env` over the real environment and `.env`: asking for them means using
 * them. What verifies inbound requests stays the project's, so that `storehook send`, which reads
 * the project's `.env`, signs with what the runtime checks: the Commerce Layer simulator signs
 * with the project's `CL_SHARED_SECRET` when it has one, and no I/O Events simulator is started
 * (`storehook send` serves its keys at the project's IO_EVENTS_PUBLIC_KEY_BASE_URL).
 */
async function startDevSimulators(project: string, orders: number[], env: NodeJS.ProcessEnv, say: (text: string) => void): Promise<Simulators> {
  const { startSimulators } = await import('../testkit/harness.ts')
  const dotEnv = existsSync(join(project, '.env')) ? parseEnv(readFileSync(join(project, '.env'), 'utf8')) : {}
  const clSecrets = env.CL_SHARED_SECRET ?? dotEnv.CL_SHARED_SECRET
  const simulators = await startSimulators({
    only: ['commerce', 'erp', 'commerce-layer'],
    orders,
    onErpDelivery: (d) => say(`[erp] ${d.method} ${d.path} Idempotency-Key: ${d.idempotencyKey ?? '-'} -> ${d.status} ${d.body}`),
    ...(clSecrets?.trim() ? { commerceLayerSharedSecret: clSecrets.trim().split(/\s+/)[0]! } : {}),
  })
  if (clSecrets?.trim()) delete simulators.env.CL_SHARED_SECRET
  Object.assign(env, simulators.env)
  return simulators
}

/**
 * Points the Commerce Layer simulator's external resources at the project's: `price` at
 * `<url>/external/price`, `payment/capture` at `<url>/external/payment/capture`, and so on, so
 * `curl -X POST <cl>/_simulator/calls/price` makes the call Commerce Layer would.
 */
function wireCommerceLayer(simulators: Simulators, banner: string[], url: string, say: (text: string) => void): void {
  const cl = simulators.commerceLayer
  if (!cl) return
  const kinds: readonly string[] = ['order-validation', 'price', 'shipping', 'promotion', 'tax']
  const wired: string[] = []
  const payment: Record<string, string> = {}
  for (const line of banner) {
    const name = /^ {2}POST \{url\}\/external\/(\S+)$/.exec(line)?.[1]
    if (!name) continue
    const endpoint = `${url}/external/${name}`
    const action = /^payment\/(authorize|capture|void|refund)$/.exec(name)?.[1]
    if (action) {
      payment[action] = endpoint
      wired.push(`payment?action=${action}`)
    } else if (kinds.includes(name)) {
      cl.configure(name as 'price', { url: endpoint })
      wired.push(name)
    }
  }
  if (Object.keys(payment).length) cl.configure('payment', { urls: payment })
  if (wired.length) say(`[dev] Commerce Layer simulator calls your external resources: curl -X POST '${cl.url}/_simulator/calls/<${wired.join('|')}>'`)
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.')
}

const indent = (text: string) => text.split('\n').map((line) => `  ${line}`).join('\n')

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

/** `1,2,42`, `1-100`, or both: `1-10,42`. */
function parseOrders(value: string): number[] {
  const ids = value.split(',').flatMap((part) => {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part)
    if (!match) throw new InvalidArgumentError('expected order ids such as 1,2,42 or 1-100')
    const from = Number(match[1])
    const to = match[2] === undefined ? from : Number(match[2])
    if (to < from || to - from > 100_000) throw new InvalidArgumentError(`${part.trim()}: expected a range low-high of at most 100000 ids`)
    return range(from, to)
  })
  return [...new Set(ids)]
}
