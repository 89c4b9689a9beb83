/**
 * @module
 * `storehook simulate <platform>`: runs one of the testkit's simulators as a standalone server, so
 * a project can be tried locally without any platform account. Stops on SIGTERM/SIGINT.
 */
import type { Command } from 'commander'
import { parsePort } from './options.ts'
import { startCommerceSimulator } from '../testkit/commerce-simulator.ts'
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
      stopOnSignal(() => erp.close())
      console.log(`ERP simulator listening on ${erp.url}`)
    })

  simulate
    .command('io-events')
    .description("Adobe I/O Events' public-key server: point an adobe-io-events source's publicKeyBaseUrl at it")
    .option('--port <n>', 'port to listen on', parsePort, 4100)
    .option('--client-id <id>', 'the client id deliveries are addressed to')
    .action(async (options: { port: number; clientId?: string }) => {
      const io = await startIoEventsSimulator({ port: options.port, ...(options.clientId ? { clientId: options.clientId } : {}) })
      stopOnSignal(() => io.close())
      console.log(`I/O Events simulator listening on ${io.publicKeyBaseUrl}`)
      console.log(`  publicKeyBaseUrl: '${io.publicKeyBaseUrl}', clientId: '${io.clientId}'`)
    })
  simulate
    .command('commerce')
    .description('an Adobe Commerce shop checking OAuth 1.0a as Magento does; prints the COMMERCE_* values to use')
    .option('--port <n>', 'port to listen on', parsePort, 4200)
    .option('--orders <ids>', 'order entity ids to seed, comma-separated', '1')
    .action(async (options: { port: number; orders: string }) => {
      const commerce = await startCommerceSimulator({ port: options.port })
      stopOnSignal(() => commerce.close())
      for (const id of options.orders.split(',').map(Number).filter(Number.isInteger)) commerce.seedOrder({ entity_id: id })
      const { consumerKey, consumerSecret, accessToken, accessTokenSecret } = commerce.credentials
      console.log(`Commerce simulator listening on ${commerce.url}`)
      console.log(`COMMERCE_BASE_URL=${commerce.url}/`)
      console.log(`COMMERCE_CONSUMER_KEY=${consumerKey}\nCOMMERCE_CONSUMER_SECRET=${consumerSecret}`)
      console.log(`COMMERCE_ACCESS_TOKEN=${accessToken}\nCOMMERCE_ACCESS_TOKEN_SECRET=${accessTokenSecret}`)
    })
}

/** Registered before anything is printed: a caller may signal as soon as it reads a line. */
function stopOnSignal(close: () => Promise<void>): void {
  const stop = () => void close().then(() => process.exit(0))
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}
