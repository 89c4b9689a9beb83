/**
 * @module
 * `storehook send <source> [fixture]`: fires a realistic, signed request at a running storehook —
 * what Adobe I/O Events, Commerce Layer or a Standard Webhooks sender would send for the project's
 * source or external resource — prints the answer, then the run(s) it started once their first
 * attempt is over. The payload comes from a bundled fixture or the user's JSON file, changed
 * with `--type` and `--data`; the signing secrets from the project's configuration, read the way
 * `storehook start` reads it. The exit code says how it went (see {@link SEND_EXIT_CODES}), so
 * scripts and tests can rely on it.
 */
import { InvalidArgumentError, type Command } from 'commander'
import { ConfigError } from '../core/errors.ts'
import { bareFixture, DEFAULT_FIXTURES, listFixtures, loadFixture, type Fixture } from './send/fixtures.ts'
import type { Answer, SignedRequest } from './send/request.ts'
import type { ApiRun } from './send/runs.ts'
import type { ProjectTargets, Target, TargetSummary } from './send/target.ts'

/** What `storehook send` exits with. */
export const SEND_EXIT_CODES = {
  /** Accepted, and every run it started succeeded (an external resource: a 2xx answer). */
  succeeded: 0,
  /** A mistake in the command or the project: unknown source or fixture, bad --data, a project that does not load, a source send cannot sign for. */
  usage: 1,
  /** Nothing answered at --url, or storehook stopped answering. */
  unreachable: 2,
  /** storehook answered with an error status: a signature it refused (401), a body it could not read (400), 503… */
  refused: 3,
  /** Accepted, but a run did not succeed (dead, skipped, retrying, paused), or no action consumes the event. */
  notSucceeded: 4,
  /** Accepted, but the run(s) had not finished an attempt within --timeout. */
  timedOut: 5,
  /** The admin API refused to show the runs: STOREHOOK_ADMIN_TOKEN is missing or wrong. */
  adminApi: 6,
} as const

interface SendOptions {
  type?: string
  data?: Record<string, unknown>
  url?: string
  project: string
  timeout: number
  wait?: boolean
  list?: boolean
  dryRun?: boolean
  json?: boolean
}

const EXAMPLES = `
Examples:
  storehook send commerce                                   # observer.sales_order_save_after, signed as Adobe I/O Events signs
  storehook send commerce observer.customer_save_after
  storehook send commerce --data '{"entity_id": 7, "status": "processing"}'
  storehook send cl orders.place                            # a Commerce Layer webhook
  storehook send price                                      # a Commerce Layer external-resource call (POST /external/price)
  storehook send webhooks --type invoice.paid --data '{"invoice_id": "in_1"}'
  storehook send commerce ./my-order.json --url http://127.0.0.1:3001 --json
  storehook send --list                                     # the project's sources, external resources and fixtures

Exit codes:
  0  accepted, and every run succeeded (an external resource: a 2xx answer)
  1  a mistake in the command or the project (unknown source or fixture, bad --data, …)
  2  nothing answers at --url
  3  storehook refused the request (401 signature, 400, 404, 503, …)
  4  accepted, but a run did not succeed (dead, skipped, retrying, paused) or no action consumes the event
  5  accepted, but the run(s) did not finish an attempt within --timeout
  6  the admin API refused to show the runs: set STOREHOOK_ADMIN_TOKEN`

export function registerSendCommand(program: Command): void {
  program
    .command('send')
    .description("send a realistic, signed event or external-resource call to a running storehook; print the answer and the run it started")
    .argument('[source]', 'a source of the project (POST /events/<name>) or an external resource (POST /external/<name>)')
    .argument('[fixture]', "a bundled fixture (see --list) or a JSON file; default: the platform's common event, or the resource's kind")
    .option('--type <type>', 'the event type, Commerce event code or Commerce Layer topic (default: the fixture\'s); without a fixture, sends --data as that type')
    .option('--data <json>', "a JSON object merged into the payload: the Commerce fields (data.value), a Standard Webhook's data, a Commerce Layer resource's attributes", parseJsonObject)
    .option('--url <url>', 'where storehook listens (default: $STOREHOOK_URL, else the running `storehook dev`, else http://127.0.0.1:3000)')
    .option('--project <dir>', 'project directory: where the source, its secrets (.env) and the fixtures it takes are read', '.')
    .option('--timeout <ms>', 'how long to wait for the run(s) to finish an attempt', parsePositive, 30_000)
    .option('--wait', 'wait through retries until every run is succeeded, dead or skipped (up to --timeout)')
    .option('--list', "list the project's sources and external resources, with the fixtures each takes")
    .option('--dry-run', 'print the signed request without sending it')
    .option('--json', 'print one JSON object for scripts')
    .addHelpText('after', EXAMPLES)
    .action(async (source: string | undefined, fixtureSpec: string | undefined, options: SendOptions) => {
      // Loaded here, not at the top: the project loader and the simulators would slow every other command.
      const { projectTargets, resolveTarget } = await import('./send/target.ts')
      // Under `storehook dev --simulators`, the project reads the simulators' variables dev set:
      // send resolves the project the same way, and finds dev's address (the real environment wins).
      const session = (await import('./dev.ts')).readDevSession(options.project)
      for (const [name, value] of Object.entries(session?.env ?? {})) process.env[name] ??= value
      const loaded = await projectTargets(options.project)
      if (options.list) return printList(loaded, options.json === true)
      if (!source) throw new ConfigError('send: name a source or external resource of the project (storehook send --list shows them)')
      const target = await resolveTarget(loaded, source)
      const fixture = pickFixture(target, fixtureSpec, options.type)
      const url = options.url ?? (process.env.STOREHOOK_URL || session?.url || 'http://127.0.0.1:3000')
      const summary = loaded.targets.find((t) => t.name === target.name && t.call === target.call)!
      process.exitCode = await sendAndReport(target, summary, fixture, { ...options, url })
    })
}

function pickFixture(target: Target, spec: string | undefined, type: string | undefined): Fixture {
  if (target.call === 'external') {
    if (type) throw new ConfigError(`send: --type does not apply to external resource "${target.name}": its kind (${target.kind}) decides the payload`)
    return loadFixture(spec ?? target.kind, target.platform, 'external')
  }
  if (spec) return loadFixture(spec, target.platform, 'event')
  if (!type) return loadFixture(DEFAULT_FIXTURES[target.platform], target.platform, 'event')
  // `--type observer.customer_save_after` starts from that fixture when one is bundled.
  const bundled = listFixtures(target.platform, 'event').find((f) => f.name === type.replace(/^com\.adobe\.commerce\./, ''))
  return bundled ?? bareFixture(target.platform, type)
}

async function sendAndReport(target: Target, summary: TargetSummary, fixture: Fixture, options: SendOptions & { url: string }): Promise<number> {
  const [{ send, UnreachableError }, { AdminApiError, awaitRuns }] = await Promise.all([import('./send/request.ts'), import('./send/runs.ts')])
  const report: Record<string, unknown> = { target: summary, fixture: fixture.name }
  /** Prints the report (stdout) and what went wrong (stderr, or `error` in the JSON). */
  const finish = (code: number, outcome: string, lines: string[] = [], problem?: string) => {
    if (options.json) console.log(JSON.stringify({ ...report, outcome, exitCode: code, ...(problem ? { error: problem } : {}) }, null, 2))
    else for (const line of lines) console.log(line)
    if (problem && !options.json) console.error(`storehook send: ${problem}`)
    return code
  }
  let sent: { request: SignedRequest; answer: Answer | null }
  try {
    sent = await send(target, fixture, options.url, { ...(options.type ? { type: options.type } : {}), ...(options.data ? { data: options.data } : {}), dryRun: options.dryRun === true })
  } catch (error) {
    if (!(error instanceof UnreachableError)) throw error
    return finish(SEND_EXIT_CODES.unreachable, 'unreachable', [], error.message)
  }
  const { request, answer } = sent
  report.request = { url: request.url, headers: request.headers, body: JSON.parse(request.body) }
  const from = fixture.name === '' ? 'no fixture' : fixture.name === request.type ? 'fixture' : `fixture ${fixture.name}`
  const what = `${request.type} (${from}${request.eventId ? `, event ${request.eventId}` : ''})`
  const sentLine = `→ POST ${request.url}  ${what}`
  if (!answer) {
    const headers = Object.entries(request.headers).map(([name, value]) => `  ${name}: ${value}`)
    return finish(SEND_EXIT_CODES.succeeded, 'dry-run', [sentLine, ...headers, '', JSON.stringify(JSON.parse(request.body), null, 2)])
  }
  report.answer = answer
  const answerLine = `← ${answer.status} ${typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body)}`
  if (answer.status < 200 || answer.status >= 300) return finish(SEND_EXIT_CODES.refused, 'refused', [sentLine, answerLine])
  if (target.call === 'external') return finish(SEND_EXIT_CODES.succeeded, 'answered', [sentLine, answerLine])

  const events = ((answer.body as { events?: { id: string; runs: number; duplicate: boolean }[] }).events ?? [])
  let found: { runs: ApiRun[]; timedOut: boolean }
  try {
    found = await awaitRuns({
      baseUrl: options.url,
      source: target.name,
      events,
      timeoutMs: options.timeout,
      wait: options.wait === true,
      ...(process.env.STOREHOOK_ADMIN_TOKEN ? { adminToken: process.env.STOREHOOK_ADMIN_TOKEN } : {}),
    })
  } catch (error) {
    if (error instanceof AdminApiError) return finish(SEND_EXIT_CODES.adminApi, 'admin-api-refused', [sentLine, answerLine], error.message)
    if (error instanceof UnreachableError) return finish(SEND_EXIT_CODES.unreachable, 'unreachable', [sentLine, answerLine], error.message)
    throw error
  }
  const dashboard = new URL('/admin/runs/', options.url).href
  report.runs = found.runs.map((run) => ({ ...run, dashboard: `${dashboard}${run.id}` }))
  const runLines = found.runs.flatMap((run) => [
    `run ${run.id} ${run.action}: ${run.state} (attempt ${run.attempts} of ${run.maxAttempts})${run.lastError && run.state !== 'succeeded' ? `: ${run.lastError}` : ''}`,
    `  ${dashboard}${run.id}`,
  ])
  const lines = [sentLine, answerLine, ...runLines]
  if (found.runs.length === 0 && events.every((e) => e.runs === 0)) {
    const duplicate = events.length > 0 && events.every((e) => e.duplicate)
    const why = duplicate ? 'a duplicate of an event already stored, and it has no runs' : `no action consumes ${request.type} from source "${target.name}", so nothing ran`
    return finish(SEND_EXIT_CODES.notSucceeded, 'no-run', [...lines, `accepted, but ${why}`])
  }
  if (found.timedOut) {
    return finish(SEND_EXIT_CODES.timedOut, 'timed-out', [...lines, `the run(s) did not finish ${options.wait ? '' : 'an attempt '}within ${options.timeout} ms (--timeout)`])
  }
  const succeeded = found.runs.every((run) => run.state === 'succeeded')
  return finish(succeeded ? SEND_EXIT_CODES.succeeded : SEND_EXIT_CODES.notSucceeded, succeeded ? 'succeeded' : 'not-succeeded', lines)
}

function printList({ project, targets }: ProjectTargets, json: boolean): void {
  const rows = targets.map((t) => {
    // An external resource takes the fixture of its own kind; a source, every fixture of its platform.
    const kind = t.call === 'external' && t.kind.startsWith('commerce-layer/') ? t.kind.slice('commerce-layer/'.length) : null
    const platform = t.call === 'external' ? (kind ? 'commerce-layer' : null) : t.kind in DEFAULT_FIXTURES ? (t.kind as Target['platform']) : null
    const fixtures = platform ? listFixtures(platform, t.call).filter((f) => kind === null || f.type === kind).map((f) => f.name) : []
    const byDefault = kind ?? (platform ? DEFAULT_FIXTURES[platform] : null)
    return { ...t, fixtures, defaultFixture: byDefault && fixtures.includes(byDefault) ? byDefault : null }
  })
  if (json) return void console.log(JSON.stringify({ project: project.dir, targets: rows }, null, 2))
  console.log(`project ${project.dir}`)
  if (rows.length === 0) console.log('  no sources and no external resources')
  const nameWidth = Math.max(0, ...rows.map((r) => r.name.length))
  const kindWidth = Math.max(0, ...rows.map((r) => r.kind.length))
  for (const row of rows) {
    const names = row.fixtures.map((name) => (name === row.defaultFixture ? `${name} (default)` : name))
    console.log(`  ${row.name.padEnd(nameWidth)}  ${row.kind.padEnd(kindWidth)}  POST ${row.path}`)
    console.log(`  ${' '.repeat(nameWidth)}  fixtures: ${names.join(', ') || `none bundled: give a JSON file${row.call === 'event' ? ', or --type with --data' : ''}`}`)
  }
}

function parseJsonObject(value: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch (error) {
    throw new InvalidArgumentError(`expected a JSON object (${(error as Error).message})`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError('expected a JSON object, e.g. \'{"entity_id": 7}\'')
  return parsed as Record<string, unknown>
}

function parsePositive(value: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('expected a positive whole number of milliseconds')
  return number
}
