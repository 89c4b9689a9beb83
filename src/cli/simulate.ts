/**
 * @module
 * `storehook simulate <platform>`: runs one of the testkit's simulators as a standalone server, so
 * a project can be tried locally without any platform account. Stops on SIGTERM/SIGINT.
 */
import { InvalidArgumentError, type Command } from 'commander'
import { examplesText, parsePort, withExamples } from './options.ts'
import { ConfigError } from '../core/errors.ts'
import { EXTERNAL_KINDS, PAYMENT_ACTIONS, startCommerceLayerSimulator, type ExternalKind, type PaymentAction } from '../testkit/commerce-layer-simulator.ts'
import { startCommerceSimulator } from '../testkit/commerce-simulator.ts'
import { startErpSimulator } from '../testkit/erp-simulator.ts'
import { startIoEventsSimulator } from '../testkit/io-events-simulator.ts'

export function registerSimulateCommand(program: Command): void {
  const simulate = withExamples(program.command('simulate').description('run a platform simulator on 127.0.0.1 (see storehook/testkit)'), [
    'storehook simulate erp',
    'storehook dev --simulators                           # all of them, wired to your project',
  ])

  simulate
    .command('erp')
    .description('an ERP that records every request (with its Idempotency-Key) and answers 200')
    .option('--port <n>', 'port to listen on', parsePort, 4000)
    .addHelpText('after', examplesText(['storehook simulate erp                               # then ERP_URL=http://127.0.0.1:4000', 'storehook simulate erp --port 4500']))
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
    .addHelpText('after', examplesText(['storehook simulate io-events --client-id my-client   # IO_CLIENT_ID=my-client, IO_EVENTS_PUBLIC_KEY_BASE_URL=http://127.0.0.1:4100']))
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
    .addHelpText('after', examplesText(['storehook simulate commerce --orders 1,2,42          # prints COMMERCE_BASE_URL and the four OAuth 1.0a credentials']))
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

  simulate
    .command('commerce-layer')
    .description('a Commerce Layer organization: calls external resources and webhooks as Commerce Layer does; serves /oauth/token and /api/*')
    .option('--port <n>', 'port to listen on', parsePort, 4300)
    .option('--external <kind=url>', 'point an external resource at a URL; kinds: order-validation, price, shipping, promotion, tax, payment, payment.<action>; repeatable', collectExternal, [])
    .option('--webhook <topic=url>', 'add a webhook, e.g. orders.place=http://127.0.0.1:3000/events/cl; repeatable', collectWebhook, [])
    .option('--shared-secret <secret>', 'the shared secret of every external resource and webhook (default $CL_SHARED_SECRET, else a random one each)')
    .option('--timeout-ms <n>', "external resources' timeout", parsePositive, 3000)
    .option('--mode <mode>', 'test or live: meta.mode and which rate limits apply', 'test')
    .addHelpText(
      'after',
      examplesText([
        'storehook simulate commerce-layer --external price=http://127.0.0.1:3000/external/price',
        'storehook simulate commerce-layer --webhook orders.place=http://127.0.0.1:3000/events/cl --shared-secret s3cr3t',
      ]),
    )
    .action(async (options: { port: number; external: [string, string][]; webhook: [string, string][]; sharedSecret?: string; timeoutMs: number; mode: string }) => {
      if (options.mode !== 'test' && options.mode !== 'live') throw new ConfigError(`--mode ${options.mode}: expected test or live`)
      const sharedSecret = options.sharedSecret ?? process.env.CL_SHARED_SECRET
      const cl = await startCommerceLayerSimulator({
        port: options.port,
        mode: options.mode,
        externalTimeoutMs: options.timeoutMs,
        ...(sharedSecret ? { sharedSecret } : {}),
        onExternalCall: (call) =>
          console.log(
            `${call.kind}${call.action ? ` ${call.action}` : ''} ${call.data.type}/${call.data.id} -> ${call.skipped ? 'skipped' : (call.response?.status ?? call.failure)}` +
              `${call.failure ? ` (${call.failure}: ${call.message})` : ''}; API answers ${call.api.status}; circuit ${call.circuit.state}, ${call.circuit.failureCount} failures`,
          ),
        onEventCallback: (callback) => console.log(`webhook ${callback.topic} -> ${callback.response_code ?? callback.response_message} (try ${callback.retry + 1})`),
      })
      stopOnSignal(() => cl.close())
      const secrets: string[] = []
      for (const [target, url] of options.external) {
        const [kind, action] = target.split('.') as [ExternalKind, PaymentAction | undefined]
        secrets.push(`${target}: ${cl.configure(kind, action ? { urls: { [action]: url } } : { url }).sharedSecret}`)
      }
      for (const [topic, callbackUrl] of options.webhook) secrets.push(`${topic}: ${cl.createWebhook({ topic, callbackUrl }).sharedSecret}`)
      console.log(`Commerce Layer simulator listening on ${cl.url}`)
      console.log(`CL_BASE_URL=${cl.url}\nCL_TOKEN_URL=${cl.tokenUrl}`)
      console.log(`CL_CLIENT_ID=${cl.credentials.clientId}\nCL_CLIENT_SECRET=${cl.credentials.clientSecret}`)
      if (sharedSecret) console.log(`CL_SHARED_SECRET=${sharedSecret}`)
      else for (const line of secrets) console.log(`  shared secret of ${line}`)
      console.log(`Make a call:    curl -X POST '${cl.url}/_simulator/calls/<kind>[?action=capture]'`)
      console.log(`Fire a webhook: curl -X POST '${cl.url}/_simulator/webhooks/<topic>[?type=orders&id=…]'`)
    })
}

/** `--external price=http://…`, repeatable; `payment.capture=…` for one payment action. */
function collectExternal(value: string, previous: [string, string][]): [string, string][] {
  const [target, url] = splitPair(value, 'price=http://127.0.0.1:3000/external/price')
  const [kind, action, ...rest] = target.split('.')
  const known = EXTERNAL_KINDS.includes(kind as ExternalKind) && rest.length === 0 && (action === undefined || (kind === 'payment' && PAYMENT_ACTIONS.includes(action as PaymentAction)))
  if (!known) throw new InvalidArgumentError(`kinds are ${EXTERNAL_KINDS.join(', ')}, and payment.<${PAYMENT_ACTIONS.join('|')}>`)
  return [...previous, [target, url]]
}

/** `--webhook orders.place=http://…`, repeatable. */
function collectWebhook(value: string, previous: [string, string][]): [string, string][] {
  const [topic, url] = splitPair(value, 'orders.place=http://127.0.0.1:3000/events/cl')
  if (!/^[a-z_]+\.[a-z_]+$/.test(topic)) throw new InvalidArgumentError('a topic is <resource>.<event>, e.g. orders.place')
  return [...previous, [topic, url]]
}

function splitPair(value: string, example: string): [string, string] {
  const match = /^([^=]+)=(https?:\/\/\S+)$/.exec(value)
  if (!match) throw new InvalidArgumentError(`expected <name>=<http(s) URL>, e.g. ${example}`)
  return [match[1] as string, match[2] as string]
}

function parsePositive(value: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('expected a positive integer')
  return number
}

/** Registered before anything is printed: a caller may signal as soon as it reads a line. */
function stopOnSignal(close: () => Promise<void>): void {
  const stop = () => void close().then(() => process.exit(0))
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}
