/**
 * @module
 * The request handling `bench/baseline-server.ts` and `bench/floor-server.ts` share, so that the
 * two do exactly the same work before the floor stores anything: read the raw body under a 1 MiB
 * limit, verify the Standard Webhooks signature with storehook's own `verifyStandardWebhook` (same
 * check, same cost), `JSON.parse` it, and answer with the JSON shape storehook answers.
 *
 * A minimal `Headers` look-alike stands in for WHATWG `Headers`, whose construction neither server
 * should pay. The secret comes from BENCH_SECRET (whsec_…), decoded once as storehook's source does.
 */
import { createSecretKey } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { verifyStandardWebhook } from '../src/sources/standard-webhooks/index.ts'
import { readBody } from './lib.ts'

const LIMIT = 1024 * 1024

/** A verified, parsed event, and how to answer its request once it is handled. */
export interface VerifiedEvent {
  id: string
  type: string
  payload: unknown
  request: IncomingMessage
  /** Answers 200 as storehook does, with `runs: 1` unless the event was a duplicate. */
  answer(duplicate: boolean): void
}

/**
 * A server for `POST /events/bench` that hands each verified event to `handle`; it listens on a
 * free port on 127.0.0.1 and prints `{"url": …, …extra}` on stdout, and stops on SIGTERM.
 */
export function serveVerifiedEvents(handle: (event: VerifiedEvent) => void, extra: Record<string, string> = {}): Server {
  const secret = process.env.BENCH_SECRET
  if (!secret) throw new Error('BENCH_SECRET is required')
  const keys = [createSecretKey(Buffer.from(secret.slice('whsec_'.length), 'base64'))]
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body)
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
    }
    if (req.method !== 'POST' || req.url !== '/events/bench') return reply(404, { error: 'no route' })
    readBody(req, LIMIT, (body) => {
      if (body === null) return reply(413, { error: 'too large' })
      const headers = { get: (name: string) => req.headers[name] as string | undefined } as unknown as Headers
      let id: string
      try {
        id = verifyStandardWebhook({ headers, body, secrets: keys, now: Date.now() }).id
      } catch (error) {
        return reply(401, { error: (error as Error).message })
      }
      let payload: { type?: unknown }
      try {
        payload = JSON.parse(body.toString('utf8')) as { type?: unknown }
      } catch {
        return reply(400, { error: 'body is not valid JSON' })
      }
      const type = String(payload.type)
      handle({
        id,
        type,
        payload,
        request: req,
        answer: (duplicate) => reply(200, { received: 1, events: [{ id, type, duplicate, runs: duplicate ? 0 : 1 }] }),
      })
    })
  })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('unexpected server address')
    console.log(JSON.stringify({ url: `http://127.0.0.1:${address.port}`, ...extra }))
  })
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
  return server
}
