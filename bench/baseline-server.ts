/**
 * @module
 * The baseline for `bench/ingest.ts`: a bare `node:http` server doing what storehook does before
 * it stores anything (read the raw body under a 1 MiB limit, verify the Standard Webhooks
 * signature in constant time, JSON.parse, read the type; `bench/webhook-server.ts`) and answering
 * 200 with the same JSON shape storehook answers, but storing nothing. It is the ceiling storehook
 * is compared with.
 *
 * Env: BENCH_SECRET (whsec_…). Prints `{"url": "http://127.0.0.1:PORT"}` on stdout when listening.
 */
import { serveVerifiedEvents } from './webhook-server.ts'

serveVerifiedEvents((event) => event.answer(false))
