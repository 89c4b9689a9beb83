/**
 * @module
 * The query string of a Commerce REST call, written so that what goes on the wire, what we sign
 * and what Magento verifies are the same pairs. Magento rebuilds the signed parameters from the
 * raw query with `explode('&')`, `explode('=')` and `urldecode`, keyed by name (Magento
 * `Oauth\Helper\Request::_extractQueryStringParams`). So every pair is sent as
 * `rawurlencode(name)=rawurlencode(value)`: no raw `=`, `&` or `+` that the two sides could split
 * or decode differently, and a repeated name, which Magento would silently collapse to its last
 * value (and then reject our signature), is refused up front with a clear message.
 */
import { percentEncode } from './oauth1.ts'

export type QueryValue = string | number | boolean

/** One condition; `conditionType` is Magento's (`eq` default, `neq`, `like`, `in`, `gt`, `lteq`, …). */
export interface SearchFilter {
  field: string
  value: QueryValue
  conditionType?: string
}

/**
 * Magento's `searchCriteria`. Groups are ANDed; the filters inside one group are ORed.
 *
 * @example
 * // orders of one customer that are pending or processing, newest first
 * { filterGroups: [[{ field: 'customer_email', value: 'ann@example.com' }],
 *                  [{ field: 'status', value: 'pending,processing', conditionType: 'in' }]],
 *   sortOrders: [{ field: 'created_at', direction: 'DESC' }], pageSize: 20 }
 */
export interface SearchCriteria {
  filterGroups?: SearchFilter[][]
  sortOrders?: { field: string; direction?: 'ASC' | 'DESC' }[]
  pageSize?: number
  currentPage?: number
}

/**
 * The `searchCriteria[…]` pairs Magento's REST API reads, in its documented spelling.
 *
 * @example
 * searchCriteriaPairs({ pageSize: 10 }) // [['searchCriteria[pageSize]', '10']]
 */
export function searchCriteriaPairs(criteria: SearchCriteria): [string, string][] {
  const pairs: [string, string][] = []
  criteria.filterGroups?.forEach((group, g) =>
    group.forEach((filter, f) => {
      const prefix = `searchCriteria[filter_groups][${g}][filters][${f}]`
      pairs.push([`${prefix}[field]`, filter.field], [`${prefix}[value]`, String(filter.value)])
      if (filter.conditionType !== undefined) pairs.push([`${prefix}[condition_type]`, filter.conditionType])
    }),
  )
  criteria.sortOrders?.forEach((order, i) => {
    pairs.push([`searchCriteria[sortOrders][${i}][field]`, order.field])
    if (order.direction !== undefined) pairs.push([`searchCriteria[sortOrders][${i}][direction]`, order.direction])
  })
  if (criteria.pageSize !== undefined) pairs.push(['searchCriteria[pageSize]', String(criteria.pageSize)])
  if (criteria.currentPage !== undefined) pairs.push(['searchCriteria[currentPage]', String(criteria.currentPage)])
  return pairs
}

/** Magento leaves any parameter whose name contains `oauth_…` out of the signature it computes. */
const PROTOCOL_NAME = /oauth_[a-z_-]+/

/**
 * Merges the query already in a path, `query` and `searchCriteria` into one canonical query
 * string (`''` or `?…`). Throws a TypeError for a name given twice or a name Magento would not sign.
 *
 * @example
 * canonicalQuery('fields=items[entity_id]', undefined, { pageSize: 5 })
 * // '?fields=items%5Bentity_id%5D&searchCriteria%5BpageSize%5D=5'
 */
export function canonicalQuery(
  pathQuery: string,
  query: Record<string, QueryValue | undefined> = {},
  criteria?: SearchCriteria,
): string {
  const pairs: [string, string][] = [...new URLSearchParams(pathQuery)]
  for (const [key, value] of Object.entries(query)) if (value !== undefined) pairs.push([key, String(value)])
  if (criteria) pairs.push(...searchCriteriaPairs(criteria))
  const seen = new Set<string>()
  for (const [key] of pairs) {
    if (seen.has(key)) {
      throw new TypeError(`query parameter ${JSON.stringify(key)} is given twice; Commerce keeps only the last value and would reject the signature`)
    }
    if (PROTOCOL_NAME.test(key)) {
      throw new TypeError(`query parameter ${JSON.stringify(key)} looks like an OAuth parameter; Commerce leaves it out of the signature`)
    }
    seen.add(key)
  }
  return pairs.length === 0 ? '' : `?${pairs.map(([key, value]) => `${percentEncode(key)}=${percentEncode(value)}`).join('&')}`
}
