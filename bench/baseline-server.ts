/**
 * @module
 * The baseline for `bench/ingest.ts`: a bare `node:http` server doing what storehook does before
 * it stores anything (read the raw body under a 1 MiB limit, verify the Standard Webhooks
 * signature in constant time, JSON.parse, read the type) and answering 200 with the same JSON
 * shape storehook answers, but storing nothing. It is the ceiling storehook is compared with.
 *
 * It calls storehook's own `verifyStandardWebhook` (the exact same check and cost), giving it a
 * minimal `Headers` look-alike so the baseline pays no WHATWG `Headers` construction.
 *
 * Env: BENCH_SECRET (whsec_…). Prints `{"url": "http://127.0.0.1:PORT"}` on stdout when listening.
 */
import { createServer } from 'node:http'
import { createSecretKey } from 'node:crypto'
import { verifyStandardWebhook } from '../src/sources/standard-webhooks/index.ts'

const secret = process.env.BENCH_SECRET
if (!secret) throw new Error('BENCH_SECRET is required')
// Decoded once, as storehook's source does.
const keys = [createSecretKey(Buffer.from(secret.slice('whsec_'.length), 'base64'))]
const LIMIT = 1024 * 1024

const server = createServer((req, res) => {
  const reply = (status: number, body: unknown) => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
  }
  if (req.method !== 'POST' || req.url !== '/events/bench') return reply(404, { error: 'no route' })
  const chunks: Buffer[] = []
  let received = 0
  req.on('data', (chunk: Buffer) => {
    received += chunk.length
    if (received <= LIMIT) chunks.push(chunk)
  })
  req.on('end', () => {
    if (received > LIMIT) return reply(413, { error: 'too large' })
    const body = Buffer.concat(chunks, received)
    const headers = { get: (name: string) => req.headers[name] as string | undefined } as unknown as Headers
    let id: string
    try {
      id = verifyStandardWebhook({ headers, body, secrets: keys, now: Date.now() }).id
    } catch (error) {
      return reply(401, { error: (error as Error).message })
    }
    let type: unknown
    try {
      type = (JSON.parse(body.toString('utf8')) as { type?: unknown }).type
    } catch {
      return reply(400, { error: 'body is not valid JSON' })
    }
    reply(200, { received: 1, events: [{ id, type, duplicate: false, runs: 1 }] })
  })
})

server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('unexpected server address')
  console.log(JSON.stringify({ url: `http://127.0.0.1:${address.port}` }))
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
