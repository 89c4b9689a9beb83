/**
 * @module
 * Reads a request body as raw bytes under a size limit. Hand-written because hono's `bodyLimit`
 * trusts Content-Length when it is present; this counts the bytes actually received and stops
 * collecting the moment the limit is passed.
 *
 * Under `@hono/node-server` the bytes are read from Node's `IncomingMessage` itself: adapting it
 * to a WHATWG `Request` and reading a `ReadableStream` cost about as much CPU per event as the
 * whole durable write (docs/benchmarks.md). Elsewhere (`app.request()` in tests) the web body is
 * read the same way.
 */
import type { IncomingMessage } from 'node:http'
import type { Context } from 'hono'
import { HttpError } from '../core/errors.ts'

/**
 * @throws HttpError 413 when the declared or received body exceeds `limit` bytes.
 * @example
 * const body = await readRawBody(c, 1024 * 1024)
 */
export async function readRawBody(c: Context, limit: number): Promise<Uint8Array> {
  const declared = Number(c.req.header('content-length'))
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit)
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
  return incoming ? readIncoming(incoming, limit) : readWebBody(c.req.raw, limit)
}

function readIncoming(incoming: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let received = 0
    const onData = (chunk: Buffer) => {
      received += chunk.byteLength
      if (received <= limit) return void chunks.push(chunk)
      cleanup()
      // The rest is read and dropped, not buffered; the 413 answer closes the connection.
      incoming.resume()
      reject(tooLarge(limit))
    }
    const onEnd = () => {
      cleanup()
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received))
    }
    const onError = (error: Error) => {
      cleanup()
      reject(new HttpError(400, 'the request body could not be read', { cause: error }))
    }
    const onClose = () => {
      if (incoming.readableEnded) return onEnd()
      onError(new Error('the client closed the connection before the body ended'))
    }
    const cleanup = () => {
      incoming.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
    }
    if (incoming.readableEnded) return resolve(new Uint8Array(0))
    incoming.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
  })
}

async function readWebBody(request: Request, limit: number): Promise<Uint8Array> {
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
