/**
 * @module
 * One signed POST from the simulated Commerce Layer to an endpoint (an external resource or a
 * webhook's `callback_url`): compact JSON, signed over exactly the bytes sent, under a deadline
 * that covers the whole answer. Redirects are not followed (UNVERIFIED what Commerce Layer does;
 * a redirect is a failure here, which is the safe assumption for an endpoint author).
 */
import { signCommerceLayer, SIGNATURE_HEADER, TOPIC_HEADER } from './sign.ts'

export interface Delivery {
  url: string
  /** The exact bytes sent and signed. */
  body: string
  sharedSecret: string
  timeoutMs: number
  /** Webhooks only. */
  topic?: string
  /** `Content-Type` of the request. UNVERIFIED: the reference has no captured request headers. */
  contentType: string
}

/** The request as it went out, for tests to inspect. */
export interface SentRequest {
  url: string
  headers: Record<string, string>
  body: string
}

export type DeliveryResult =
  | { answered: true; status: number; body: string; durationMs: number; request: SentRequest }
  | { answered: false; reason: 'timeout' | 'network'; message: string; durationMs: number; request: SentRequest }

/**
 * Sends `delivery` and reads the whole answer within `timeoutMs`.
 *
 * @example
 * const result = await deliver({ url, body: JSON.stringify(payload), sharedSecret, timeoutMs: 3000, contentType: 'application/json' })
 * if (result.answered) console.log(result.status, result.body)
 */
export async function deliver(delivery: Delivery): Promise<DeliveryResult> {
  const headers: Record<string, string> = {
    'content-type': delivery.contentType,
    [SIGNATURE_HEADER]: signCommerceLayer(delivery.body, delivery.sharedSecret),
  }
  if (delivery.topic !== undefined) headers[TOPIC_HEADER] = delivery.topic
  const request: SentRequest = { url: delivery.url, headers, body: delivery.body }
  const started = performance.now()
  const timeout = AbortSignal.timeout(delivery.timeoutMs)
  try {
    const response = await fetch(delivery.url, { method: 'POST', headers, body: delivery.body, signal: timeout, redirect: 'manual' })
    const body = await response.text()
    return { answered: true, status: response.status, body, durationMs: performance.now() - started, request }
  } catch (error) {
    const durationMs = performance.now() - started
    if (timeout.aborted) return { answered: false, reason: 'timeout', message: `timed out after ${delivery.timeoutMs} ms`, durationMs, request }
    const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause
    const message = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : String(error)
    return { answered: false, reason: 'network', message, durationMs, request }
  }
}
