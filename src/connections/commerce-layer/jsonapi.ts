/**
 * @module
 * The JSON:API shapes Commerce Layer's REST API speaks (reference/commerce-layer.md §6), and how
 * the connection turns `include`, `fields`, `filter`, `sort` and `page` options into the query
 * string the API reads (`include=line_items,market`, `fields[orders]=number,status`,
 * `filter[q][sku_code_eq]=…`, `page[size]=25`).
 */

/** A linkage: which resource a relationship points at. */
export interface JsonApiIdentifier {
  type: string
  id: string
}

/** One relationship of a resource. `data` is present only when the relationship was included. */
export interface JsonApiRelationship {
  links?: { self?: string; related?: string }
  data?: JsonApiIdentifier | JsonApiIdentifier[] | null
}

/**
 * One resource as the API answers it. Give `A` the attributes you read to type them.
 *
 * @example
 * type Order = JsonApiResource<{ number: string; status: string; total_amount_cents: number }>
 */
export interface JsonApiResource<A extends object = Record<string, unknown>> {
  id: string
  type: string
  attributes: A
  relationships?: Record<string, JsonApiRelationship>
  links?: Record<string, string>
  meta?: Record<string, unknown>
}

/**
 * A whole answer: the resource (or list) in `data`, the related resources asked for with
 * `include` in `included`, and for lists `meta.record_count` / `meta.page_count` and `links`.
 */
export interface JsonApiDocument<D = JsonApiResource | JsonApiResource[]> {
  data: D
  included?: JsonApiResource[]
  meta?: Record<string, unknown>
  links?: Record<string, string>
}

/** What a write sends: a resource without an id (create) or with one (update). */
export interface JsonApiWrite<A extends object = Record<string, unknown>> {
  data: {
    type: string
    id?: string
    attributes?: A
    relationships?: Record<string, { data: JsonApiIdentifier | JsonApiIdentifier[] | null }>
  }
}

/** One entry of an error answer's `errors` list (reference §6, "Handling errors"). */
export interface JsonApiError {
  title?: string
  detail?: string
  code?: string
  status?: string
  source?: { pointer?: string; parameter?: string }
  meta?: Record<string, unknown>
}

/** A filter value: lists become comma-separated, as the `_in` predicates read them. */
export type FilterValue = string | number | boolean | readonly (string | number)[]

/** The query options every request takes. */
export interface JsonApiQuery {
  /** Related resources to add to `included`, e.g. `['line_items', 'line_items.item', 'market']`. */
  include?: readonly string[]
  /** Sparse fieldsets by type, e.g. `{ orders: ['number', 'status'] }`. */
  fields?: Readonly<Record<string, readonly string[]>>
  /** Ransack predicates, sent as `filter[q][<key>]`, e.g. `{ sku_code_eq: 'TSHIRT', status_in: ['placed', 'approved'] }`. */
  filter?: Readonly<Record<string, FilterValue>>
  /** Sort keys; a leading `-` sorts descending, e.g. `['-created_at']`. */
  sort?: string | readonly string[]
  /** `page[number]` (from 1) and `page[size]` (at most 25 on Commerce Layer). */
  page?: { number?: number; size?: number }
  /** Any other parameter, sent as it is. */
  query?: Readonly<Record<string, string>>
}

/**
 * The query string for `options`, with a leading `?`, or `''` when there is none.
 *
 * @example
 * jsonApiQuery({ include: ['line_items'], filter: { status_eq: 'placed' }, page: { size: 5 } })
 * // '?include=line_items&filter%5Bq%5D%5Bstatus_eq%5D=placed&page%5Bsize%5D=5'
 */
export function jsonApiQuery(options: JsonApiQuery): string {
  const params = new URLSearchParams()
  if (options.include?.length) params.set('include', options.include.join(','))
  for (const [type, names] of Object.entries(options.fields ?? {})) params.set(`fields[${type}]`, names.join(','))
  for (const [key, value] of Object.entries(options.filter ?? {})) {
    params.set(`filter[q][${key}]`, Array.isArray(value) ? value.join(',') : String(value))
  }
  const sort = typeof options.sort === 'string' ? [options.sort] : options.sort
  if (sort?.length) params.set('sort', sort.join(','))
  if (options.page?.number !== undefined) params.set('page[number]', String(options.page.number))
  if (options.page?.size !== undefined) params.set('page[size]', String(options.page.size))
  for (const [key, value] of Object.entries(options.query ?? {})) params.append(key, value)
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

/** The `errors` of an error answer, or `[]` when the body is not one. */
export function parseJsonApiErrors(text: string): JsonApiError[] {
  try {
    const errors = (JSON.parse(text) as { errors?: unknown } | null)?.errors
    return Array.isArray(errors) ? errors.filter((entry): entry is JsonApiError => typeof entry === 'object' && entry !== null) : []
  } catch {
    return []
  }
}

/** `title: detail` of the first errors, short enough for a log line. */
export function describeJsonApiErrors(errors: readonly JsonApiError[]): string {
  return errors
    .slice(0, 3)
    .map((error) => [error.title, error.detail].filter((part) => typeof part === 'string' && part !== '').join(': ') || error.code || '')
    .filter((text) => text !== '')
    .join('; ')
}
