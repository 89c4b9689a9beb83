/**
 * @module
 * `storehook expunge --customer-email X | --order-id Y [--dry-run] [--yes] [--json]`, and
 * `storehook expunge --list`: removes one customer's or one order's personal data from the store
 * the runtime uses (opened directly, so it works whether or not the runtime is up) and leaves an
 * audit record; docs/retention.md says what goes. The store is searched a window at a time, with
 * progress on stderr; the writes and the audit record go in one transaction at the end.
 *
 * Changing data asks for a confirmation on a terminal; anywhere else it needs `--yes`, so a script
 * cannot expunge by accident. `--dry-run` needs neither.
 */
import { resolve } from 'node:path'
import { createInterface } from 'node:readline/promises'
import type { Command } from 'commander'
import { ConfigError } from '../core/errors.ts'
import { EXPUNGE_TABLES, type ExpungeRecord } from '../store/expunge-plan.ts'
import { expunge, type ExpungeReport } from '../store/expunge-run.ts'
import { normalizeSubject, subjectDigest, type ExpungeSubject } from '../store/expunge-subject.ts'
import { sqlitePathOf } from '../store/open.ts'
import { redact } from '../store/postgres/config.ts'
import { MAX_PAGE_SIZE, type Store } from '../store/store.ts'
import { printJson, startProgress, storeOptions, withExamples } from './options.ts'
import { usingStore } from './runs.ts'

interface ExpungeCommandOptions {
  project: string
  db?: string
  customerEmail?: string
  orderId?: string
  list?: boolean
  dryRun?: boolean
  yes?: boolean
  json?: boolean
}

export function registerExpungeCommand(program: Command): void {
  const command = storeOptions(
    program.command('expunge').description("remove one customer's or one order's personal data from the store, with an audit record (or --list the records)"),
  )
    .option('--customer-email <email>', 'the customer whose data goes: every stored event mentioning this address, and its mentions in logs and records')
    .option('--order-id <id>', "the order whose data goes: its id or number as the platform shows it (Adobe Commerce's increment_id or entity_id, Commerce Layer's id or number)")
    .option('--list', 'list the audit records of past expunges, newest first (of this subject only, if one is given)')
    .option('--dry-run', 'search and report what would be removed; change nothing, record nothing')
    .option('--yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .option('--json', 'print JSON for scripts: the audit record ({ id, at, requestedBy, subjectKind, subjectDigest, removed, dryRun }), or with --list the records')
  withExamples(command, [
    'storehook expunge --customer-email ann.lee@example.com --dry-run   # what would go',
    'storehook expunge --customer-email ann.lee@example.com             # asks, then removes',
    'storehook expunge --order-id 000000042 --yes --json                # in a script',
    'storehook expunge --list',
    'storehook expunge --list --customer-email ann.lee@example.com      # was this customer expunged?',
  ])
  command.action((options: ExpungeCommandOptions) => runExpungeCommand(options))
}

async function runExpungeCommand(options: ExpungeCommandOptions): Promise<void> {
  const subject = subjectOf(options)
  if (options.list) return usingStore(options, async (store) => list(store, subject, options.json === true))
  if (!subject) throw new ConfigError('expunge: give --customer-email or --order-id (or --list to see past expunges)')
  if (!options.dryRun && !options.yes) await confirm(subject, options)
  await usingStore(options, async (store) => {
    const progress = startProgress('searching the store', EXPUNGE_TABLES.length)
    let report: ExpungeReport
    try {
      report = await expunge(store, subject, {
        requestedBy: 'cli',
        dryRun: options.dryRun === true,
        onProgress: ({ tablesDone, table, fraction }) => progress.update(tablesDone, `${table} ${Math.floor(fraction * 100)}%`),
      })
    } finally {
      progress.finish()
    }
    if (options.json) return printJson({ ...report, at: new Date(report.at).toISOString() })
    console.log(summary(report))
  })
}

function subjectOf(options: ExpungeCommandOptions): ExpungeSubject | null {
  if (options.customerEmail !== undefined && options.orderId !== undefined) {
    throw new ConfigError('expunge: give either --customer-email or --order-id, not both: an expunge is about one customer or one order')
  }
  const given: ExpungeSubject | null =
    options.customerEmail !== undefined ? { kind: 'customer-email', value: options.customerEmail }
    : options.orderId !== undefined ? { kind: 'order-id', value: options.orderId }
    : null
  if (!given) return null
  try {
    return normalizeSubject(given)
  } catch (error) {
    throw new ConfigError(`expunge: ${(error as Error).message}`)
  }
}

/** Asks on the terminal; refuses outright where nobody can answer. */
async function confirm(subject: ExpungeSubject, options: ExpungeCommandOptions): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new ConfigError('expunge: removing data needs a confirmation; pass --yes (or --dry-run to see what would go)')
  }
  // The store openStore will open: the project's default file for an empty or missing --db.
  const file = sqlitePathOf(options.db, resolve(options.project))
  const where = file === null ? redact(options.db!) : `sqlite:${file}`
  const prompt = createInterface({ input: process.stdin, output: process.stderr })
  try {
    const answer = await prompt.question(`Remove every stored mention of this ${subject.kind === 'customer-email' ? 'customer email' : 'order id'} from ${where}? This cannot be undone. [y/N] `)
    if (!/^y(es)?$/i.test(answer.trim())) throw new ConfigError('expunge: not confirmed; nothing was changed')
  } finally {
    prompt.close()
  }
}

async function list(store: Store, subject: ExpungeSubject | null, json: boolean): Promise<void> {
  const records = await store.listExpunges({ limit: MAX_PAGE_SIZE, ...(subject ? { subjectDigest: subjectDigest(subject) } : {}) })
  if (json) return printJson(records.map((r) => ({ ...r, at: new Date(r.at).toISOString() })))
  if (records.length === 0) return console.log(subject ? 'no expunge of this subject is recorded' : 'no expunge is recorded')
  const rows = [
    ['ID', 'AT', 'BY', 'SUBJECT', 'DIGEST', 'EVENTS', 'ROWS CHANGED'],
    ...records.map((r: ExpungeRecord) => [
      String(r.id),
      new Date(r.at).toISOString(),
      r.requestedBy,
      r.subjectKind,
      `${r.subjectDigest.slice(0, 12)}…`,
      String(r.removed.counts.events),
      String(Object.values(r.removed.counts).reduce((a, b) => a + b, 0) - r.removed.counts.events),
    ]),
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  console.log(rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n'))
}

const TABLE_WORDS: Record<string, string> = {
  events: 'event payloads removed',
  runs: 'run errors scrubbed',
  attempts: 'attempt errors scrubbed',
  steps: 'step results deleted',
  run_logs: 'log lines scrubbed',
  outbound_calls: 'outbound calls scrubbed',
  activations: 'activations scrubbed',
  external_calls: 'external calls scrubbed',
}

function summary(report: ExpungeReport): string {
  const { counts, events, endedRuns } = report.removed
  const head = report.dryRun
    ? `dry run: this ${report.subjectKind} (digest ${report.subjectDigest.slice(0, 12)}…) is mentioned as follows; nothing was changed`
    : `expunged this ${report.subjectKind} (digest ${report.subjectDigest.slice(0, 12)}…): audit record #${report.id}`
  const verb = (words: string) => (report.dryRun ? words.replace(/ (removed|scrubbed|deleted)$/, ' to go') : words)
  const lines = Object.entries(counts).filter(([, n]) => n > 0).map(([table, n]) => `  ${String(n).padStart(6)} ${verb(TABLE_WORDS[table]!)}`)
  if (events.length) lines.push(`  events: ${events.map((e) => `${e.source}/${e.id}`).join(', ')}`)
  if (endedRuns.length) lines.push(`  unfinished runs ${report.dryRun ? 'to end' : 'ended'} as dead: ${endedRuns.map((id) => `#${id}`).join(', ')}`)
  return [head, ...(lines.length ? lines : ['  nothing found'])].join('\n')
}
