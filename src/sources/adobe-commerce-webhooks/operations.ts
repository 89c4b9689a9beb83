/**
 * @module
 * The answer of an Adobe Commerce webhook: a list of operations (shared/reference/adobe-commerce.md
 * §2.3, `AdobeDocs/commerce-extensibility` `webhooks/responses.md`) that Commerce executes one after
 * another on the arguments of the webhook method: `success` (go on unchanged), `exception` (abort the
 * shopper's flow with a message), `add`, `replace` and `remove` at a `/`-separated path such as
 * `result` or `result/shipping_methods/flatrate/amount`.
 *
 * The builders return exactly what `@adobe/aio-commerce-sdk`'s presets return
 * (`aio-commerce-lib-webhooks` `responses/operations/presets.ts`), so handlers ported from App
 * Builder keep their shapes. Note the exception's class field is `class`, as Commerce reads it and
 * the SDK writes it (the research notes called it `type`; the SDK and the docs say `class`).
 *
 * {@link checkOperations} is what stands between a handler and Commerce: Commerce has no way to say
 * "your answer was malformed" other than failing the shopper's flow, so a wrong op, path or field
 * is caught here, logged and recorded, and the failure policy answers instead.
 */
import type { AnswerCheck } from '../external.ts'

export interface SuccessOperation {
  op: 'success'
}

export interface ExceptionOperation {
  op: 'exception'
  /** Shown to the shopper; without it Commerce shows the hook's `fallbackErrorMessage`, then its own. */
  message?: string
  /** The PHP exception class; default `\Magento\Framework\Exception\LocalizedException`. */
  class?: string
}

export interface AddOperation<Value = unknown> {
  op: 'add'
  path: string
  value: Value
  /** A DataObject class Commerce builds from `value` (e.g. `Magento\Quote\Api\Data\ShippingMethodInterface`). */
  instance?: string
}

export interface ReplaceOperation<Value = unknown> {
  op: 'replace'
  path: string
  value: Value
  instance?: string
}

export interface RemoveOperation {
  op: 'remove'
  path: string
}

export type WebhookOperation = SuccessOperation | ExceptionOperation | AddOperation | ReplaceOperation | RemoveOperation

export const OPERATION_NAMES = ['success', 'exception', 'add', 'replace', 'remove'] as const

/**
 * The process goes on unchanged.
 *
 * @example
 * return adobeCommerce.success() // { op: 'success' }
 */
export function success(): SuccessOperation {
  return { op: 'success' }
}

/**
 * Aborts the shopper's flow. An empty message is left out (as the SDK does), so Commerce shows the
 * hook's `fallbackErrorMessage`.
 *
 * @example
 * return adobeCommerce.exception('The product is out of stock') // { op: 'exception', message: '…' }
 */
export function exception(message?: string, exceptionClass?: string): ExceptionOperation {
  return { op: 'exception', ...(message ? { message } : {}), ...(exceptionClass ? { class: exceptionClass } : {}) }
}

/**
 * Adds `value` at `path`: appended when `path` holds a list (a new shipping rate in `result`).
 *
 * @example
 * adobeCommerce.add('result', { carrier_code: 'DPS', method: 'dps_one', method_title: 'DPS', price: 17, cost: 17 })
 */
export function add<Value>(path: string, value: Value, instance?: string): AddOperation<Value> {
  return { op: 'add', path, value, ...(instance ? { instance } : {}) }
}

/**
 * Replaces the value at `path`.
 *
 * @example
 * adobeCommerce.replace('result/shipping_methods/shipping_method_one/amount', 6)
 */
export function replace<Value>(path: string, value: Value, instance?: string): ReplaceOperation<Value> {
  return { op: 'replace', path, value, ...(instance ? { instance } : {}) }
}

/**
 * Removes the value or node at `path`.
 *
 * @example
 * adobeCommerce.remove('result/key2')
 */
export function remove(path: string): RemoveOperation {
  return { op: 'remove', path }
}

const FIELDS: Record<WebhookOperation['op'], readonly string[]> = {
  success: [],
  exception: ['message', 'class'],
  add: ['path', 'value', 'instance'],
  replace: ['path', 'value', 'instance'],
  remove: ['path'],
}

/**
 * Checks a handler's answer — one operation or a list — and returns it as the list sent to
 * Commerce. Never throws.
 *
 * @example
 * checkOperations(adobeCommerce.add('result', { method: 'dps_one' })) // { ok: true, answer: [{ op: 'add', … }] }
 * checkOperations({ op: 'add', path: 'result.price', value: 1 }) // { ok: false, problem: '[0].path: … use "/" …' }
 */
export function checkOperations(answer: unknown): AnswerCheck<WebhookOperation[]> {
  if (answer === undefined || answer === null) {
    return { ok: false, problem: `returned ${answer === null ? 'null' : 'nothing'}; return adobeCommerce.success() to let the flow go on unchanged` }
  }
  if (typeof answer === 'object' && !Array.isArray(answer) && !('op' in answer) && ('statusCode' in answer || 'body' in answer)) {
    return { ok: false, problem: 'returned an HTTP response ({ statusCode, body }); return the operations themselves, storehook sends them with status 200' }
  }
  const list = Array.isArray(answer) ? answer : [answer]
  const operations: WebhookOperation[] = []
  for (const [index, item] of list.entries()) {
    const checked = checkOperation(item)
    if (typeof checked === 'string') return { ok: false, problem: `[${index}]${checked.startsWith('.') ? '' : ': '}${checked}` }
    operations.push(checked)
  }
  return { ok: true, answer: operations }
}

/** The operation with undefined members left out, or what is wrong with it (`.field: …` or a sentence). */
function checkOperation(item: unknown): WebhookOperation | string {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return `expected an operation object such as { "op": "success" }, got ${describe(item)}`
  const fields = Object.fromEntries(Object.entries(item).filter(([, value]) => value !== undefined)) as Record<string, unknown>
  const op = fields.op
  if (typeof op !== 'string' || !(OPERATION_NAMES as readonly string[]).includes(op)) {
    return `.op: expected one of ${OPERATION_NAMES.join(', ')}, got ${describe(op)}`
  }
  const allowed = FIELDS[op as WebhookOperation['op']]
  for (const name of Object.keys(fields)) {
    if (name === 'op' || allowed.includes(name)) continue
    const hint = op === 'exception' && name === 'type' ? '; Commerce reads the exception class from "class"' : ''
    return `.${name}: a "${op}" operation has no such field (it has ${allowed.length ? allowed.join(', ') : 'only op'})${hint}`
  }
  if (op === 'exception') {
    if (fields.message !== undefined && typeof fields.message !== 'string') return `.message: expected a string, got ${describe(fields.message)}`
    if (fields.class !== undefined && (typeof fields.class !== 'string' || fields.class === '')) return `.class: expected a PHP class name, got ${describe(fields.class)}`
  }
  if (op === 'add' || op === 'replace' || op === 'remove') {
    const problem = pathProblem(fields.path)
    if (problem) return `.path: ${problem}`
  }
  if (op === 'add' || op === 'replace') {
    if (!('value' in fields)) return `.value: required for "${op}"`
    if (fields.instance !== undefined && (typeof fields.instance !== 'string' || fields.instance === '')) {
      return `.instance: expected a DataObject class name, got ${describe(fields.instance)}`
    }
  }
  return fields as unknown as WebhookOperation
}

function pathProblem(path: unknown): string | null {
  if (typeof path !== 'string' || path === '') return `expected a path such as "result" or "result/key", got ${describe(path)}`
  if (path.split('/').some((part) => part.trim() === '')) return `"${path}" has an empty part; paths are keys separated by "/", without a leading or trailing "/"`
  if (path.includes('.')) return `"${path}": Commerce paths use "/" between keys, not "." (e.g. "result/shipping_methods")`
  return null
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`
  return typeof value
}
