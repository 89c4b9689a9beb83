/**
 * @module
 * The `standard-webhooks` source: requests signed as the Standard Webhooks spec says
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`).
 * See https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
import { timingSafeEqual, type KeyObject } from 'node:crypto'
import { z } from 'zod'
import { MalformedRequestError, VerificationError } from '../../core/errors.ts'
import { parseJsonBody } from '../../core/json.ts'
import { redactHeaders } from '../../core/redact.ts'
import {
  decodeStandardWebhookSecret as decodeSecret,
  standardWebhookHmac as hmacBase64,
  standardWebhookSecretProblem as secretProblem,
} from '../../core/standard-webhooks.ts'
import type { InboundEvent } from '../../core/types.ts'
import type { Source, SourceKind, SourceRequest } from '../source.ts'

// The signing itself lives in core, shared with the `http` connection's signed deliveries.
export { signStandardWebhook } from '../../core/standard-webhooks.ts'

// The spec's reference library uses the same window.
const DEFAULT_TOLERANCE_SECONDS = 5 * 60

export interface VerifyStandardWebhookOptions {
  headers: Headers
  /** The exact bytes received. */
  body: Uint8Array
  /** `whsec_…` secrets or decoded keys; a signature made with any of them is accepted. */
  secrets: readonly (string | Uint8Array | KeyObject)[]
  /** Epoch milliseconds. */
  now: number
  toleranceSeconds?: number
}

/**
 * Checks the three `webhook-*` headers against the body; parses nothing.
 *
 * @returns the message id and timestamp, once the signature is known to be good
 * @throws VerificationError (401) when a header is missing, the timestamp is outside the
 *   tolerance, or no `v1` signature matches any secret
 * @example
 * const { id } = verifyStandardWebhook({ headers: request.headers, body: request.body, secrets, now: Date.now() })
 */
export function verifyStandardWebhook(options: VerifyStandardWebhookOptions): { id: string; timestampSeconds: number } {
  const { headers, body, secrets, now, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS } = options
  const id = requiredHeader(headers, 'webhook-id')
  const timestamp = requiredHeader(headers, 'webhook-timestamp')
  const signatures = requiredHeader(headers, 'webhook-signature')

  // A "." in the id would let "a.1" + ts 2 sign the same bytes as "a" + ts 1 with a shifted body.
  if (id.includes('.')) throw new VerificationError('webhook-id must not contain "."')
  if (!/^[0-9]+$/.test(timestamp)) throw new VerificationError('webhook-timestamp invalid: expected integer Unix seconds')
  const timestampSeconds = Number(timestamp)
  const nowSeconds = Math.floor(now / 1000)
  if (nowSeconds - timestampSeconds > toleranceSeconds) {
    throw new VerificationError(`webhook-timestamp too old: more than ${toleranceSeconds} s in the past`)
  }
  if (timestampSeconds - nowSeconds > toleranceSeconds) {
    throw new VerificationError(`webhook-timestamp too new: more than ${toleranceSeconds} s in the future`)
  }

  // Repeated headers arrive joined by ", ", so a trailing comma is a separator, never base64.
  const offered = signatures
    .split(' ')
    .map((entry) => entry.replace(/,$/, ''))
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3)))
  for (const secret of secrets) {
    const expected = Buffer.from(hmacBase64(decodeSecret(secret), id, timestamp, body))
    for (const candidate of offered) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
        return { id, timestampSeconds }
      }
    }
  }
  throw new VerificationError('signature does not match any configured secret')
}

function requiredHeader(headers: Headers, name: string): string {
  const value = headers.get(name)
  if (!value) throw new VerificationError(`missing ${name} header`)
  return value
}

/** Reads a dot path through own properties only, so `constructor` or `__proto__` find nothing. */
function readPath(value: unknown, path: readonly string[]): unknown {
  let current = value
  for (const key of path) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

function parseJsonObject(body: Uint8Array): Record<string, unknown> {
  const parsed = parseJsonBody(body)
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MalformedRequestError('body must be a JSON object')
  }
  return parsed as Record<string, unknown>
}

const secretList = z
  .union([z.string(), z.array(z.string())])
  // One env var can hold the old and the new secret during a rotation.
  .transform((value) => (Array.isArray(value) ? value : [value]).flatMap((s) => s.split(/\s+/)).filter(Boolean))
  .check((ctx) => {
    if (ctx.value.length === 0) {
      ctx.issues.push({ code: 'custom', message: 'at least one secret is required', input: ctx.value })
    }
    ctx.value.forEach((secret, index) => {
      const problem = secretProblem(secret)
      // The message names the position, never the value: config errors get printed and logged.
      if (problem) ctx.issues.push({ code: 'custom', message: `secret ${index + 1} ${problem}`, input: '[secret]' })
    })
  })

const configSchema = z.object({
  /** `whsec_…` secrets; a string may hold several separated by spaces. */
  secrets: secretList,
  /** Dot path in the JSON body to the event type, e.g. `type` or `data.event_type`. */
  typeField: z.string().min(1).default('type'),
  toleranceSeconds: z.number().int().positive().default(DEFAULT_TOLERANCE_SECONDS),
})

export type StandardWebhooksConfig = z.output<typeof configSchema>

/** Verification is synchronous, so callers that know the kind (tests, bench) need not await. */
export interface StandardWebhooksSource extends Source {
  receive(request: SourceRequest, now: number): InboundEvent[]
}

/**
 * Receives webhooks from any sender that follows Standard Webhooks (Svix, and others).
 *
 * @example
 * // storehook.config.ts
 * sources: { shop: { kind: 'standard-webhooks', secrets: env('SHOP_WEBHOOK_SECRETS'), typeField: 'type' } }
 */
export const standardWebhooks = {
  kind: 'standard-webhooks',
  configSchema,
  create(name: string, config: StandardWebhooksConfig): StandardWebhooksSource {
    const keys = config.secrets.map(decodeSecret)
    const typePath = config.typeField.split('.')
    return {
      name,
      kind: 'standard-webhooks',
      receive(request: SourceRequest, now: number): InboundEvent[] {
        const { id } = verifyStandardWebhook({
          headers: request.headers,
          body: request.body,
          secrets: keys,
          now,
          toleranceSeconds: config.toleranceSeconds,
        })
        const payload = parseJsonObject(request.body)
        const type = readPath(payload, typePath)
        if (typeof type !== 'string' || type === '') {
          throw new MalformedRequestError(`expected the event type as a non-empty string at "${config.typeField}"`)
        }
        return [{ id, type, payload, headers: redactHeaders(request.headers) }]
      },
    }
  },
} satisfies SourceKind<typeof configSchema>
