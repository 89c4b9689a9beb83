/**
 * @module
 * Dashboard sessions, kept in the cookie rather than in a process: every process sharing the admin
 * token (several behind a load balancer on PostgreSQL) accepts a session any of them issued, and a
 * restart logs nobody out. The cookie holds a random session id, when it was issued and last seen,
 * and an HMAC over those under a key derived from `STOREHOOK_ADMIN_TOKEN` — never the token itself.
 * Changing the token ends every session. Without a token the key is random per process.
 *
 * The CSRF token is an HMAC of the session id under the same key: a synchronizer token tied to the
 * session that no page of another site can read (the cookie is HttpOnly, SameSite=Strict) or compute.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

export const SESSION_COOKIE = 'storehook_session'
/** A session unused this long has ended. */
export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000
/** A session ends this long after login however busy it is: a stolen cookie does not live forever. */
export const SESSION_MAX_MS = 7 * 24 * 60 * 60 * 1000
/** The last-seen time in the cookie is renewed at most this often, not on every request. */
const RENEW_AFTER_MS = 60 * 1000

export interface Session {
  /** Random, 128 bits, base64url. */
  id: string
  /** Epoch ms of the login. */
  issuedAt: number
  /** Epoch ms of the last renewal of the cookie. */
  seenAt: number
}

/**
 * Compares a token typed at the login with the configured one in constant time, whatever their
 * lengths (both are hashed first, so neither length nor content leaks through timing).
 *
 * @example
 * tokenMatches(form.token, process.env.STOREHOOK_ADMIN_TOKEN!) // true or false
 */
export function tokenMatches(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(given), digest(expected))
}

/**
 * Issues, checks, renews and ends sessions, and computes their CSRF tokens.
 *
 * @example
 * const sessions = new SessionKeys(process.env.STOREHOOK_ADMIN_TOKEN)
 * const { cookie } = sessions.issue(Date.now())
 * const session = sessions.verify(cookie, Date.now()) // { id, issuedAt, seenAt }
 * sessions.csrfMatches(session!, sessions.csrfToken(session!)) // true
 */
export class SessionKeys {
  readonly #key: Buffer
  /** Ids of sessions logged out in this process, until they would have expired anyway. */
  readonly #ended = new Map<string, number>()

  /** @param adminToken `STOREHOOK_ADMIN_TOKEN`, or undefined for a key of this process alone */
  constructor(adminToken: string | undefined) {
    this.#key = adminToken
      ? createHmac('sha256', adminToken).update('storehook dashboard session v1').digest()
      : randomBytes(32)
  }

  /** A new session and the cookie value that carries it. */
  issue(now: number): { session: Session; cookie: string } {
    const session = { id: randomBytes(16).toString('base64url'), issuedAt: now, seenAt: now }
    return { session, cookie: this.#encode(session) }
  }

  /** The session a cookie value carries, or null when it is forged, expired, ended or malformed. */
  verify(cookie: string | undefined, now: number): Session | null {
    const parts = cookie?.split('.')
    if (parts?.length !== 4) return null
    const [id, issued, seen, mac] = parts as [string, string, string, string]
    const issuedAt = parseInt(issued, 36)
    const seenAt = parseInt(seen, 36)
    if (!/^[\w-]{22}$/.test(id) || !Number.isSafeInteger(issuedAt) || !Number.isSafeInteger(seenAt)) return null
    const expected = Buffer.from(this.#mac(`${id}.${issued}.${seen}`))
    const given = Buffer.from(mac)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
    if (now - seenAt > SESSION_IDLE_MS || now - issuedAt > SESSION_MAX_MS || seenAt > now + RENEW_AFTER_MS) return null
    if (this.#ended.has(id)) return null
    return { id, issuedAt, seenAt }
  }

  /** A renewed cookie value when the session's last-seen time is due for renewal, else null. */
  renew(session: Session, now: number): string | null {
    return now - session.seenAt >= RENEW_AFTER_MS ? this.#encode({ ...session, seenAt: now }) : null
  }

  /**
   * Ends a session in this process. Another process would still accept its cookie until it
   * expires, but logout also clears the cookie in the browser, which is the only holder of it.
   */
  end(session: Session): void {
    const now = Date.now()
    for (const [id, until] of this.#ended) if (until < now) this.#ended.delete(id)
    this.#ended.set(session.id, session.issuedAt + SESSION_MAX_MS)
  }

  csrfToken(session: Session): string {
    return this.#mac(`csrf.${session.id}`)
  }

  csrfMatches(session: Session, given: string | undefined): boolean {
    if (!given) return false
    const expected = Buffer.from(this.csrfToken(session))
    const actual = Buffer.from(given)
    return actual.length === expected.length && timingSafeEqual(actual, expected)
  }

  #encode(session: Session): string {
    const body = `${session.id}.${session.issuedAt.toString(36)}.${session.seenAt.toString(36)}`
    return `${body}.${this.#mac(body)}`
  }

  #mac(text: string): string {
    return createHmac('sha256', this.#key).update(text).digest('base64url')
  }
}

/**
 * The `Set-Cookie` value for a session (or, with `cookie: null`, one that deletes it): HttpOnly so
 * no script reads it, SameSite=Strict so no other site's page sends it, Path=/admin so it goes
 * nowhere else, Secure when the dashboard is reached over https.
 *
 * @example
 * c.header('set-cookie', sessionCookie(cookie, { secure: false })) // 'storehook_session=…; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=43200'
 */
export function sessionCookie(cookie: string | null, options: { secure: boolean }): string {
  const maxAge = cookie === null ? 0 : Math.floor(SESSION_IDLE_MS / 1000)
  return `${SESSION_COOKIE}=${cookie ?? ''}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${options.secure ? '; Secure' : ''}`
}

/** The session cookie's value in a `Cookie` request header, if any. */
export function readSessionCookie(header: string | undefined): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=')
    if (at > 0 && pair.slice(0, at).trim() === SESSION_COOKIE) return pair.slice(at + 1).trim()
  }
  return undefined
}
