/**
 * @module
 * What an App Builder project adds to a storehook project: its manifest's actions (an
 * {@link AppBuilderApp}), and the `io-events` source its I/O Events registrations deliver to,
 * configured from the environment as App Builder configures it — so a project runs as it is,
 * with no storehook.config.ts (one may be added beside app.config.yaml for settings, sources and
 * connections of its own).
 */
import { ConfigError } from '../../core/errors.ts'
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../core/retry.ts'
import { sourceKinds } from '../../sources/index.ts'
import type { Source } from '../../sources/source.ts'
import { AppBuilderApp } from './app.ts'
import { IO_EVENTS_SOURCE } from './event-actions.ts'
import { APP_CONFIG_FILE, hasAppBuilderManifest, readAppBuilderManifest } from './manifest.ts'

export { APP_CONFIG_FILE }
/** Where I/O Events publishes its signing keys (aio-lib-events' default). */
export const DEFAULT_IO_EVENTS_PUBLIC_KEY_BASE_URL = 'https://static.adobeioevents.com'

export interface AppBuilderParts {
  app: AppBuilderApp
  /** `io-events`, when the project has registrations or `IO_CLIENT_ID` is set. */
  source: Source | null
}

/** An `app.config.yaml`, or App Builder's legacy `manifest.yml`. */
export const isAppBuilderProject = hasAppBuilderManifest

/**
 * Reads the App Builder side of the project in `dir`. `env` is the process environment with the
 * project's `.env` already applied.
 *
 * @example
 * const { app, source } = loadAppBuilderParts('examples/app-builder', process.env, DEFAULT_RETRY_POLICY)
 * app.manifest.actions.map((a) => a.fullName) // ['storehook-demo/order-consumer', …]
 */
export function loadAppBuilderParts(dir: string, env: Record<string, string | undefined>, retry: RetryPolicy = DEFAULT_RETRY_POLICY): AppBuilderParts {
  const manifest = readAppBuilderManifest(dir, env)
  const app = new AppBuilderApp(manifest, {
    retry,
    ...(env.__OW_NAMESPACE ? { namespace: env.__OW_NAMESPACE } : {}),
    ...(env.STOREHOOK_OW_API_KEY ? { apiKey: env.STOREHOOK_OW_API_KEY } : {}),
  })
  const clientId = env.IO_CLIENT_ID || env.SERVICE_API_KEY
  if (!clientId) {
    if (manifest.registrations.length > 0) {
      const names = manifest.registrations.map((r) => r.name).join(', ')
      throw new ConfigError(
        `${APP_CONFIG_FILE}: events.registrations (${names}) need the integration's client id to verify deliveries: ` +
          'set IO_CLIENT_ID (or App Builder\'s SERVICE_API_KEY) in the environment or the project\'s .env',
      )
    }
    return { app, source: null }
  }
  const kind = sourceKinds['adobe-io-events']!
  const config = kind.configSchema.safeParse({
    clientId,
    publicKeyBaseUrl: env.IO_EVENTS_PUBLIC_KEY_BASE_URL || DEFAULT_IO_EVENTS_PUBLIC_KEY_BASE_URL,
  })
  if (!config.success) {
    throw new ConfigError(`IO_EVENTS_PUBLIC_KEY_BASE_URL: ${config.error.issues.map((i) => i.message).join('; ')}`)
  }
  return { app, source: kind.create(IO_EVENTS_SOURCE, config.data) }
}
