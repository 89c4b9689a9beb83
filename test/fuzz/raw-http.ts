/**
 * @module
 * A bare HTTP/1.1 client over a TCP socket, for what fetch will not send: a header repeated on
 * its own line, a name in capitals, a wrong Content-Length, chunks of any size, bytes trickled
 * one at a time. Every request asks the server to close the connection, so an answer ends when
 * the socket does; a request that gets no answer within its timeout fails (a hang is a bug).
 */
import { connect } from 'node:net'
import type { HeaderRecord } from './arbitraries.ts'

export interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
  /** From the first byte sent to the socket closing. */
  ms: number
}

export interface RawRequest {
  method?: string
  path: string
  headers?: HeaderRecord
  body?: Uint8Array | string
  /** Send the body with Transfer-Encoding: chunked, in chunks of these sizes (repeated), not Content-Length. */
  chunked?: number[]
  /** Fail if the server has not answered and closed within this (default 10 s). */
  timeoutMs?: number
}

/**
 * @example
 * const answer = await rawRequest(url, { path: '/events/shop', headers: { 'webhook-id': ['a', 'b'] }, body: '{}' })
 */
export function rawRequest(origin: string, request: RawRequest): Promise<RawAnswer> {
  const body = typeof request.body === 'string' ? Buffer.from(request.body) : Buffer.from(request.body ?? new Uint8Array())
  const lines = [`${request.method ?? 'POST'} ${request.path} HTTP/1.1`, `host: ${new URL(origin).host}`, 'connection: close']
  for (const [name, value] of Object.entries(request.headers ?? {})) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`)
  const framing = Object.keys(request.headers ?? {}).some((name) => /^(content-length|transfer-encoding)$/i.test(name))
  let payload: Buffer = body
  if (request.chunked) {
    lines.push('transfer-encoding: chunked')
    payload = Buffer.concat([...chunks(body, request.chunked), Buffer.from('0\r\n\r\n')])
  } else if (!framing) lines.push(`content-length: ${body.byteLength}`)
  return exchange(origin, [Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), payload])], 0, request.timeoutMs ?? 10_000)
}

/**
 * Sends `prefix` at once, then `bytes` one byte every `intervalMs`, until the server closes the
 * connection; reports what it answered (if anything) and how many bytes got out before that.
 */
export async function trickle(
  origin: string,
  { prefix = new Uint8Array(0), bytes, intervalMs, timeoutMs }: { prefix?: Uint8Array; bytes: Uint8Array; intervalMs: number; timeoutMs: number },
): Promise<RawAnswer & { sent: number }> {
  const parts = [...(prefix.byteLength ? [Buffer.from(prefix)] : []), ...[...bytes].map((byte) => Buffer.from([byte]))]
  let sent = 0
  const answer = await exchange(origin, parts, intervalMs, timeoutMs, (part) => (sent += part.byteLength))
  return { ...answer, sent }
}

function* chunks(body: Buffer, sizes: number[]): Generator<Buffer> {
  let at = 0
  for (let i = 0; at < body.byteLength; i++) {
    const size = Math.max(1, sizes[i % sizes.length]!)
    const part = body.subarray(at, at + size)
    at += part.byteLength
    yield Buffer.concat([Buffer.from(`${part.byteLength.toString(16)}\r\n`), part, Buffer.from('\r\n')])
  }
}

function exchange(origin: string, parts: Buffer[], intervalMs: number, timeoutMs: number, onSent?: (part: Buffer) => void): Promise<RawAnswer> {
  const { hostname, port } = new URL(origin)
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const received: Buffer[] = []
    const socket = connect(Number(port), hostname)
    let timer: NodeJS.Timeout | undefined
    const deadline = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer from ${origin} within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.on('data', (data) => received.push(data))
    // A reset after the answer (the server closing while bytes were still coming) is not a failure.
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(deadline)
      clearTimeout(timer)
      resolve(parse(Buffer.concat(received), performance.now() - started))
    })
    const send = (i: number) => {
      if (i >= parts.length || socket.destroyed || !socket.writable) return
      socket.write(parts[i]!)
      onSent?.(parts[i]!)
      if (intervalMs === 0) return send(i + 1)
      timer = setTimeout(() => send(i + 1), intervalMs)
    }
    socket.on('connect', () => send(0))
  })
}

function parse(raw: Buffer, ms: number): RawAnswer {
  const text = raw.toString('latin1')
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) return { status: 0, headers: {}, body: '', ms }
  const [statusLine, ...headerLines] = text.slice(0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of headerLines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body = raw.subarray(end + 4)
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body)
  return { status: Number(statusLine!.split(' ')[1]), headers, body: body.toString('utf8'), ms }
}

function dechunk(raw: Buffer): Buffer {
  const out: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at)
    if (lineEnd < 0) break
    const size = parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16)
    if (!(size > 0)) break
    out.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
  return Buffer.concat(out)
}

/**
 * The reason of a JSON refusal, or null: storehook's `{ "error": "…" }`, or a Commerce Layer
 * envelope's `error.message` (`data.error.message` for payments).
 */
export function reasonOf(answer: RawAnswer): string | null {
  if (!/^application\/json/.test(answer.headers['content-type'] ?? '')) return null
  try {
    const body = JSON.parse(answer.body) as { error?: unknown; data?: { error?: unknown } }
    const error = body.error ?? body.data?.error
    const reason = typeof error === 'string' ? error : (error as { message?: unknown } | undefined)?.message
    return typeof reason === 'string' && reason !== '' ? reason : null
  } catch {
    return null
  }
}
