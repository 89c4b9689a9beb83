/**
 * @module
 * What Commerce does to a webhook payload, for the Commerce webhooks simulator: reshapes the body
 * a hook is sent with (`fields`: `name`/`source` paths with `.` between keys and `[]` for each
 * element of a list, `AdobeDocs/commerce-extensibility` `webhooks/hooks.md`), and applies the
 * operations a hook answered to the method's arguments (`/`-separated paths, `webhooks/responses.md`).
 *
 * Written apart from storehook's own operation checks on purpose: a simulator that shared them
 * could not catch an answer both get wrong the same way.
 */

export interface HookField {
  /** Where the value goes in the body sent: `product.sku`, `result[].carrier_code`. */
  name: string
  /** Where it comes from in the payload; default `name`. */
  source?: string
}

/** An operation as Commerce reads it from a hook's answer. */
export interface ReceivedOperation {
  op: 'success' | 'exception' | 'add' | 'replace' | 'remove'
  path?: string
  value?: unknown
  instance?: string
  message?: string
  class?: string
}

type Step = { key: string } | { each: true }

function steps(path: string): Step[] {
  const out: Step[] = []
  for (const part of path.split('.')) {
    const each = part.endsWith('[]')
    const key = each ? part.slice(0, -2) : part
    if (key !== '') out.push({ key })
    if (each) out.push({ each: true })
  }
  return out
}

function read(value: unknown, path: Step[]): unknown {
  if (path.length === 0) return value
  const [step, ...rest] = path
  if ('each' in step!) return Array.isArray(value) ? value.map((item) => read(item, rest)) : undefined
  if (typeof value !== 'object' || value === null) return undefined
  return read((value as Record<string, unknown>)[step!.key], rest)
}

function write(target: Record<string, unknown> | unknown[], path: Step[], value: unknown): void {
  const [step, ...rest] = path
  if (!step) return
  if ('each' in step) {
    if (!Array.isArray(value)) return
    const list = target as unknown[]
    value.forEach((item, i) => {
      if (rest.length === 0) list[i] = item
      else write((list[i] ??= nextContainer(rest)) as Record<string, unknown>, rest, item)
    })
    return
  }
  const object = target as Record<string, unknown>
  if (rest.length === 0) {
    object[step.key] = value
    return
  }
  object[step.key] ??= nextContainer(rest)
  write(object[step.key] as Record<string, unknown>, rest, value)
}

function nextContainer(rest: Step[]): Record<string, unknown> | unknown[] {
  return 'each' in rest[0]! ? [] : {}
}

/**
 * The body a hook is sent: the whole payload, or only its configured fields.
 *
 * @example
 * selectFields({ data: { quote_item: { sku: 'S1', qty: 2, name: 'x' } } }, [{ name: 'product.sku', source: 'data.quote_item.sku' }])
 * // { product: { sku: 'S1' } }
 */
export function selectFields(payload: Record<string, unknown>, fields: readonly HookField[] | undefined): Record<string, unknown> {
  if (!fields || fields.length === 0) return payload
  const body: Record<string, unknown> = {}
  for (const field of fields) {
    const value = read(payload, steps(field.source ?? field.name))
    // A missing source is sent as null, as Commerce does for context values it cannot resolve.
    write(body, steps(field.name), value === undefined ? null : value)
  }
  return body
}

/**
 * Applies one `add`, `replace` or `remove` to `payload` in place. `add` appends when the path
 * holds a list (a shipping rate added to `result`) and sets the key otherwise; `replace` sets the
 * key; `remove` deletes it (or takes the element out of a list).
 *
 * @returns null, or a note on what was odd (a replace or remove of a path that does not exist),
 *   or a problem that stopped it (a path through a scalar)
 * @example
 * const payload = { result: [] }
 * applyOperation(payload, { op: 'add', path: 'result', value: { method: 'dps' } }) // payload.result has one rate
 */
export function applyOperation(payload: Record<string, unknown>, operation: ReceivedOperation): { level: 'notice' | 'error'; message: string } | null {
  const parts = operation.path!.split('/')
  const last = parts.pop()!
  let parent: unknown = payload
  for (const [i, part] of parts.entries()) {
    const container = parent as Record<string, unknown>
    if (container[part] === undefined || container[part] === null) {
      if (operation.op === 'remove') return { level: 'notice', message: `remove: nothing at ${operation.path}` }
      container[part] = {}
    }
    parent = container[part]
    if (typeof parent !== 'object' || parent === null) {
      return { level: 'error', message: `${operation.op}: ${parts.slice(0, i + 1).join('/')} is a ${typeof parent}, so ${operation.path} cannot be reached` }
    }
  }
  const container = parent as Record<string, unknown> & unknown[]
  const exists = Array.isArray(container) ? /^\d+$/.test(last) && Number(last) < container.length : Object.hasOwn(container, last)
  switch (operation.op) {
    case 'add': {
      const target = container[last as never] as unknown
      if (Array.isArray(target)) target.push(operation.value)
      else container[last as never] = operation.value as never
      return null
    }
    case 'replace':
      container[last as never] = operation.value as never
      return exists ? null : { level: 'notice', message: `replace: nothing was at ${operation.path}; the value was set` }
    case 'remove':
      if (!exists) return { level: 'notice', message: `remove: nothing at ${operation.path}` }
      if (Array.isArray(container)) container.splice(Number(last), 1)
      else delete container[last as never]
      return null
    default:
      return null
  }
}

/**
 * Reads a hook's 2xx answer as Commerce would: a JSON operation or list of operations.
 *
 * @returns the operations, or why they cannot be used
 * @example
 * readOperations('[{"op":"success"}]') // [{ op: 'success' }]
 */
export function readOperations(text: string): ReceivedOperation[] | string {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return `the answer is not JSON: ${JSON.stringify(text.slice(0, 80))}`
  }
  const list = Array.isArray(parsed) ? parsed : [parsed]
  for (const [i, item] of list.entries()) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return `operation ${i} is not an object`
    const { op, path } = item as ReceivedOperation
    if (!['success', 'exception', 'add', 'replace', 'remove'].includes(op)) return `operation ${i} has an unknown op ${JSON.stringify(op)}`
    if (op === 'add' || op === 'replace' || op === 'remove') {
      if (typeof path !== 'string' || path === '' || path.split('/').includes('')) return `operation ${i} (${op}) has no usable path`
      if (op !== 'remove' && !('value' in item)) return `operation ${i} (${op}) has no value`
    }
  }
  return list as ReceivedOperation[]
}
