/**
 * @module
 * Loads a project directory: `.env`, `storehook.config.{ts,mjs,js}`, the `actions/` and
 * `external/` directories, and an App Builder project's `app.config.yaml` (app-builder/project.ts).
 * Every problem found here is the user's to fix, so each error names the file, the field and what
 * was expected, and nothing starts until the whole project is valid.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { registerHooks } from 'node:module'
import { join, relative, resolve, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseEnv } from 'node:util'
import { z } from 'zod'
import { connectionKinds } from '../connections/index.ts'
import type { ConnectionDeps } from '../connections/connection.ts'
import { ConfigError } from '../core/errors.ts'
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../core/retry.ts'
import { isExternalDefinition } from '../sources/external.ts'
import { sourceKinds } from '../sources/index.ts'
import type { Source } from '../sources/source.ts'
import { isActionDefinition } from './action.ts'
import type { AppBuilderApp } from './app-builder/app.ts'
import { APP_CONFIG_FILE, isAppBuilderProject, loadAppBuilderParts } from './app-builder/project.ts'
import { isEnvRef, type ProjectConfig } from './config.ts'
import { parseConfig } from './config-issues.ts'
import { loadProjectAction } from './cron-action.ts'
import { CRON_SOURCE } from './cron.ts'
import { DEFAULT_PAUSED_SWEEP_MS } from './paused-runs.ts'
import { retentionSettingsSchema, type RetentionSettings } from './retention.ts'
import { DEFAULT_EXTERNAL_SETTINGS, ISOLATIONS, loadExternal, type ExternalSettings, type LoadedExternal } from './external/load.ts'
import { DEFAULT_RUN_LOG_LIMITS } from './run-log.ts'
import { recordingCalls } from './run-scope.ts'
import { SCHEDULE_SOURCE } from './schedule.ts'
import { MAX_TIMER_MS, type LoadedAction } from './subscriptions.ts'

export const CONFIG_FILES = ['storehook.config.ts', 'storehook.config.mjs', 'storehook.config.js']
const ACTION_FILE = /^(?!.*\.(test|spec)\.)(?!.*\.d\.ts$).*\.(ts|mts|js|mjs)$/

export interface Settings {
  worker: {
    concurrency: number
    pollIntervalMs: number
    shutdownGraceMs: number
    leaseMarginMs: number
    pausedSweepMs: number
    logLinesPerAttempt: number
    logLineLength: number
  }
  server: { bodyLimitBytes: number }
  store: { synchronous: 'full' | 'normal' }
  /** How long stored records are kept (runtime/retention.ts). */
  retention: RetentionSettings
  /** Where external-resource handlers run (external/load.ts). */
  external: ExternalSettings
  /** For an App Builder project's event-consuming actions: their retry policy. */
  appBuilder: { retry: RetryPolicy }
}

export interface Project {
  dir: string
  configFile: string
  settings: Settings
  sources: Map<string, Source>
  connections: Record<string, unknown>
  actions: LoadedAction[]
  /** External resources: `external/<name>.ts` answers `POST /external/<name>`. */
  external: LoadedExternal[]
  /** An App Builder project's actions (`app.config.yaml`), served as OpenWhisk would. */
  appBuilder?: AppBuilderApp
}

const settingsSchema = z.object({
  worker: z
    .object({
      concurrency: z.number().int().positive().default(16),
      pollIntervalMs: z.number().int().positive().max(MAX_TIMER_MS).default(1000),
      shutdownGraceMs: z.number().int().nonnegative().max(MAX_TIMER_MS).default(10_000),
      leaseMarginMs: z.number().int().positive().max(MAX_TIMER_MS).default(30_000),
      pausedSweepMs: z.number().int().positive().max(MAX_TIMER_MS).default(DEFAULT_PAUSED_SWEEP_MS),
      logLinesPerAttempt: z.number().int().nonnegative().default(DEFAULT_RUN_LOG_LIMITS.linesPerAttempt),
      logLineLength: z.number().int().positive().default(DEFAULT_RUN_LOG_LIMITS.lineLength),
    })
    .strict()
    .default({
      concurrency: 16,
      pollIntervalMs: 1000,
      shutdownGraceMs: 10_000,
      leaseMarginMs: 30_000,
      pausedSweepMs: DEFAULT_PAUSED_SWEEP_MS,
      logLinesPerAttempt: DEFAULT_RUN_LOG_LIMITS.linesPerAttempt,
      logLineLength: DEFAULT_RUN_LOG_LIMITS.lineLength,
    }),
  server: z
    .object({ bodyLimitBytes: z.number().int().positive().default(1024 * 1024) })
    .strict()
    .default({ bodyLimitBytes: 1024 * 1024 }),
  store: z
    .object({ synchronous: z.enum(['full', 'normal']).default('full') })
    .strict()
    .default({ synchronous: 'full' }),
  retention: retentionSettingsSchema,
  external: z
    .object({
      isolation: z.enum(ISOLATIONS).default(DEFAULT_EXTERNAL_SETTINGS.isolation),
      threads: z.number().int().positive().max(64).default(DEFAULT_EXTERNAL_SETTINGS.threads),
      threadMemoryMb: z.number().int().min(16).default(DEFAULT_EXTERNAL_SETTINGS.threadMemoryMb),
      graceMs: z.number().int().positive().max(MAX_TIMER_MS).default(DEFAULT_EXTERNAL_SETTINGS.graceMs),
      lateAnswerMs: z.number().int().positive().max(MAX_TIMER_MS).default(DEFAULT_EXTERNAL_SETTINGS.lateAnswerMs),
    })
    .strict()
    .default(DEFAULT_EXTERNAL_SETTINGS),
  appBuilder: z
    .object({
      retry: z
        .object({
          maxAttempts: z.number().int().positive().default(DEFAULT_RETRY_POLICY.maxAttempts),
          baseDelayMs: z.number().int().nonnegative().max(MAX_TIMER_MS).default(DEFAULT_RETRY_POLICY.baseDelayMs),
          maxDelayMs: z.number().int().nonnegative().max(MAX_TIMER_MS).default(DEFAULT_RETRY_POLICY.maxDelayMs),
        })
        .strict()
        .default(DEFAULT_RETRY_POLICY),
    })
    .strict()
    .default({ retry: DEFAULT_RETRY_POLICY }),
})

export interface LoadOptions {
  /**
   * Load what external resources need (config, connections, `external/`) and leave out the
   * action files and the App Builder actions: a handler thread must not run their import-time
   * code once more per thread (timers, connections opened at import, counters).
   */
  externalOnly?: boolean
}

/**
 * Loads and validates the project in `dir`.
 *
 * @example
 * const project = await loadProject('examples/quickstart')
 * project.actions.map((a) => a.name) // ['forward']
 */
export async function loadProject(dir: string, deps: ConnectionDeps = {}, options: LoadOptions = {}): Promise<Project> {
  dir = resolve(dir)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`project directory ${dir} does not exist`)
  const configName = CONFIG_FILES.find((name) => existsSync(join(dir, name)))
  const appBuilder = isAppBuilderProject(dir)
  if (!configName && !appBuilder) {
    throw new ConfigError(`${dir}: no ${CONFIG_FILES.join(', ')} found (nor an App Builder ${APP_CONFIG_FILE}); is this a storehook project?`)
  }
  const configFile = join(dir, configName ?? APP_CONFIG_FILE)
  loadDotEnv(dir)
  resolveStorehookImports()

  // An App Builder project needs no storehook.config: its settings are the defaults.
  const configShown = configName ?? APP_CONFIG_FILE
  const config = configName ? await importDefault(configFile, configName) : {}
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ConfigError(`${configShown}: the default export must be the object given to defineConfig({ … })`)
  }
  const { sources = {}, connections = {}, actions = {}, ...rest } = config as ProjectConfig
  // Which fields env() filled, for errors that say where a bad value came from.
  const fromEnv = new Map<string, string>()
  const settings = parseConfig(settingsSchema, resolveEnv(rest, configShown, '', fromEnv), { file: configShown, prefix: '', fromEnv, otherOptions: ['sources', 'connections', 'actions'] }) as Settings

  const sourceMap = new Map<string, Source>()
  for (const [name, raw] of Object.entries(resolveEnv(sources, configShown, 'sources.', fromEnv))) {
    if (name === SCHEDULE_SOURCE || name === CRON_SOURCE) {
      throw new ConfigError(`${configShown}: sources.${name}: "${name}" is the built-in source of ${name === CRON_SOURCE ? 'cron ticks' : 'ctx.schedule'}; give this source another name`)
    }
    const kind = pickKind(sourceKinds, raw, configShown, `sources.${name}`)
    const { kind: _, ...options } = raw as { kind: string }
    sourceMap.set(name, kind.create(name, parseConfig(kind.configSchema, options, { file: configShown, prefix: `sources.${name}.`, fromEnv })))
  }
  const connectionMap: Record<string, unknown> = {}
  for (const [name, raw] of Object.entries(resolveEnv(connections, configShown, 'connections.', fromEnv))) {
    const kind = pickKind(connectionKinds, raw, configShown, `connections.${name}`)
    const { kind: _, ...options } = raw as { kind: string }
    connectionMap[name] = kind.create(name, parseConfig(kind.configSchema, options, { file: configShown, prefix: `connections.${name}.`, fromEnv }), recordingCalls(deps))
  }

  const sourceNames = [...sourceMap.keys()]
  const loaded: LoadedAction[] = []
  for (const [name, definition] of Object.entries(actions)) {
    if (!isActionDefinition(definition)) {
      throw new ConfigError(`${configShown}: actions.${name}: expected an action made with onEvent(…) or onCron(…)`)
    }
    loaded.push(loadProjectAction(name, configShown, definition, sourceNames))
  }
  // In an App Builder project `actions/` holds OpenWhisk actions, named by the manifest; storehook
  // actions of its own go in storehook.config's `actions`.
  for (const file of appBuilder || options.externalOnly ? [] : listActionFiles(join(dir, 'actions'))) {
    const shown = relative(dir, file).split(sep).join('/')
    const definition = await importDefault(file, shown)
    if (!isActionDefinition(definition)) {
      throw new ConfigError(`${shown}: the default export must be an action: export default onEvent(…) or onCron(…)`)
    }
    const name = relative(join(dir, 'actions'), file).split(sep).join('/').replace(/\.[^.]+$/, '')
    if (loaded.some((a) => a.name === name)) throw new ConfigError(`${shown}: an action named "${name}" is already defined`)
    loaded.push(loadProjectAction(name, shown, definition, sourceNames))
  }

  const external: LoadedExternal[] = []
  for (const file of listActionFiles(join(dir, 'external'))) {
    const shown = relative(dir, file).split(sep).join('/')
    const definition = await importDefault(file, shown)
    if (!isExternalDefinition(definition)) {
      throw new ConfigError(`${shown}: the default export must be an external resource: export default commerceLayer.price(…)`)
    }
    const name = relative(join(dir, 'external'), file).split(sep).join('/').replace(/\.[^.]+$/, '')
    if (external.some((r) => r.name === name)) throw new ConfigError(`${shown}: an external resource named "${name}" is already defined`)
    // Options are the file's own: env() in them resolves like the config's (secrets above all).
    const options = resolveEnv(definition.options, `${shown} (external resource "${name}")`, '')
    external.push(loadExternal(name, shown, definition, options))
  }
  const project: Project = { dir, configFile, settings, sources: sourceMap, connections: connectionMap, actions: loaded, external }
  if (appBuilder && !options.externalOnly) addAppBuilder(project)
  return project
}

function addAppBuilder(project: Project): void {
  const { app, source } = loadAppBuilderParts(project.dir, process.env, project.settings.appBuilder.retry)
  if (source) {
    if (project.sources.has(source.name)) {
      throw new ConfigError(`${CONFIG_FILES.join(' / ')}: sources.${source.name}: the App Builder project's I/O Events source has this name; give yours another`)
    }
    project.sources.set(source.name, source)
  }
  for (const action of app.eventActions) {
    if (project.actions.some((a) => a.name === action.name)) {
      throw new ConfigError(`${action.file}: the App Builder action "${action.name}" has the name of a storehook action; rename one`)
    }
    project.actions.push(action)
  }
  project.appBuilder = app
}

/** Fills unset environment variables from the project's `.env`; the real environment wins. */
function loadDotEnv(dir: string): void {
  const file = join(dir, '.env')
  if (!existsSync(file)) return
  for (const [name, value] of Object.entries(parseEnv(readFileSync(file, 'utf8')))) {
    if (process.env[name] === undefined) process.env[name] = value
  }
}

let hooksRegistered = false
/**
 * Makes `import … from 'storehook'` in project files resolve to this running copy of storehook,
 * so a project needs no install of its own to run, and its actions and the runtime share one
 * module instance whichever way storehook was started.
 */
function resolveStorehookImports(): void {
  if (hooksRegistered) return
  hooksRegistered = true
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
  const entries: Record<string, string> = {
    storehook: new URL(`../index${extension}`, import.meta.url).href,
    'storehook/testkit': new URL(`../testkit/index${extension}`, import.meta.url).href,
  }
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const url = entries[specifier]
      if (url) return { url, shortCircuit: true }
      return nextResolve(specifier, context)
    },
  })
}

async function importDefault(file: string, shown: string): Promise<unknown> {
  try {
    const module = await import(pathToFileURL(file).href)
    return module.default
  } catch (error) {
    throw new ConfigError(`${shown}: failed to load: ${(error as Error).message}`, { cause: error })
  }
}

function listActionFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.') && !entry.name.startsWith('_'))
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) return listActionFiles(path)
      return ACTION_FILE.test(entry.name) ? [path] : []
    })
}

function resolveEnv(value: unknown, file: string, path: string, fromEnv?: Map<string, string>): any {
  if (isEnvRef(value)) {
    fromEnv?.set(path.replace(/\.$/, ''), value.name)
    const resolved = process.env[value.name] ?? value.fallback
    if (resolved === undefined) {
      throw new ConfigError(
        `${file}: ${path.replace(/\.$/, '')}: environment variable ${value.name} is not set (set it in the environment or in the project's .env)`,
      )
    }
    return resolved
  }
  if (Array.isArray(value)) return value.map((item, i) => resolveEnv(item, file, `${path.replace(/\.$/, '')}[${i}].`, fromEnv))
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveEnv(v, file, `${path}${k}.`, fromEnv)]))
  }
  return value
}

function pickKind<K>(kinds: Record<string, K>, raw: unknown, file: string, path: string): K {
  const kind = (raw as { kind?: unknown } | null)?.kind
  const known = Object.keys(kinds).join(', ')
  if (typeof kind !== 'string') throw new ConfigError(`${file}: ${path}.kind: expected one of ${known}`)
  const found = kinds[kind]
  if (!found) throw new ConfigError(`${file}: ${path}.kind: unknown kind "${kind}"; expected one of ${known}`)
  return found
}
