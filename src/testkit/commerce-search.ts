/**
 * @module
 * Magento's `searchCriteria` for the commerce simulator's list endpoints (`GET /V1/orders?…`):
 * the bracketed query names are read the way PHP reads them into nested arrays, filters inside a
 * group are ORed, groups are ANDed, then sort and page. The answer has Magento's shape:
 * `{ items, search_criteria, total_count }`.
 */

type Nested = { [key: string]: Nested | string }

export interface SearchResult<T> {
  items: T[]
  search_criteria: Record<string, unknown>
  total_count: number
}

/** Thrown for a search Magento would refuse; the simulator answers 400 with `message`. */
export class SearchCriteriaError extends Error {}

/**
 * Reads decoded query pairs into PHP's nested arrays: `a[b][0]=x` → `{ a: { b: { 0: 'x' } } }`.
 *
 * @example
 * phpNestedQuery([['searchCriteria[pageSize]', '5']]) // { searchCriteria: { pageSize: '5' } }
 */
export function phpNestedQuery(pairs: Iterable<readonly [string, string]>): Nested {
  const root: Nested = {}
  for (const [name, value] of pairs) {
    const match = /^([^[]+)((?:\[[^\]]*\])*)$/.exec(name)
    if (!match) continue
    const path = [match[1] as string, ...[...(match[2] as string).matchAll(/\[([^\]]*)\]/g)].map((m) => m[1] as string)]
    let node = root
    path.forEach((key, i) => {
      if (i === path.length - 1) node[key] = value
      else node = typeof node[key] === 'object' ? node[key] : (node[key] = {})
    })
  }
  return root
}

/**
 * Applies a `searchCriteria` (as {@link phpNestedQuery} reads it) to `rows`.
 *
 * @example
 * search(orders, phpNestedQuery(new URL(url).searchParams).searchCriteria)
 */
export function search<T extends Record<string, unknown>>(rows: T[], criteria: Nested | string | undefined): SearchResult<T> {
  if (typeof criteria !== 'object') throw new SearchCriteriaError('"%fieldName" is required. Enter and try again.')
  const groups = Object.values(object(criteria.filter_groups ?? criteria.filterGroups)).map((group) =>
    Object.values(object(object(group).filters)).map((filter) => {
      const f = object(filter)
      return { field: String(f.field ?? ''), value: String(f.value ?? ''), condition_type: String(f.condition_type ?? f.conditionType ?? 'eq') }
    }),
  )
  const sortOrders = Object.values(object(criteria.sortOrders ?? criteria.sort_orders)).map((order) => {
    const o = object(order)
    return { field: String(o.field ?? ''), direction: String(o.direction ?? 'ASC').toUpperCase() }
  })
  const pageSize = criteria.pageSize ?? criteria.page_size
  const currentPage = criteria.currentPage ?? criteria.current_page

  let matched = rows.filter((row) => groups.every((filters) => filters.some((filter) => matches(row[filter.field], filter))))
  for (const order of [...sortOrders].reverse()) {
    const sign = order.direction === 'DESC' ? -1 : 1
    matched = matched.toSorted((a, b) => sign * compare(a[order.field], b[order.field]))
  }
  const total = matched.length
  if (typeof pageSize === 'string') {
    const size = Number(pageSize)
    const page = Math.max(1, Number(typeof currentPage === 'string' ? currentPage : 1))
    matched = matched.slice((page - 1) * size, page * size)
  }
  const echo: Record<string, unknown> = { filter_groups: groups.map((filters) => ({ filters })) }
  if (sortOrders.length > 0) echo.sort_orders = sortOrders
  if (typeof pageSize === 'string') echo.page_size = Number(pageSize)
  if (typeof currentPage === 'string') echo.current_page = Number(currentPage)
  return { items: matched, search_criteria: echo, total_count: total }
}

function object(value: Nested | string | undefined): Nested {
  return typeof value === 'object' ? value : {}
}

function matches(actual: unknown, filter: { value: string; condition_type: string }): boolean {
  const text = actual === undefined || actual === null ? undefined : String(actual)
  const list = filter.value.split(',').map((item) => item.trim())
  switch (filter.condition_type) {
    case 'eq':
      return text === filter.value
    case 'neq':
      return text !== filter.value
    case 'like':
    case 'nlike': {
      const pattern = new RegExp(`^${filter.value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replaceAll('%', '.*').replaceAll('_', '.')}$`, 'is')
      return (text !== undefined && pattern.test(text)) === (filter.condition_type === 'like')
    }
    case 'in':
      return text !== undefined && list.includes(text)
    case 'nin':
      return text === undefined || !list.includes(text)
    case 'gt':
      return compare(actual, filter.value) > 0
    case 'lt':
      return compare(actual, filter.value) < 0
    case 'gteq':
    case 'from':
      return compare(actual, filter.value) >= 0
    case 'lteq':
    case 'to':
      return compare(actual, filter.value) <= 0
    case 'null':
      return text === undefined
    case 'notnull':
      return text !== undefined
    default:
      throw new SearchCriteriaError(`the commerce simulator does not implement condition_type "${filter.condition_type}"`)
  }
}

/** SQL-like: numbers as numbers, anything else as text; missing values first. */
function compare(a: unknown, b: unknown): number {
  if (a === undefined || a === null) return b === undefined || b === null ? 0 : -1
  if (b === undefined || b === null) return 1
  const x = Number(a)
  const y = Number(b)
  if (String(a).trim() !== '' && String(b).trim() !== '' && !Number.isNaN(x) && !Number.isNaN(y)) return Math.sign(x - y)
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0
}
