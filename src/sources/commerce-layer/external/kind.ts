/**
 * @module
 * What every Commerce Layer external resource kind shares: the signature, JSON:API parsing with a
 * check of `data.type`, answer checking with zod, and the envelopes of shared/reference/
 * commerce-layer.md §2: `{"success": true, "data": {…}}` with 2xx, and
 * `{"success": false, "error": {"code", "message"}}` with a status ≥ 400. Each kind's file only
 * states its schema and what differs.
 */
import { z } from 'zod'
import { MalformedRequestError } from '../../../core/errors.ts'
import type { AnswerCheck, ExternalKind, ExternalReply, Refusal } from '../../external.ts'
import { parseJsonApi, type JsonApiDocument, type Resource } from '../json-api.ts'
import { commerceLayerKey, verifyCommerceLayerSignature } from '../signature.ts'

/** What a Commerce Layer handler's context carries besides the runtime's. */
export interface CommerceLayerContext {
  /** The whole call: `document.included`, `document.find(type, id)`. */
  document: JsonApiDocument
  /** `{ mode: 'live' | 'test', organization_id }` as sent. */
  meta: JsonApiDocument['meta']
}

/** Amounts in cents: non-negative integers, never floats. */
export const cents = z.number({ error: 'expected an amount in cents' }).int('expected a whole number of cents').nonnegative('expected a non-negative amount')
/** Rates are fractions: 0.22, not 22. */
export const rate = z.number({ error: 'expected a rate' }).min(0, 'expected a rate from 0 to 1').max(1, 'expected a rate from 0 to 1 (0.22, not 22)')
/** Amounts in major units (tax_collectable): finite, non-negative floats. */
export const majorUnits = z.number({ error: 'expected an amount in major units' }).nonnegative('expected a non-negative amount')
/** Copied into the Commerce Layer resource's metadata. */
export const metadata = z.record(z.string(), z.unknown())

export interface CommerceLayerKindSpec<Input extends Resource, Answer> {
  kind: string
  /** The `data.type` values this kind is called with; null accepts any (shapes UNVERIFIED). */
  dataTypes: readonly string[] | null
  schema: z.ZodType<Answer>
  /** Fills defaults from the input before the answer is checked (e.g. the price's `sku_code`). */
  prepare?(answer: Record<string, unknown>, input: Input | undefined): Record<string, unknown>
  /** The success reply; default 200 with the answer as `data`. */
  success?(answer: Answer, input: Input): ExternalReply
  /** The error reply; default `{ success: false, data?, error }`. */
  refusal?(refusal: Refusal, input: Input | undefined): ExternalReply
  /** May the handler return nothing? (order validation: nothing means valid) */
  allowEmpty?: boolean
  sameInput(input: Input): unknown
}

/**
 * Builds one Commerce Layer kind from its spec.
 *
 * @example
 * const kind = commerceLayerKind({ kind: 'price', dataTypes: ['line_items'], schema, sameInput: (li) => li.sku_code })
 */
export function commerceLayerKind<Input extends Resource, Answer>(
  spec: CommerceLayerKindSpec<Input, Answer>,
): ExternalKind<Input, Answer, CommerceLayerContext> {
  return {
    platform: 'commerce-layer',
    kind: spec.kind,
    verifier(secrets) {
      const keys = secrets.map(commerceLayerKey)
      return (request) => verifyCommerceLayerSignature({ headers: request.headers, body: request.body, secrets: keys })
    },
    parse(body) {
      const document = parseJsonApi<Input>(body)
      const type = document.data.type
      if (spec.dataTypes && !spec.dataTypes.includes(type)) {
        throw new MalformedRequestError(
          `data.type: a ${spec.kind} call carries ${spec.dataTypes.map((t) => `"${t}"`).join(' or ')}, not "${type}"; is this URL set on the right Commerce Layer resource?`,
        )
      }
      return { input: document.data, context: { document: document as JsonApiDocument, meta: document.meta } }
    },
    check(answer, input) {
      return checkAnswer(spec, answer, input)
    },
    success(answer, input) {
      return spec.success ? spec.success(answer, input) : { status: 200, body: { success: true, data: answer } }
    },
    refusal(refusal, input) {
      return spec.refusal ? spec.refusal(refusal, input) : errorEnvelope(refusal)
    },
    sameInput: spec.sameInput,
  }
}

/** `{"success": false, "data"?: {…}, "error": {"code", "message"}}` with the refusal's status. */
export function errorEnvelope(refusal: Refusal): ExternalReply {
  const body: Record<string, unknown> = { success: false }
  if (refusal.data && Object.keys(refusal.data).length > 0) body.data = refusal.data
  body.error = { code: refusal.code, message: refusal.message }
  return { status: refusal.status, body }
}

function checkAnswer<Input extends Resource, Answer>(
  spec: CommerceLayerKindSpec<Input, Answer>,
  answer: unknown,
  input: Input | undefined,
): AnswerCheck<Answer> {
  if ((answer === undefined || answer === null) && spec.allowEmpty) answer = {}
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
    return { ok: false, problem: `expected an object (the envelope's "data"), got ${describe(answer)}` }
  }
  let data = answer as Record<string, unknown>
  // Code ported from a serverless function often returns the whole envelope: accept it only when
  // it is exactly right, and say what is wrong otherwise (the string "true" is a known peer bug).
  if (Object.hasOwn(data, 'success')) {
    if (data.success !== true) {
      return {
        ok: false,
        problem:
          data.success === false
            ? 'returned "success": false; to refuse, throw new ExternalResourceError(code, message)'
            : `"success" must be the JSON boolean true, got ${describe(data.success)}; better, return only the data`,
      }
    }
    if (typeof data.data !== 'object' || data.data === null || Array.isArray(data.data)) {
      return { ok: false, problem: 'returned an envelope without a "data" object; return only the data' }
    }
    data = data.data as Record<string, unknown>
  }
  const prepared = spec.prepare ? spec.prepare({ ...data }, input) : data
  const result = spec.schema.safeParse(prepared)
  if (result.success) return { ok: true, answer: result.data }
  return { ok: false, problem: result.error.issues.map(formatIssue).join('; ') }
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '')
  return path ? `${path}: ${issue.message}` : issue.message
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`
  return typeof value
}

const VOLATILE = new Set(['created_at', 'updated_at', 'validations_count', 'circuit_state', 'circuit_failure_count'])

/**
 * A resource's attributes without volatile ones (timestamps, counters) and without its
 * relationships: the part of "the same input" that does not change on every call.
 */
export function steadyAttributes(resource: Resource | undefined | null): Record<string, unknown> | undefined {
  if (!resource) return undefined
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(resource)) {
    if (VOLATILE.has(name) || isResourceValue(value)) continue
    out[name] = value
  }
  return out
}

function isResourceValue(value: unknown): boolean {
  const isResource = (v: unknown) => typeof v === 'object' && v !== null && typeof (v as Resource).type === 'string' && 'id' in v
  return Array.isArray(value) ? value.length > 0 && value.every(isResource) : isResource(value)
}

/** The address fields taxes and shipping depend on. */
export function addressKey(address: Resource | undefined | null): unknown {
  if (!address) return null
  const { country_code, state_code, zip_code, city, line_1 } = address as Record<string, unknown>
  return { country_code, state_code, zip_code, city, line_1 }
}

/** The line item fields amounts depend on. */
export function lineItemsKey(lineItems: unknown): unknown {
  if (!Array.isArray(lineItems)) return null
  return lineItems.map((li: Record<string, unknown>) => ({
    id: li.id,
    sku_code: li.sku_code,
    item_type: li.item_type,
    quantity: li.quantity,
    unit_amount_cents: li.unit_amount_cents,
    total_amount_cents: li.total_amount_cents,
  }))
}
