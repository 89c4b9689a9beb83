/**
 * @module
 * `storehook start`: run the runtime for a project until SIGTERM or SIGINT.
 */
import { Option, type Command } from 'commander'
import { parsePort, storeOptions, withExamples } from './options.ts'
import { ConfigError } from '../core/errors.ts'
import { createLogger } from '../runtime/logger.ts'

export function registerStartCommand(program: Command): void {
  const start = storeOptions(program.command('start').description('start the runtime for a project: HTTP server, worker and store'))
    .option('--port <n>', 'port to listen on, 0 picks a free one (default: $PORT or 3000)', parsePort)
    .option('--host <host>', 'interface to listen on', process.env.STOREHOOK_HOST ?? '127.0.0.1')
    // For `storehook dev`, which runs each version of the project as a child over an IPC channel:
    // a child whose parent is gone (killed, crashed) stops as on SIGTERM instead of living on.
    .addOption(new Option('--exit-with-parent').hideHelp())
  withExamples(start, [
    'storehook start                                      # the project in ., on 127.0.0.1:3000',
    'storehook start --project examples/order-to-erp --port 8080',
    'STOREHOOK_ADMIN_TOKEN=… storehook start --host 0.0.0.0 --db postgres://storehook@db/shop',
  ])
  start.action(async (options: { project: string; port?: number; host: string; db?: string; exitWithParent?: boolean }) => {
    const port = options.port ?? portFromEnv()
    // Loaded here, not at the top: `storehook runs …` needs none of the server and starts twice as fast.
    const { startStorehook } = await import('../server/start.ts')
    const logger = createLogger()
    // User code that forgets to await (the seed's `sendOrderToErpSystem(…)`) must not take
    // every other run down with it.
    process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection (a promise in action code was not awaited?)'))
    const storehook = await startStorehook({
      project: options.project,
      port,
      host: options.host,
      ...(options.db ? { db: options.db } : {}),
      ...(process.env.STOREHOOK_ADMIN_TOKEN ? { adminToken: process.env.STOREHOOK_ADMIN_TOKEN } : {}),
      logger,
    }).catch((error: unknown) => {
      throw listenProblem(error, options.host, port)
    })
    const { project } = storehook.runtime
    console.log(`storehook listening on ${storehook.url}`)
    console.log(`  project ${project.dir}: ${project.sources.size} source(s), ${project.actions.length} action(s)`)
    console.log(`  dashboard ${storehook.url}/admin`)
    for (const name of project.sources.keys()) console.log(`  POST ${storehook.url}/events/${name}`)
    for (const resource of project.external) console.log(`  POST ${storehook.url}/external/${resource.name}`)
    for (const action of project.appBuilder?.manifest.actions ?? []) {
      if (action.web) console.log(`  web action ${action.fullName}: ${storehook.url}/api/v1/web/${action.fullName}`)
    }
    let stopping = false
    const stop = async (signal: string) => {
      if (stopping) return
      stopping = true
      logger.info({ signal }, 'stopping: finishing or releasing in-flight runs')
      await storehook.close()
      logger.info('stopped')
      process.exit(0)
    }
    process.on('SIGTERM', () => void stop('SIGTERM'))
    process.on('SIGINT', () => void stop('SIGINT'))
    if (options.exitWithParent) {
      // The parent may have gone while the project was loading.
      if (process.connected) process.once('disconnect', () => void stop('parent exited'))
      else void stop('parent exited')
    }
  })
}

/** `$PORT`, checked as `--port` is (commander does not run a default through the parser). */
export function portFromEnv(): number {
  const value = process.env.PORT
  if (value === undefined || value === '') return 3000
  try {
    return parsePort(value)
  } catch {
    throw new ConfigError(`PORT=${value}: expected a port number, 0–65535`)
  }
}

/** A user's mistake in --port or --host, as a message rather than a stack trace. */
export function listenProblem(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code
  const where = `${host}:${port}`
  if (code === 'EADDRINUSE') return new ConfigError(`--port ${port}: ${where} is already in use; stop what listens there or pick another port (0 picks a free one)`)
  if (code === 'EACCES') return new ConfigError(`--port ${port}: not allowed to listen on ${where} (ports below 1024 need privileges)`)
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new ConfigError(`--host ${host}: not an address of this machine`)
  return error
}
