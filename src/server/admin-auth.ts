/**
 * @module
 * Guards `/admin`: `Authorization: Bearer $STOREHOOK_ADMIN_TOKEN`. With no token configured the
 * admin surface answers only on loopback, so a fresh local install works and an exposed one is
 * not open.
 */
import { timingSafeEqual } from 'node:crypto'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { MiddlewareHandler } from 'hono'
import { HttpError } from '../core/errors.ts'

export function adminAuth(token: string | undefined): MiddlewareHandler {
  const expected = token ? Buffer.from(token) : null
  return async (c, next) => {
    if (expected) {
      const given = Buffer.from(/^Bearer (.+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '')
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new HttpError(401, 'admin API: missing or wrong bearer token (Authorization: Bearer $STOREHOOK_ADMIN_TOKEN)')
      }
    } else if (!isLoopback(remoteAddress(c))) {
      throw new HttpError(403, 'admin API: STOREHOOK_ADMIN_TOKEN is not set, so the admin API answers only on loopback')
    }
    await next()
  }
}

/** The peer's address, or undefined when not served by @hono/node-server. */
export function remoteAddress(c: Parameters<MiddlewareHandler>[0]): string | undefined {
  try {
    return getConnInfo(c).remote.address
  } catch {
    return undefined // not served by @hono/node-server (app.request in tests): treat as not loopback
  }
}

export function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1'
}
