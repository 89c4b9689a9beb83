/**
 * @module
 * `storehook start`: run the runtime for a project until SIGTERM or SIGINT.
 */
import { InvalidArgumentError, type Command } from 'commander'
import { createLogger } from '../runtime/logger.ts'
import { startStorehook } from '../server/start.ts'

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('start the runtime for a project: HTTP server, worker and store')
    .option('--project <dir>', 'project directory', '.')
    .option('--port <n>', 'port to listen on (0 picks a free one)', parsePort, Number(process.env.PORT ?? 3000))
    .option('--host <host>', 'interface to listen on', process.env.STOREHOOK_HOST ?? '127.0.0.1')
    .option('--db <url>', 'sqlite:PATH or postgres://… (default: sqlite:<project>/.storehook/storehook.db)', process.env.STOREHOOK_DB)
    .action(async (options: { project: string; port: number; host: string; db?: string }) => {
      const logger = createLogger()
      // User code that forgets to await (the seed's `sendOrderToErpSystem(…)`) must not take
      // every other run down with it.
      process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection (a promise in action code was not awaited?)'))
      const storehook = await startStorehook({
        project: options.project,
        port: options.port,
        host: options.host,
        ...(options.db ? { db: options.db } : {}),
        ...(process.env.STOREHOOK_ADMIN_TOKEN ? { adminToken: process.env.STOREHOOK_ADMIN_TOKEN } : {}),
        logger,
      })
      const { project } = storehook.runtime
      console.log(`storehook listening on ${storehook.url}`)
      console.log(`  project ${project.dir}: ${project.sources.size} source(s), ${project.actions.length} action(s)`)
      for (const name of project.sources.keys()) console.log(`  POST ${storehook.url}/events/${name}`)
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
    })
}

function parsePort(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('expected a port number, 0–65535')
  return port
}
