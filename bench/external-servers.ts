/**
 * @module
 * The two servers `bench/external.ts` compares, each run in its own process:
 * `node bench/external-servers.ts baseline|storehook`.
 *
 * - `baseline`: a bare `node:http` server that reads the raw body (1 MiB limit), checks
 *   `X-CommerceLayer-Signature` with storehook's own `verifyCommerceLayerSignature` (the same
 *   HMAC over the raw bytes with a KeyObject, the same constant-time compare) and answers a fixed
 *   price envelope. No parsing, no handler, no record: the ceiling.
 * - `storehook`: `startStorehook`, exactly as `storehook start` runs it, on a throwaway project
 *   with one external resource, `external/price.ts`, whose handler returns a constant: everything
 *   measured is storehook's own path (signature, JSON:API parsing and denormalizing, the deadline
 *   machinery, the schema check, the envelope, the breaker mirror, metrics, and the call recorded
 *   to SQLite off the response path).
 *
 * Env: BENCH_CL_SECRET; for storehook also BENCH_DIR (an empty directory it may fill),
 * BENCH_ISOLATION (`thread`, the default, or `inline`: where the handler runs) and BENCH_LOG_LEVEL
 * (default `warn`, to BENCH_DIR/storehook.log). Prints `{"url": …}` when listening.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { commerceLayerKey, verifyCommerceLayerSignature } from '../src/sources/commerce-layer/signature.ts'
import { readBody } from './lib.ts'

const role = process.argv[2]
const secret = process.env.BENCH_CL_SECRET
if (!secret) throw new Error('BENCH_CL_SECRET is required')

if (role === 'baseline') {
  const secrets = [commerceLayerKey(secret)]
  const LIMIT = 1024 * 1024
  const answer = JSON.stringify({ success: true, data: { sku_code: 'TSHIRTMM000000FFFFFFXLXX', unit_amount_cents: 2900 } })
  const server = createServer((req, res) => {
    const reply = (status: number, text: string) =>
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text)
    if (req.method !== 'POST' || req.url !== '/external/price') return reply(404, '{"success":false}')
    readBody(req, LIMIT, (body) => {
      if (body === null) return reply(413, '{"success":false}')
      // A minimal Headers look-alike: the baseline pays no WHATWG Headers construction.
      const headers = { get: (name: string) => req.headers[name] as string | undefined } as unknown as Headers
      try {
        verifyCommerceLayerSignature({ headers, body, secrets })
      } catch {
        return reply(401, '{"success":false,"error":{"code":"INVALID_SIGNATURE","message":"bad signature"}}')
      }
      reply(200, answer)
    })
  })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('unexpected server address')
    console.log(JSON.stringify({ url: `http://127.0.0.1:${address.port}` }))
  })
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
} else if (role === 'storehook') {
  const dir = process.env.BENCH_DIR
  if (!dir) throw new Error('BENCH_DIR is required')
  const { pino } = await import('pino')
  const { createLogger } = await import('../src/runtime/logger.ts')
  const { startStorehook } = await import('../src/server/start.ts')
  const isolation = process.env.BENCH_ISOLATION ?? 'thread'
  if (isolation !== 'thread' && isolation !== 'inline') throw new Error(`BENCH_ISOLATION: expected thread or inline, got ${isolation}`)
  const project = join(dir, 'project')
  mkdirSync(join(project, 'external'), { recursive: true })
  writeFileSync(join(project, 'storehook.config.ts'), `import { defineConfig } from 'storehook'\nexport default defineConfig({ external: { isolation: '${isolation}' } })\n`)
  // The default deadline (2700 ms) and no fallback: a trivial handler never needs one.
  writeFileSync(
    join(project, 'external', 'price.ts'),
    `import { commerceLayer, env } from 'storehook'
export default commerceLayer.price(() => ({ unit_amount_cents: 2900 }), { secrets: env('BENCH_CL_SECRET') })
`,
  )
  const destination = pino.destination({ dest: join(dir, 'storehook.log'), sync: true })
  const logger = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'warn', destination })
  const db = `sqlite:${join(dir, 'storehook.db')}`
  const storehook = await startStorehook({ project, db, port: 0, logger })
  console.log(JSON.stringify({ url: storehook.url, db }))
  process.on('SIGTERM', () => {
    void storehook.close().then(() => process.exit(0))
  })
} else {
  throw new Error(`usage: node bench/external-servers.ts baseline|storehook (got ${role ?? 'nothing'})`)
}
