/**
 * @module
 * Expunge in the admin API, behind its bearer token (docs/retention.md):
 *
 * - `POST /admin/api/expunge` with `{"customerEmail": "…"}` or `{"orderId": "…"}` (exactly one),
 *   and `"dryRun": true` to see what would go without changing anything. Answers 201 with the
 *   audit record written (200 and `id: null` for a dry run).
 * - `GET /admin/api/expunges[?digest=…&before=…&limit=…]`: the audit records, newest first;
 *   `digest` is the subject's hex SHA-256 (the lower-cased email, the order id as given).
 *
 * The subject travels in the body only, never in a URL (which proxies and access logs keep), and
 * is never logged or answered back: the log line and the answer carry its digest.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { HttpError, MalformedRequestError } from '../core/errors.ts'
import { parseJsonBody } from '../core/json.ts'
import type { Runtime } from '../runtime/runtime.ts'
import type { ExpungeRecord } from '../store/expunge-plan.ts'
import { expunge } from '../store/expunge-run.ts'
import { normalizeSubject, type ExpungeSubject } from '../store/expunge-subject.ts'
import { readRawBody } from './body.ts'

/** Far more than `{"customerEmail": …, "dryRun": true}` needs. */
const BODY_LIMIT_BYTES = 4096

const requestSchema = z
  .object({
    customerEmail: z.string().optional(),
    orderId: z.union([z.string(), z.number().int().nonnegative()]).optional(),
    dryRun: z.boolean().optional(),
  })
  .strict()

export function adminExpunge(runtime: Runtime): Hono {
  const api = new Hono()

  api.post('/expunge', async (c) => {
    const parsed = requestSchema.safeParse(parseJsonBody(await readRawBody(c, BODY_LIMIT_BYTES)))
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      throw new MalformedRequestError(`${issue.path.join('.') || 'body'}: ${issue.message}; expected {"customerEmail": "…"} or {"orderId": "…"}, and optionally "dryRun": true`)
    }
    const { customerEmail, orderId, dryRun = false } = parsed.data
    if ((customerEmail === undefined) === (orderId === undefined)) {
      throw new HttpError(400, 'give exactly one of customerEmail and orderId: an expunge is about one customer or one order')
    }
    let subject: ExpungeSubject
    try {
      subject = normalizeSubject(customerEmail !== undefined ? { kind: 'customer-email', value: customerEmail } : { kind: 'order-id', value: String(orderId) })
    } catch (error) {
      throw new HttpError(400, (error as Error).message)
    }
    const report = await expunge(runtime.store, subject, { requestedBy: 'admin-api', dryRun })
    runtime.logger.info(
      { expunge: report.id, dryRun, subjectKind: report.subjectKind, subjectDigest: report.subjectDigest, counts: report.removed.counts, endedRuns: report.removed.endedRuns },
      dryRun ? 'admin API: expunge dry run' : 'admin API: expunged personal data',
    )
    return c.json({ expunge: withIsoTime(report) }, dryRun ? 200 : 201)
  })

  api.get('/expunges', async (c) => {
    const { digest, before, limit } = c.req.query()
    if (digest !== undefined && !/^[0-9a-f]{64}$/.test(digest)) throw new HttpError(400, 'digest: expected the subject\'s hex SHA-256 (64 lower-case hex digits)')
    for (const [name, value] of [['before', before], ['limit', limit]] as const) {
      if (value !== undefined && !/^\d+$/.test(value)) throw new HttpError(400, `${name}: expected a non-negative integer`)
    }
    const records = await runtime.store.listExpunges({
      ...(digest ? { subjectDigest: digest } : {}),
      ...(before ? { beforeId: Number(before) } : {}),
      ...(limit ? { limit: Number(limit) } : {}),
    })
    return c.json({ expunges: records.map(withIsoTime) })
  })

  return api
}

function withIsoTime<T extends Pick<ExpungeRecord, 'at'>>(record: T): Omit<T, 'at'> & { at: string } {
  return { ...record, at: new Date(record.at).toISOString() }
}
