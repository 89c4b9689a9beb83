/**
 * @module
 * What a source is: the code that stands between a platform's HTTP request and the store. It
 * verifies the request against the exact bytes received, then turns it into events. It never runs
 * user code and never touches the store; the server does both, in that order, only after
 * `receive` has returned.
 */
import type { z } from 'zod'
import type { InboundEvent } from '../core/types.ts'

/** An inbound request as a source sees it: the raw body, never a re-serialised one. */
export interface SourceRequest {
  method: string
  url: URL
  headers: Headers
  /** The exact bytes received; signatures are computed over these. */
  body: Uint8Array
}

export interface Source {
  /** The name the user gave it in the config: the `<source>` in `POST /events/<source>`. */
  readonly name: string
  readonly kind: string
  /**
   * Verifies the request and returns its events (a batch may hold several).
   * @throws VerificationError (401) when the signature is missing, stale or wrong.
   * @throws MalformedRequestError (400) when an authentic body cannot be understood.
   */
  receive(request: SourceRequest, now: number): Promise<InboundEvent[]> | InboundEvent[]
  /**
   * Answers a platform's `GET /events/<source>?…` handshake (Adobe I/O Events' `?challenge=`),
   * or null when the request is not one.
   */
  handshake?(url: URL, headers: Headers): { contentType: string; body: string } | null
  /** What the admin API shows about this source besides its name and kind. */
  status?(): Record<string, unknown>
}

/**
 * One platform's kind of source: its config schema (validated when the project loads) and a
 * factory. Adding a platform means adding one of these in its own folder and listing it in
 * `sources/index.ts`.
 */
export interface SourceKind<Schema extends z.ZodType = z.ZodType> {
  kind: string
  configSchema: Schema
  create(name: string, config: z.output<Schema>): Source
}
