/**
 * @module
 * Every route storehook serves, read from the hono app itself (`app.routes`), so a route added
 * later is checked by the security tests without anyone listing it, and a way to turn a route
 * pattern into a concrete path.
 */
import { createApp } from '../../src/server/app.ts'
import type { Runtime } from '../../src/runtime/runtime.ts'

export interface Route {
  method: string
  /** The pattern as registered, e.g. `/admin/api/runs/:id{[0-9]+}`. */
  path: string
}

/** The app's routes (middleware entries left out), each method and pattern once. */
export function routesOf(runtime: Runtime): Route[] {
  const seen = new Map<string, Route>()
  for (const { method, path } of createApp(runtime, { adminToken: 'unused' }).routes) {
    if (method === 'ALL') continue
    seen.set(`${method} ${path}`, { method, path })
  }
  return [...seen.values()]
}

/**
 * A concrete path for a pattern: each `:param` (with its `{regex}` if any) becomes `params[param]`,
 * or `1` for a numeric pattern, or `x`; a `*` becomes `x`.
 * @returns the path and whether every parameter was given a real value from `params`
 */
export function concretePath(pattern: string, params: Record<string, string> = {}): { path: string; known: boolean } {
  let known = true
  const path = pattern
    .replace(/:(\w+)(\{[^}]*\})?/g, (_, name: string, regex: string | undefined) => {
      if (params[name] !== undefined) return params[name]
      known = false
      return regex?.includes('0-9') ? '1' : 'x'
    })
    .replace(/\*/g, () => ((known = false), 'x'))
  return { path, known }
}
