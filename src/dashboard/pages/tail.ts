/**
 * @module
 * `GET /admin/tail`: server-sent events of the events arriving, filtered like the events page. The
 * store is polled every {@link TAIL_POLL_MS} for events newer than the last one sent (the runtime
 * has no event emitter to hook, and polling also sees events ingested by other processes on
 * PostgreSQL). Each message is an `event: row` with the table row rendered and escaped here, and
 * `id:` its seq, so a reconnecting EventSource resumes after it (`Last-Event-ID`).
 *
 * A stream ends after {@link TAIL_MAX_MS} (the browser reconnects) and as soon as the server stops
 * listening, so an open dashboard tab never holds up a shutdown.
 */
import type { Server } from 'node:http'
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import { HttpError } from '../../core/errors.ts'
import { securityHeaders, type PageRequest } from '../access.ts'
import { eventFilter } from '../filters.ts'
import { eventRow } from './events.ts'

export const TAIL_POLL_MS = 500
export const TAIL_MAX_MS = 5 * 60 * 1000
/** Events read per poll; when more arrived, the tail says how many it left out. */
const BATCH = 100

export async function tail({ c, dash }: PageRequest): Promise<Response> {
  const { filter } = eventFilter({ ...c.req.query(), before: '' })
  const { store } = dash.runtime
  const resumeFrom = c.req.header('last-event-id') ?? c.req.query('after')
  if (resumeFrom !== undefined && !/^\d+$/.test(resumeFrom)) throw new HttpError(400, 'after: expected the seq of the last event shown')
  let last = resumeFrom !== undefined ? Number(resumeFrom) : ((await store.listEvents({ limit: 1 }))[0]?.seq ?? 0)
  const endAt = Date.now() + TAIL_MAX_MS
  for (const [name, value] of Object.entries(securityHeaders())) if (name !== 'cache-control') c.header(name, value)
  return streamSSE(c, async (stream) => {
    await stream.writeSSE({ event: 'ready', data: String(last), retry: 2000 })
    while (!stream.aborted && !stream.closed && Date.now() < endAt && listening(c)) {
      const fresh = (await store.listEvents({ ...filter, limit: BATCH })).filter((event) => event.seq > last)
      if (fresh.length === BATCH) {
        const skipped = fresh.at(-1)!.seq - last - 1
        if (skipped > 0) await stream.writeSSE({ event: 'gap', data: `${skipped} or fewer events not shown` })
      }
      for (const event of fresh.reverse()) {
        await stream.writeSSE({ event: 'row', id: String(event.seq), data: dash.scrub(String(await eventRow(event, true))) })
        last = event.seq
      }
      await stream.sleep(TAIL_POLL_MS)
    }
  })
}

/** False once the HTTP server stopped listening (shutting down); true when that cannot be told. */
function listening(c: Context): boolean {
  const server = (c.env as { incoming?: { socket?: { server?: Server } } } | undefined)?.incoming?.socket?.server
  return server?.listening ?? true
}
