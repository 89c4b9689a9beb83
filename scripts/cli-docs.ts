/**
 * @module
 * Keeps docs/cli.md, the CLI reference, equal to what the commands say about themselves: each
 * command's section holds its `--help` output verbatim, in a block after a marker
 *
 *     <!-- help: storehook runs list -->
 *
 * The commands are found by asking the CLI itself (`storehook --help`, then each command's own
 * `--help` for its subcommands), so a command added to the program is covered without touching
 * this file. The prose around the blocks is written by hand and left alone.
 *
 * Run: `node scripts/cli-docs.ts` checks (exit 1 with a diff when the doc is stale);
 * `node scripts/cli-docs.ts --write` rewrites the blocks, adding a section for a new command
 * before the `<!-- end of commands -->` marker and dropping the sections of commands that are gone.
 */
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLI = fileURLToPath(new URL('../bin/storehook.js', import.meta.url))
export const CLI_DOC = fileURLToPath(new URL('../docs/cli.md', import.meta.url))
const END_OF_COMMANDS = '<!-- end of commands -->'
const FENCE = '```'

/** A command's full name, e.g. `storehook runs list`, and its `--help` output. */
export interface CommandHelp {
  command: string
  help: string
}

/**
 * Every command's `--help`, depth first in the order the CLI lists them, the program first.
 * Run with a clean environment: defaults read from it (`$STOREHOOK_DB`, `$PORT`) and a terminal's
 * width would otherwise leak into the text.
 *
 * @example
 * const helps = await collectHelp()
 * helps.map((h) => h.command) // ['storehook', 'storehook start', 'storehook dev', 'storehook runs', …]
 */
export async function collectHelp(): Promise<CommandHelp[]> {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(env)) {
    if (/^(STOREHOOK_|NODE_TEST|NODE_OPTIONS$|PORT$|FORCE_COLOR$|NO_COLOR$|CLICOLOR|COLUMNS$)/.test(name)) delete env[name]
  }
  const run = promisify(execFile)
  const helpOf = async (path: string[]): Promise<CommandHelp[]> => {
    const { stdout } = await run(process.execPath, [CLI, ...path, '--help'], { cwd: REPO_ROOT, env, maxBuffer: 1 << 20 })
    const subcommands = await Promise.all(subcommandsIn(stdout).map((name) => helpOf([...path, name])))
    return [{ command: ['storehook', ...path].join(' '), help: stdout.trimEnd() }, ...subcommands.flat()]
  }
  return helpOf([])
}

/** The names in a help text's `Commands:` section (commander's layout: two spaces, then the name). */
export function subcommandsIn(help: string): string[] {
  const section = /\nCommands:\n([\s\S]*?)(?:\n\n|$)/.exec(help)?.[1] ?? ''
  return section
    .split('\n')
    .map((line) => /^ {2}([a-z][\w-]*)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'help')
}

const marker = (command: string) => `<!-- help: ${command} -->`
const block = (help: string) => `${FENCE}text\n${help}\n${FENCE}`

/** The `--help` blocks the doc holds now, by command. */
export function blocksIn(doc: string): Map<string, string> {
  const blocks = new Map<string, string>()
  const pattern = /<!-- help: ([^>]+?) -->\n```text\n([\s\S]*?)\n```/g
  for (const match of doc.matchAll(pattern)) blocks.set(match[1]!, match[2]!)
  return blocks
}

/** How the doc differs from the commands: one entry per stale, missing or extra command; empty when in step. */
export function problems(doc: string, helps: CommandHelp[]): string[] {
  const blocks = blocksIn(doc)
  const found: string[] = []
  for (const { command, help } of helps) {
    const written = blocks.get(command)
    if (written === undefined) found.push(`${command}: no section (no "${marker(command)}" block)`)
    else if (written !== help) found.push(`${command}: its --help changed\n${lineDiff(written, help)}`)
  }
  const known = new Set(helps.map((h) => h.command))
  for (const command of blocks.keys()) if (!known.has(command)) found.push(`${command}: documented, but the CLI has no such command`)
  return found
}

/**
 * The doc with every block set to the command's help, a section added for each new command and
 * the sections of commands that no longer exist removed.
 */
export function rewrite(doc: string, helps: CommandHelp[]): string {
  const known = new Map(helps.map((h) => [h.command, h.help]))
  // A section is its heading, the marker and the block; a gone command's goes whole.
  let next = doc.replace(/(## [^\n]*\n\n)?<!-- help: ([^>]+?) -->\n```text\n[\s\S]*?\n```\n?/g, (whole, _heading: string | undefined, command: string) => {
    const help = known.get(command)
    return help === undefined ? '' : whole.replace(/```text\n[\s\S]*?\n```/, () => block(help))
  })
  const missing = helps.filter((h) => !blocksIn(next).has(h.command))
  if (missing.length) {
    const sections = missing.map((h) => `## \`${h.command}\`\n\n${marker(h.command)}\n${block(h.help)}\n\n`).join('')
    if (!next.includes(END_OF_COMMANDS)) next = `${next.trimEnd()}\n\n${END_OF_COMMANDS}\n`
    next = next.replace(END_OF_COMMANDS, `${sections}${END_OF_COMMANDS}`)
  }
  return next
}

/** The first lines where `written` and `actual` part, as `- doc` / `+ --help` pairs. */
function lineDiff(written: string, actual: string): string {
  const a = written.split('\n')
  const b = actual.split('\n')
  const out: string[] = []
  for (let i = 0; i < Math.max(a.length, b.length) && out.length < 12; i++) {
    if (a[i] === b[i]) continue
    out.push(`    line ${i + 1}:`)
    if (a[i] !== undefined) out.push(`    - ${a[i]}`)
    if (b[i] !== undefined) out.push(`    + ${b[i]}`)
  }
  return out.join('\n')
}

if (import.meta.main) {
  const helps = await collectHelp()
  const doc = readFileSync(CLI_DOC, 'utf8')
  if (process.argv.includes('--write')) {
    const next = rewrite(doc, helps)
    writeFileSync(CLI_DOC, next)
    console.log(next === doc ? 'docs/cli.md is up to date' : `docs/cli.md rewritten (${helps.length} commands)`)
  } else {
    const found = problems(doc, helps)
    if (found.length) {
      console.error(`docs/cli.md is out of step with the CLI:\n${found.map((p) => `  ${p}`).join('\n')}\nRegenerate it: node scripts/cli-docs.ts --write`)
      process.exit(1)
    }
    console.log(`docs/cli.md matches the --help of all ${helps.length} commands`)
  }
}
