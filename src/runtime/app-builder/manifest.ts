/**
 * @module
 * Reads an Adobe App Builder project's runtime manifest as `aio app deploy` would: `app.config.yaml`
 * with every `$include` followed (an `ext.config.yaml` per extension point), or the legacy
 * `manifest.yml`; the actions of `application.runtimeManifest.packages` and of every
 * `extensions.<point>.runtimeManifest.packages`; and the I/O Events `events.registrations` that
 * bind event codes to those actions. Synchronous: it runs once at start-up, before any request.
 *
 * Where a mistake would only show up at the first event in production (a missing function file, a
 * registration naming an action that does not exist, a timeout I/O Runtime refuses), it fails
 * here with a {@link ConfigError} naming the file, the line and the YAML path.
 *
 * Following aio (`aio-cli-lib-app-config`): `{ $include: path }` is replaced by the included
 * file's mapping, keys written beside `$include` winning; paths (`$include`, `function`) are
 * relative to the file that writes them; a `__APP_PACKAGE__` package is named
 * `<package.json name>-<version>`; a registration is bound only when it names a `runtime_action`.
 * Not supported, with a clear error: sequences, docker actions, zip actions and non-Node.js
 * runtimes. Not read: the older `relations.event-listener-for` of aio-cli-plugin-extension.
 * See ../../../../shared/reference/adobe-commerce.md §5.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml'
import { ConfigError } from '../../core/errors.ts'
import { APP_CONFIG_FILE, child, ManifestFiles, type Key, type Mapping, type Origin } from './manifest-files.ts'
import { inputEnvironment, substituteInputs } from './inputs.ts'
import type { AppBuilderAction, AppBuilderManifest, EventRegistration, SkippedRegistration } from './types.ts'

export { APP_CONFIG_FILE }
export const LEGACY_MANIFEST_FILE = 'manifest.yml'
/** I/O Runtime's default and allowed range for `limits.timeout` (system-settings.md). */
export const IO_RUNTIME_DEFAULT_TIMEOUT_MS = 60_000
export const IO_RUNTIME_MIN_TIMEOUT_MS = 100
export const IO_RUNTIME_MAX_TIMEOUT_MS = 3 * 60 * 60 * 1000
/** OpenWhisk's entity name rule: package and action names end up in URLs and activation records. */
const ENTITY_NAME = /^(?:\w|\w[\w@ .-]*[\w@.-])$/
const PACKAGE_PLACEHOLDER = '__APP_PACKAGE__'


/**
 * True when `dir` holds an `app.config.yaml` or a legacy `manifest.yml`.
 *
 * @example
 * if (hasAppBuilderManifest(dir)) manifest = readAppBuilderManifest(dir, process.env)
 */
export function hasAppBuilderManifest(dir: string): boolean {
  return existsSync(join(dir, APP_CONFIG_FILE)) || existsSync(join(dir, LEGACY_MANIFEST_FILE))
}

/**
 * Reads the App Builder project in `dir`. `env` is the real environment (usually `process.env`);
 * the project's `.env` fills what it leaves unset, and the result is used only to substitute
 * the actions' `inputs` (nothing is written to `process.env`). Registrations that deliver to a
 * `webhook_url` or to the journal are not bound: they are listed in `skippedRegistrations`.
 *
 * @example
 * const manifest = readAppBuilderManifest('/srv/my-app', process.env)
 * for (const action of manifest.actions) console.log(action.fullName, action.file, action.web)
 * for (const skipped of manifest.skippedRegistrations ?? []) logger.warn(skipped, skipped.reason)
 */
export function readAppBuilderManifest(dir: string, env: Record<string, string | undefined>): AppBuilderManifest {
  const root = resolve(dir)
  const yaml = new ManifestFiles(root)
  const vars = inputEnvironment(root, env)
  const configs = readConfigs(yaml)
  const actions = new Map<string, { action: AppBuilderAction; where: string }>()
  for (const config of configs) {
    if (config.runtimeManifest == null) continue
    for (const read of readActions(yaml, config, vars)) {
      const earlier = actions.get(read.action.fullName)
      if (earlier) {
        throw new ConfigError(
          `action "${read.action.fullName}" is declared twice: at ${earlier.where} and at ${read.where}; ` +
            'package/action names must be unique across app.config.yaml and every included file',
        )
      }
      actions.set(read.action.fullName, read)
    }
  }
  const registrations: EventRegistration[] = []
  const skippedRegistrations: SkippedRegistration[] = []
  const registrationSeen = new Map<string, string>()
  for (const config of configs) {
    if (config.events == null) continue
    const events = yaml.mapping(config, 'events')
    const list = yaml.mapping(events, 'registrations', {})
    for (const name of Object.keys(list)) {
      const where = yaml.where(list, name)
      const earlier = registrationSeen.get(name)
      if (earlier) throw new ConfigError(`event registration "${name}" is declared twice: at ${earlier} and at ${where}`)
      registrationSeen.set(name, where)
      const result = readRegistration(yaml, list, name, [...actions.keys()])
      if ('reason' in result) skippedRegistrations.push(result)
      else registrations.push(result)
    }
  }
  return { dir: root, files: yaml.files, actions: [...actions.values()].map((a) => a.action), registrations, skippedRegistrations }
}

/**
 * The configs that may carry a `runtimeManifest` and `events`: the application, then each
 * extension point, in file order; or the legacy manifest.yml as the application's runtimeManifest.
 */
function readConfigs(yaml: ManifestFiles): Mapping[] {
  const hasConfig = existsSync(join(yaml.root, APP_CONFIG_FILE))
  const hasLegacy = existsSync(join(yaml.root, LEGACY_MANIFEST_FILE))
  if (!hasConfig && !hasLegacy) {
    throw new ConfigError(`${yaml.root}: no ${APP_CONFIG_FILE} (nor a legacy ${LEGACY_MANIFEST_FILE}): not an App Builder project`)
  }
  const configs: Mapping[] = []
  let application: Mapping | undefined
  if (hasConfig) {
    const top = yaml.load(APP_CONFIG_FILE, [APP_CONFIG_FILE])
    if (top.application == null && top.extensions == null && !hasLegacy) {
      throw new ConfigError(`${APP_CONFIG_FILE}: expected \`application\` or \`extensions\` at the top level, each with a runtimeManifest`)
    }
    if (top.application != null) configs.push((application = yaml.mapping(top, 'application')))
    const extensions = yaml.mapping(top, 'extensions', {})
    for (const point of Object.keys(extensions)) configs.push(yaml.mapping(extensions, point))
  }
  if (hasLegacy && application?.runtimeManifest == null) {
    // aio reads manifest.yml as application.runtimeManifest, unless app.config.yaml has one (then it is ignored).
    const legacy: Mapping = { runtimeManifest: yaml.load(LEGACY_MANIFEST_FILE, [LEGACY_MANIFEST_FILE]) }
    yaml.adopt(legacy, 'runtimeManifest', { file: LEGACY_MANIFEST_FILE, path: [] })
    configs.unshift(legacy)
  }
  return configs
}

/** The actions of one config's `runtimeManifest.packages`, each with where it is declared. */
function readActions(yaml: ManifestFiles, config: Mapping, vars: Record<string, string>) {
  const manifest = yaml.mapping(config, 'runtimeManifest')
  if (manifest.packages == null) yaml.fail(manifest, 'packages', 'missing: a runtimeManifest declares its actions under packages.<package>.actions')
  const packages = yaml.mapping(manifest, 'packages')
  const found: { action: AppBuilderAction; where: string }[] = []
  for (const declared of Object.keys(packages)) {
    const pkg = yaml.mapping(packages, declared)
    const name = declared === PACKAGE_PLACEHOLDER ? appPackageName(yaml.root) : declared
    if (!ENTITY_NAME.test(name)) yaml.fail(packages, declared, `"${name}" is not a valid package name (letters, digits, _ @ . - and spaces)`)
    if (pkg.sequences != null && Object.keys(yaml.mapping(pkg, 'sequences')).length > 0) {
      yaml.fail(pkg, 'sequences', 'sequences are not supported by storehook; call the actions in turn from one action instead')
    }
    const packageInputs = yaml.mapping(pkg, 'inputs', {})
    const list = yaml.mapping(pkg, 'actions', {})
    for (const actionName of Object.keys(list)) {
      if (!ENTITY_NAME.test(actionName)) yaml.fail(list, actionName, `"${actionName}" is not a valid action name (letters, digits, _ @ . - and spaces)`)
      const action = readAction(yaml, list, actionName, name, packageInputs, vars)
      found.push({ action, where: yaml.where(list, actionName) })
    }
  }
  return found
}

function readAction(yaml: ManifestFiles, list: Mapping, name: string, pkg: string, packageInputs: Mapping, vars: Record<string, string>): AppBuilderAction {
  const spec = yaml.mapping(list, name)
  if (spec.docker != null) yaml.fail(spec, 'docker', 'docker actions are not supported by storehook: it runs Node.js actions only')
  const runtime = spec.runtime ?? 'nodejs:default'
  if (typeof runtime !== 'string' || !runtime.startsWith('nodejs')) {
    yaml.fail(spec, 'runtime', `"${String(runtime)}" is not supported: storehook runs Node.js actions only (nodejs:22, nodejs:20, …)`)
  }
  const annotations = yaml.mapping(spec, 'annotations', {})
  const inputs = yaml.mapping(spec, 'inputs', {})
  const web = webValue(yaml, spec, annotations)
  const limits = yaml.mapping(spec, 'limits', {})
  return {
    package: pkg,
    name,
    fullName: `${pkg}/${name}`,
    file: functionFile(yaml, spec),
    runtime,
    inputs: substituteInputs({ ...packageInputs, ...inputs }, vars),
    web: web !== false,
    // raw-http only changes how a web request becomes params; a non-web action never sees one.
    rawHttp: web !== false && (web === 'raw' || flag(yaml, annotations, 'raw-http') || flag(yaml, spec, 'raw-http')),
    final: flag(yaml, annotations, 'final') || flag(yaml, spec, 'final'),
    requireAdobeAuth: flag(yaml, annotations, 'require-adobe-auth'),
    timeoutMs: timeout(yaml, limits),
    memoryMb: memory(yaml, limits),
    declaredIn: yaml.originOf(list, name).file,
  }
}

/** `web` / `web-export` (field or annotation): false, true or 'raw'. */
function webValue(yaml: ManifestFiles, spec: Mapping, annotations: Mapping): boolean | 'raw' {
  for (const [holder, key] of [[spec, 'web'], [spec, 'web-export'], [annotations, 'web-export']] as const) {
    const value = holder[key]
    if (value === 'raw') return 'raw'
    if (value !== undefined && flag(yaml, holder, key)) return true
  }
  return false
}

/** A yes/no field: true, false, 'true', 'false', 'yes', 'no' (absent is false). */
function flag(yaml: ManifestFiles, holder: Mapping, key: string): boolean {
  const value = holder[key]
  if (value === undefined || value === null || value === false || value === 'false' || value === 'no') return false
  if (value === true || value === 'true' || value === 'yes') return true
  return yaml.fail(holder, key, `expected true or false (or yes/no${key === 'web' ? '/raw' : ''}), got ${JSON.stringify(value)}`)
}

/** `limits.memory` in MB: I/O Runtime allows 128 MB–4 GB (default 256); storehook caps the action thread's heap at it. */
function memory(yaml: ManifestFiles, limits: Mapping): number {
  const value = limits.memory
  if (value === undefined || value === null) return 256
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 128 || value > 4096) {
    yaml.fail(limits, 'memory', `expected whole megabytes from 128 to 4096 (the range I/O Runtime allows), got ${JSON.stringify(value)}`)
  }
  return value
}

function timeout(yaml: ManifestFiles, limits: Mapping): number {
  const value = limits.timeout
  if (value === undefined || value === null) return IO_RUNTIME_DEFAULT_TIMEOUT_MS
  if (typeof value !== 'number' || !Number.isInteger(value) || value < IO_RUNTIME_MIN_TIMEOUT_MS || value > IO_RUNTIME_MAX_TIMEOUT_MS) {
    yaml.fail(
      limits,
      'timeout',
      `expected whole milliseconds from ${IO_RUNTIME_MIN_TIMEOUT_MS} to ${IO_RUNTIME_MAX_TIMEOUT_MS} (100 ms to 3 h, the range I/O Runtime allows), got ${JSON.stringify(value)}`,
    )
  }
  return value
}

/** The module to load: `function` relative to the file that writes it; a directory's package.json `main`, else index.js. */
function functionFile(yaml: ManifestFiles, spec: Mapping): string {
  const declared = spec.function
  if (typeof declared !== 'string' || declared === '') {
    return yaml.fail(spec, 'function', "missing: the path of the action's code (a file, or a directory with package.json main or index.js)")
  }
  const path = resolve(dirname(join(yaml.root, yaml.originOf(spec, 'function').file)), declared)
  const shown = yaml.relative(path) === declared ? declared : `${declared} (${yaml.relative(path)})`
  if (!existsSync(path)) return yaml.fail(spec, 'function', `${shown} does not exist`)
  if (path.endsWith('.zip')) return yaml.fail(spec, 'function', `${shown}: zip actions are not supported; point function at the action's source`)
  if (!statSync(path).isDirectory()) return path
  let main = 'index.js'
  const packageJson = join(path, 'package.json')
  if (existsSync(packageJson)) {
    const parsed = readJson(packageJson, yaml.relative(packageJson)) as { main?: unknown }
    if (typeof parsed?.main === 'string' && parsed.main !== '') main = parsed.main
  }
  // Node's own lookup for a package main: the path, then with .js, then as a directory.
  const candidates = [join(path, main), `${join(path, main)}.js`, join(path, main, 'index.js')]
  const found = candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile())
  if (!found) {
    return yaml.fail(spec, 'function', `${shown} is a directory, but its ${main === 'index.js' ? 'index.js' : `package.json main "${main}"`} does not exist`)
  }
  return found
}

function readRegistration(yaml: ManifestFiles, list: Mapping, name: string, declared: string[]): EventRegistration | SkippedRegistration {
  const spec = yaml.mapping(list, name)
  const declaredIn = yaml.originOf(list, name).file
  const description = spec.description ?? null
  if (description !== null && typeof description !== 'string') yaml.fail(spec, 'description', 'expected a string')
  const eventCodes = registrationCodes(yaml, spec)
  if (spec.runtime_action == null) {
    const reason =
      spec.webhook_url != null
        ? 'it delivers to its webhook_url, not to an action of this project'
        : 'it has neither runtime_action nor webhook_url, so its events stay in the I/O Events journal'
    return { name, eventCodes, reason: `event registration "${name}" is not bound: ${reason}`, declaredIn }
  }
  const action = spec.runtime_action
  if (typeof action !== 'string' || !declared.includes(action)) {
    const known = declared.join(', ') || '(no actions declared)'
    yaml.fail(spec, 'runtime_action', `${JSON.stringify(action)} is not an action of this project; expected <package>/<action>, one of: ${known}`)
  }
  return { name, description, eventCodes, action, declaredIn }
}

/** `events_of_interest[].event_codes` flattened, first occurrence kept (one code, one delivery). */
function registrationCodes(yaml: ManifestFiles, spec: Mapping): string[] {
  const interests = spec.events_of_interest
  if (!Array.isArray(interests) || interests.length === 0) {
    return yaml.fail(spec, 'events_of_interest', 'expected a list of { provider_metadata, event_codes: [...] }')
  }
  const codes: string[] = []
  interests.forEach((_entry, index) => {
    const list = yaml.mapping(interests, index).event_codes
    if (!Array.isArray(list) || list.length === 0 || list.some((code) => typeof code !== 'string' || code === '')) {
      yaml.fail(interests[index] as Mapping, 'event_codes', 'expected a non-empty list of event codes, such as com.adobe.commerce.observer.sales_order_save_after')
    }
    for (const code of list as string[]) if (!codes.includes(code)) codes.push(code)
  })
  return codes
}

/** aio's name for the `__APP_PACKAGE__` placeholder: `<package.json name without scope>-<version>`. */
function appPackageName(root: string): string {
  const file = join(root, 'package.json')
  const json = existsSync(file) ? (readJson(file, 'package.json') as { name?: unknown; version?: unknown }) : {}
  const name = typeof json?.name === 'string' && json.name ? (json.name.split('/').pop() as string) : 'unnamed-app'
  return `${name}-${typeof json?.version === 'string' && json.version ? json.version : '0.1.0'}`
}

function readJson(file: string, shown: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new ConfigError(`${shown}: not valid JSON (${(error as Error).message})`, { cause: error })
  }
}

