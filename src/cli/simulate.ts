/**
 * @module
 * `storehook simulate <platform>`: runs one of the testkit's simulators as a standalone server, so
 * a project can be tried locally without any platform account. Stops on SIGTERM/SIGINT.
 */
import type { Command } from 'commander'
import { parsePort } from './options.ts'
import { startErpSimulator } from '../testkit/erp-simulator.ts'
import { startIoEventsSimulator } from '../testkit/io-events-simulator.ts'

export function registerSimulateCommand(program: Command): void {
  const simulate = program.command('simulate').description('run a platform simulator on 127.0.0.1 (see storehook/testkit)')

  simulate
    .command('erp')
    .description('an ERP that records every request (with its Idempotency-Key) and answers 200')
    .option('--port <n>', 'port to listen on', parsePort, 4000)
    .action(async (options: { port: number }) => {
      const erp = await startErpSimulator({
        port: options.port,
        onDelivery: ({ method, path, status, idempotencyKey, body }) =>
          console.log(`${method} ${path} Idempotency-Key: ${idempotencyKey ?? '-'} -> ${status}\n  ${body}`),
      })
      console.log(`ERP simulator listening on ${erp.url}`)
      stopOnSignal(() => erp.close())
    })

  simulate
    .command('io-events')
    .description("Adobe I/O Events' public-key server: point an adobe-io-events source's publicKeyBaseUrl at it")
    .option('--port <n>', 'port to listen on', parsePort, 4100)
    .option('--client-id <id>', 'the client id deliveries are addressed to')
    .action(async (options: { port: number; clientId?: string }) => {
      const io = await startIoEventsSimulator({ port: options.port, ...(options.clientId ? { clientId: options.clientId } : {}) })
      console.log(`I/O Events simulator listening on ${io.publicKeyBaseUrl}`)
      console.log(`  publicKeyBaseUrl: '${io.publicKeyBaseUrl}', clientId: '${io.clientId}'`)
      stopOnSignal(() => io.close())
    })
}

function stopOnSignal(close: () => Promise<void>): void {
  const stop = () => void close().then(() => process.exit(0))
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}
