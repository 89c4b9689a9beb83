/**
 * @module
 * Guards `/admin`: `Authorization: Bearer $STOREHOOK_ADMIN_TOKEN`. With no token configured the
 * admin surface answers only on loopback, so a fresh local install works and an exposed one is
 * not open. Wrong tokens count against their address (see {@link TokenGuesses}).
 */
import { timingSafeEqual } from 'node:crypto'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { MiddlewareHandler } from 'hono'
import { HttpError } from '../core/errors.ts'
import { TokenGuesses } from './token-guesses.ts'

/**
 * @example
 * app.use('/admin/*', adminAuth(process.env.STOREHOOK_ADMIN_TOKEN))
 */
export function adminAuth(token: string | undefined, guesses = new TokenGuesses()): MiddlewareHandler {
  const expected = token ? Buffer.from(token) : null
  return async (c, next) => {
    if (expected) {
      const address = remoteAddress(c)
      const wait = guesses.refusedFor(address, Date.now())
      if (wait > 0) return tooManyGuesses(c, wait)
      const given = Buffer.from(/^Bearer (.+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '')
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        // No token at all is not a guess (a client that forgot its header).
        if (given.length > 0) guesses.failed(address, Date.now())
        throw new HttpError(401, 'admin API: missing or wrong bearer token (Authorization: Bearer $STOREHOOK_ADMIN_TOKEN)')
      }
    } else if (!isLoopback(remoteAddress(c))) {
      throw new HttpError(403, 'admin API: STOREHOOK_ADMIN_TOKEN is not set, so the admin API answers only on loopback')
    }
    await next()
  }
}

/** 429 with `Retry-After`, for an address that sent too many wrong admin tokens. */
function tooManyGuesses(c: Parameters<MiddlewareHandler>[0], waitMs: number): Response {
  const seconds = Math.ceil(waitMs / 1000)
  return c.json({ error: `too many wrong admin tokens from this address; try again in ${seconds} s` }, 429, { 'retry-after': String(seconds) })
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
