/**
 * @module
 * What `storehook send <name>` sends to, read from the project the way `storehook start` reads it
 * (`.env`, then the environment, then `storehook.config.*`, `external/` and `app.config.yaml`): a
 * source (`POST /events/<name>`) or an external resource (`POST /external/<name>`), with what
 * signing a request for it needs — the configured secret, or for Adobe I/O Events the client id
 * and the key server the source trusts. Secrets stay in this process: they sign, and are never
 * printed.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../../core/errors.ts'
import { sharedSecrets } from '../../sources/commerce-layer/signature.ts'
import { sourceKinds } from '../../sources/index.ts'
import { DEFAULT_IO_EVENTS_PUBLIC_KEY_BASE_URL } from '../../runtime/app-builder/project.ts'
import { IO_EVENTS_SOURCE } from '../../runtime/app-builder/event-actions.ts'
import { isEnvRef, type ProjectConfig } from '../../runtime/config.ts'
import { loadProject, type Project } from '../../runtime/project.ts'

/** The platforms `send` can sign for: the source kinds, and Commerce Layer's external resources. */
export type Platform = 'adobe-io-events' | 'commerce-layer' | 'standard-webhooks'

export type Target =
  | {
      call: 'event'
      platform: 'adobe-io-events'
      name: string
      clientId: string
      publicKeyBaseUrl: string
      /** Only with `legacySignature`: also send `x-adobe-signature`. */
      legacySecret?: string
    }
  | { call: 'event'; platform: 'standard-webhooks'; name: string; secret: string; typeField: string }
  | { call: 'event'; platform: 'commerce-layer'; name: string; secret: string; eventIdMode: 'resource' | 'body' }
  | { call: 'external'; platform: 'commerce-layer'; name: string; secret: string; kind: string }

/** One thing of the project `send` can address, for `--list` and for error messages. */
export interface TargetSummary {
  /** What to type: the source's or the resource's name. */
  name: string
  call: 'event' | 'external'
  /** The source's kind (`adobe-io-events`, …) or the resource's (`commerce-layer/price`, …). */
  kind: string
  path: string
}

/** The loaded project and what in it `send` can address. */
export interface ProjectTargets {
  project: Project
  targets: TargetSummary[]
}

/**
 * Loads the project in `dir` (as `storehook start` would, so a broken project fails here with
 * the same message) and lists its sources and external resources.
 *
 * @example
 * const { targets } = await projectTargets('examples/order-to-erp')
 * targets // [{ name: 'commerce', call: 'event', kind: 'adobe-io-events', path: '/events/commerce' }]
 */
export async function projectTargets(dir: string): Promise<ProjectTargets> {
  const project = await loadProject(dir)
  const targets: TargetSummary[] = [
    ...[...project.sources.values()].map((s) => ({ name: s.name, call: 'event' as const, kind: s.kind, path: `/events/${s.name}` })),
    ...project.external.map((r) => ({ name: r.name, call: 'external' as const, kind: r.kindName, path: `/external/${r.name}` })),
  ]
  return { project, targets }
}

/**
 * Finds `name` among the project's sources, then its external resources (`external/<name>` or
 * `events/<name>` picks one when both exist), and reads what signing for it takes.
 *
 * @throws ConfigError when there is no such target, or storehook cannot sign for it
 * @example
 * const target = await resolveTarget(await projectTargets('.'), 'commerce')
 * target.platform // 'adobe-io-events'
 */
export async function resolveTarget({ project, targets }: ProjectTargets, name: string): Promise<Target> {
  const forced = /^(events|external)\/(.+)$/.exec(name)
  const wanted = forced ? forced[2]! : name
  const matches = targets.filter((t) => t.name === wanted && (!forced || t.call === (forced[1] === 'events' ? 'event' : 'external')))
  if (matches.length === 0) {
    const known = targets.map((t) => `${t.name} (${t.path})`).join(', ') || 'none'
    throw new ConfigError(`send: the project in ${project.dir} has no source or external resource named "${wanted}"; it has: ${known}`)
  }
  if (matches.length > 1) {
    throw new ConfigError(`send: "${wanted}" is both a source and an external resource; write events/${wanted} or external/${wanted}`)
  }
  const match = matches[0]!
  return match.call === 'event' ? sourceTarget(project, match.name) : externalTarget(project, match.name)
}

async function sourceTarget(project: Project, name: string): Promise<Target> {
  const source = project.sources.get(name)!
  // An App Builder project's own source is configured from the environment, as App Builder does.
  const raw = await rawSourceConfig(project, name)
  if (!raw && name === IO_EVENTS_SOURCE && project.appBuilder) {
    const clientId = process.env.IO_CLIENT_ID || process.env.SERVICE_API_KEY
    if (!clientId) throw new ConfigError('send: the io-events source needs IO_CLIENT_ID (or SERVICE_API_KEY), as storehook start does')
    return { call: 'event', platform: 'adobe-io-events', name, clientId, publicKeyBaseUrl: process.env.IO_EVENTS_PUBLIC_KEY_BASE_URL || DEFAULT_IO_EVENTS_PUBLIC_KEY_BASE_URL }
  }
  const kind = sourceKinds[source.kind]
  if (!raw || !kind) throw new ConfigError(`send: cannot read the configuration of source "${name}" (${source.kind})`)
  const { kind: _, ...options } = raw
  // Validated already by loadProject; parsed again here for the defaults (typeField, publicKeyBaseUrl…).
  const config = kind.configSchema.parse(resolveEnv(options)) as Record<string, any>
  switch (source.kind) {
    case 'adobe-io-events':
      return {
        call: 'event',
        platform: 'adobe-io-events',
        name,
        clientId: config.clientId,
        publicKeyBaseUrl: config.publicKeyBaseUrl,
        ...(config.legacySignature ? { legacySecret: config.clientSecret } : {}),
      }
    case 'standard-webhooks':
      return { call: 'event', platform: 'standard-webhooks', name, secret: config.secrets[0], typeField: config.typeField }
    case 'commerce-layer':
      return { call: 'event', platform: 'commerce-layer', name, secret: config.secrets[0], eventIdMode: config.eventId }
    default:
      throw new ConfigError(`send: storehook send cannot sign for sources of kind "${source.kind}"`)
  }
}

async function externalTarget(project: Project, name: string): Promise<Target> {
  const resource = project.external.find((r) => r.name === name)!
  if (resource.kind.platform !== 'commerce-layer') {
    throw new ConfigError(
      `send: external resource "${name}" is ${resource.kindName}; storehook send signs Commerce Layer calls only ` +
        '(an Adobe Commerce webhook is signed with the private key of your Admin; test it with createCommerceWebhooksSimulator from storehook/testkit)',
    )
  }
  // The same module loadProject imported: its options, env() references unresolved.
  const definition = (await import(pathToFileURL(join(project.dir, resource.file)).href)).default as { options?: { secrets?: unknown } }
  const secrets = sharedSecrets.safeParse(resolveEnv(definition.options?.secrets))
  if (!secrets.success) throw new ConfigError(`send: ${resource.file}: secrets: expected the resource's shared secret(s)`)
  return { call: 'external', platform: 'commerce-layer', name, secret: secrets.data[0]!, kind: resource.kind.kind }
}

async function rawSourceConfig(project: Project, name: string): Promise<Record<string, unknown> | undefined> {
  if (!/\.(ts|mjs|js)$/.test(project.configFile)) return undefined // app.config.yaml alone
  const config = (await import(pathToFileURL(project.configFile).href)).default as ProjectConfig
  return config.sources?.[name] as Record<string, unknown> | undefined
}

/** `env()` references replaced by their values, as the project loader does (it has checked they are set). */
function resolveEnv(value: unknown): unknown {
  if (isEnvRef(value)) return process.env[value.name] ?? value.fallback
  if (Array.isArray(value)) return value.map(resolveEnv)
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveEnv(v)]))
  }
  return value
}
