/**
 * Shared helpers for the end-to-end tests: throwaway projects on disk, signed requests, and a
 * storehook started exactly as `storehook start` starts it.
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Writable } from 'node:stream'
import { after } from 'node:test'
import { createLogger } from '../src/runtime/logger.ts'
import { startStorehook, type RunningStorehook, type StartOptions } from '../src/server/start.ts'
import { signStandardWebhook } from '../src/sources/standard-webhooks/index.ts'

export const TEST_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
export const REPO_ROOT = new URL('..', import.meta.url).pathname

/** Creates a project directory with the given files (path → content); removed after the file's tests. */
export function makeProject(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'storehook-project-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}

/** A config with one Standard Webhooks source named `webhooks` (secret TEST_SECRET) and `extra` spliced in. */
export function webhooksConfig(extra = ''): string {
  return `import { defineConfig } from 'storehook'
export default defineConfig({
  sources: { webhooks: { kind: 'standard-webhooks', secrets: ['${TEST_SECRET}'] } },
  ${extra}
})
`
}

/** Captures log lines, for asserting what was (and was not) logged. */
export function captureLogs() {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  return { lines, logger: createLogger({ level: 'debug', destination }) }
}

/** Starts storehook on a free port with logs captured; closed after the file's tests. */
export async function start(options: StartOptions & { project: string }) {
  const logs = captureLogs()
  const storehook = await startStorehook({ port: 0, logger: logs.logger, ...options })
  after(() => storehook.close())
  return Object.assign(storehook, { logs: logs.lines }) as RunningStorehook & { logs: string[] }
}

export interface SignedEvent {
  id?: string
  type?: string
  data?: unknown
  /** Seconds; default now. */
  timestamp?: number
  secret?: string
}

/** Builds a Standard Webhooks request for `POST /events/<source>`: headers and exact body. */
export function signedEvent({ id = `msg_${randomUUID()}`, type = 'order.created', data = {}, timestamp, secret = TEST_SECRET }: SignedEvent = {}) {
  const ts = timestamp ?? Math.floor(Date.now() / 1000)
  const body = new TextEncoder().encode(JSON.stringify({ type, data }))
  return {
    id,
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandardWebhook(secret, id, ts, body),
    } as Record<string, string>,
  }
}

/** POSTs a signed event to `<url>/events/<source>`. */
export async function sendEvent(url: string, event: SignedEvent = {}, source = 'webhooks') {
  const request = signedEvent(event)
  const response = await fetch(`${url}/events/${source}`, { method: 'POST', headers: request.headers, body: request.body })
  return { id: request.id, status: response.status, body: (await response.json()) as any }
}

/** Polls until `check` returns a truthy value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
