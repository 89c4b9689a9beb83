/**
 * @module
 * Inside an action thread: loads an App Builder action's module and finds its `main`, accepting
 * every shape I/O Runtime accepts from a Node.js action:
 * - CommonJS: `exports.main = …`, `module.exports = main`, `module.exports = { main }`;
 * - ES modules: `export function main`, `export default main`, `export default { main }`.
 *
 * The module is imported by its file URL, so bare imports and `require()` resolve from the
 * action's own directory upwards: an action finds its own `node_modules`, as in its deployed zip.
 * Node hands a CommonJS module's `module.exports` over as `default` (and its detectable
 * `exports.x` assignments as named exports), so one lookup order covers both systems.
 */
import { pathToFileURL } from 'node:url'

export type ActionMain = (params: Record<string, unknown>) => unknown

/** The action's module could not be loaded, or has no main: the action developer's fault. */
export class ActionLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ActionLoadError'
  }
}

/**
 * Imports `file` and returns its main function.
 *
 * @example
 * const main = await loadMain('/srv/app/actions/order-consumer/index.js')
 * await main({ data: { value: { entity_id: 1 } } })
 */
export async function loadMain(file: string): Promise<ActionMain> {
  let namespace: Record<string, unknown>
  try {
    namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (error) {
    throw new ActionLoadError(`${file}: the action failed to load: ${messageOf(error)}`, { cause: error })
  }
  return pickMain(namespace, file)
}

/** `main` export, else `default.main`, else `default` when it is a function. */
export function pickMain(namespace: Record<string, unknown>, file: string): ActionMain {
  if (typeof namespace.main === 'function') return namespace.main as ActionMain
  const fallback = namespace.default
  if (isObject(fallback) && typeof fallback.main === 'function') return (fallback.main as ActionMain).bind(fallback)
  if (typeof fallback === 'function') return fallback as ActionMain
  throw new ActionLoadError(
    `${file}: the action has no main function to run (expected \`exports.main = …\`, \`module.exports = main\`, ` +
      `\`export function main\` or \`export default main\`); found ${describeExports(namespace)}`,
  )
}

/** What the module does export, for the error message: `exports main (a string), default (an object with keys handler)`. */
function describeExports(namespace: Record<string, unknown>): string {
  // Node adds `module.exports` to a CommonJS module's namespace: the same value as `default`.
  const named = Object.keys(namespace).filter((key) => key !== 'default' && key !== 'module.exports')
  const parts = named.map((key) => `export "${key}" (${describeValue(namespace[key])})`)
  if ('default' in namespace) parts.push(`default export / module.exports (${describeValue(namespace.default)})`)
  return parts.length === 0 ? 'no exports at all' : parts.join(', ')
}

function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'function') return 'a function'
  if (typeof value !== 'object') return `a ${typeof value}`
  const keys = Object.keys(value)
  if (keys.length === 0) return 'an empty object'
  const shown = keys.slice(0, 10).join(', ') + (keys.length > 10 ? ', …' : '')
  return `an object with keys ${shown}`
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  if (isObject(error) && typeof error.message === 'string') return error.message
  try {
    return String(error)
  } catch {
    // An object without a prototype has no toString.
    return Object.prototype.toString.call(error)
  }
}
