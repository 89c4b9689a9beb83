/**
 * @module
 * `storehook init [dir] --template <name>`: writes a ready project from one of the templates in
 * `templates/` (shipped in the npm package beside `src/` and `dist/`): package.json depending on
 * storehook, the config (or an App Builder `app.config.yaml`), an action or external resource, a
 * test that runs it against the testkit's simulators, `.env` with working local values (fresh
 * secrets, the simulators' ports), `.env.example`, `.gitignore` and a README. `npm install &&
 * npm test` passes in it as written.
 *
 * Template files are copied as they are, except: `template.json` (the template's description
 * and next steps) is not copied; `gitignore`, `env` and `env.example` become dotfiles (npm leaves
 * `.gitignore` out of published packages); `{{whsec}}` and `{{hex32}}` in `env` become fresh
 * secrets; package.json gets the project's name and the storehook version asked for.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { InvalidArgumentError, type Command } from 'commander'
import { ConfigError } from '../core/errors.ts'

/** The package root is two levels up from `src/cli/` and from `dist/cli/` alike. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const TEMPLATES_DIR = join(PACKAGE_ROOT, 'templates')
export const DEFAULT_TEMPLATE = 'blank'

const DOTFILES: Record<string, string> = { gitignore: '.gitignore', env: '.env', 'env.example': '.env.example' }
const PLACEHOLDERS: Record<string, () => string> = {
  '{{whsec}}': () => `whsec_${randomBytes(24).toString('base64')}`,
  '{{hex32}}': () => randomBytes(16).toString('hex'),
}

export interface TemplateInfo {
  name: string
  description: string
  /** Commands to run after `npm install`, shown once the project is written. */
  next: string[]
}

export interface InitOptions {
  template?: string
  /** The dependency spec for storehook: `^0.1.0`, `file:/path/to/storehook`, … (default `^<this version>`). */
  storehook?: string
  /** Write into a directory that is not empty. */
  force?: boolean
}

export interface InitResult {
  dir: string
  template: TemplateInfo
  /** Paths written, relative to `dir`. */
  written: string[]
  /** Paths left as they were (an existing `.env`). */
  kept: string[]
}

/**
 * The templates, as found in `templates/`.
 *
 * @example
 * listTemplates().map((t) => t.name) // ['app-builder', 'blank', 'commerce-layer', 'order-to-erp']
 */
export function listTemplates(): TemplateInfo[] {
  if (!existsSync(TEMPLATES_DIR)) return []
  return readdirSync(TEMPLATES_DIR)
    .filter((name) => existsSync(join(TEMPLATES_DIR, name, 'template.json')))
    .sort()
    .map((name) => ({ name, ...(JSON.parse(readFileSync(join(TEMPLATES_DIR, name, 'template.json'), 'utf8')) as Omit<TemplateInfo, 'name'>) }))
}

/**
 * Writes the template into `dir` (created if missing).
 *
 * @throws ConfigError for an unknown template, or a directory that is not empty without `force`
 * @example
 * const { written } = initProject('my-shop', { template: 'order-to-erp' })
 * written // ['.env', '.env.example', '.gitignore', 'README.md', 'actions/order-to-erp.ts', 'package.json', …]
 */
export function initProject(dir: string, options: InitOptions = {}): InitResult {
  const templates = listTemplates()
  const name = options.template ?? DEFAULT_TEMPLATE
  const template = templates.find((t) => t.name === name)
  if (!template) throw new ConfigError(`init: no template "${name}"; choose one of ${templates.map((t) => t.name).join(', ')}`)
  const target = resolve(dir)
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new ConfigError(`init: ${target} exists and is not a directory`)
    // A fresh `git init` is still an empty project.
    const present = readdirSync(target).filter((entry) => entry !== '.git')
    if (present.length > 0 && !options.force) {
      const shown = present.slice(0, 5).join(', ') + (present.length > 5 ? ', …' : '')
      throw new ConfigError(`init: ${target} is not empty (${shown}); choose a new directory, or add --force to write into it (files of the same name are replaced, an existing .env is kept)`)
    }
  }
  const storehook = options.storehook ?? `^${ownVersion()}`
  const written: string[] = []
  const kept: string[] = []
  for (const file of templateFiles(join(TEMPLATES_DIR, name))) {
    const parts = file.split('/')
    const last = parts.pop()!
    const out = [...parts, parts.length === 0 ? (DOTFILES[last] ?? last) : last].join('/')
    const destination = join(target, out)
    // Secrets someone already put in .env are never overwritten, not even with --force.
    if (out === '.env' && existsSync(destination)) {
      kept.push(out)
      continue
    }
    let content = readFileSync(join(TEMPLATES_DIR, name, file), 'utf8')
    if (out === 'package.json') content = packageJson(content, packageName(target), storehook)
    if (out === '.env') for (const [placeholder, make] of Object.entries(PLACEHOLDERS)) content = content.replaceAll(placeholder, () => make())
    mkdirSync(dirname(destination), { recursive: true })
    writeFileSync(destination, content)
    written.push(out)
  }
  return { dir: target, template, written: written.sort(), kept }
}

export function registerInitCommand(program: Command): void {
  const templates = listTemplates()
  const list = templates.map((t) => `  ${t.name.padEnd(15)} ${t.description}${t.name === DEFAULT_TEMPLATE ? ' (default)' : ''}`).join('\n')
  program
    .command('init')
    .description('create a project from a template: package.json, config, an action or external resource, .env, a test and a README')
    .argument('[dir]', 'the directory to create it in', '.')
    .option('--template <name>', `one of ${templates.map((t) => t.name).join(', ')}`, parseTemplate, DEFAULT_TEMPLATE)
    .option('--storehook <spec>', 'the storehook dependency: an npm version range or spec, e.g. file:/path/to/storehook', `^${ownVersion()}`)
    .option('--force', 'write into a directory that is not empty (files of the same name are replaced; an existing .env is kept)')
    .addHelpText(
      'after',
      `\nTemplates:\n${list}\n\nExamples:\n  storehook init my-shop --template order-to-erp\n  storehook init . --template commerce-layer\n\n` +
        'Exit codes: 0 written; 1 unknown template, or a directory that is not empty (without --force).',
    )
    .action((dir: string, options: { template: string; storehook: string; force?: boolean }) => {
      const result = initProject(dir, { template: options.template, storehook: options.storehook, force: options.force === true })
      const shown = relative(process.cwd(), result.dir) || '.'
      console.log(`Created a storehook project from the ${result.template.name} template in ${result.dir}:`)
      for (const file of result.written) console.log(`  ${file}`)
      for (const file of result.kept) console.log(`  ${file} (kept as it was)`)
      console.log('\nNext:')
      if (shown !== '.') console.log(`  cd ${shown}`)
      console.log('  npm install')
      console.log('  npm test')
      for (const line of result.template.next) console.log(`  ${line}`)
      console.log('\nREADME.md walks through it; the dashboard is at http://127.0.0.1:3000/admin once storehook runs.')
    })
}

function parseTemplate(value: string): string {
  const names = listTemplates().map((t) => t.name)
  if (!names.includes(value)) throw new InvalidArgumentError(`choose one of ${names.join(', ')}`)
  return value
}

/** Every file of a template, relative to it, `/`-separated, `template.json` left out. */
function templateFiles(root: string, prefix = ''): string[] {
  return readdirSync(join(root, prefix), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name
      if (entry.isDirectory()) return templateFiles(root, path)
      return path === 'template.json' ? [] : [path]
    })
}

function packageJson(content: string, name: string, storehook: string): string {
  const pkg = JSON.parse(content) as { name: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> }
  pkg.name = name
  for (const deps of [pkg.dependencies, pkg.devDependencies]) if (deps && 'storehook' in deps) deps.storehook = storehook
  return `${JSON.stringify(pkg, null, 2)}\n`
}

/** An npm package name from the directory's: lower case, URL-safe, not starting with `.` or `_`. */
function packageName(dir: string): string {
  const name = basename(dir).toLowerCase().replace(/[^a-z0-9._~-]+/g, '-').replace(/^[._-]+/, '').slice(0, 214)
  return name || 'storehook-project'
}

function ownVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version
}
