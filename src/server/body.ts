/**
 * @module
 * Reads a request body as raw bytes under a size limit. Hand-written because hono's `bodyLimit`
 * trusts Content-Length when it is present; this counts the bytes actually received and stops
 * reading the moment the limit is passed.
 */
import { HttpError } from '../core/errors.ts'

/**
 * @throws HttpError 413 when the declared or received body exceeds `limit` bytes.
 * @example
 * const body = await readRawBody(c.req.raw, 1024 * 1024)
 */
export async function readRawBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit)
  if (!request.body) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let received = 0
  const reader = request.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    received += value.byteLength
    if (received > limit) {
      await reader.cancel().catch(() => {})
      throw tooLarge(limit)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, received)
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, `the request body exceeds the limit of ${limit} bytes`)
}
