/**
 * @module
 * The simulator's `POST /oauth/token` for an integration application's client credentials
 * (reference/commerce-layer.md §6): parameters in a JSON body (as documented) or a form body
 * (RFC 6749), answered with `{access_token, token_type: 'bearer', expires_in, scope, created_at}`.
 * Tokens are JWTs carrying the organization, the application kind and the scope, expire on the
 * simulator's clock, and can be expired or revoked at will.
 *
 * UNVERIFIED, from RFC 6749 §5.2 (Commerce Layer's auth is a Rails OAuth server) rather than a
 * captured answer: the error bodies `{error, error_description}` and their statuses.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto'

/** One token request as received. The client secret is not kept: only whether it matched. */
export interface TokenRequest {
  contentType: string | undefined
  grantType: string | null
  clientId: string | null
  scope: string | null
  secretMatched: boolean
  status: number
  /** The `error` code of a refused request. */
  error?: string
  at: number
}

export type TokenCheck = { valid: true; scope: string } | { valid: false; reason: 'expired' | 'revoked' | 'unknown' }

interface Issued {
  scope: string
  expiresAt: number
  revoked: boolean
}

/** A scope names a market, store or stock location by id or code: `market:id:xYZkjABcde`, `market:code:europe`. */
const SCOPE = /^(market|store|stock_location):(id|code):\S+$/

export class TokenIssuer {
  readonly #key = randomBytes(32)
  readonly #issued = new Map<string, Issued>()
  readonly #credentials: { clientId: string; clientSecret: string }
  readonly #organization: { id: string; slug: string; mode: 'test' | 'live' }
  readonly #now: () => number
  /** `expires_in` of tokens issued from now on, in seconds. */
  expiresIn: number

  constructor(options: { credentials: { clientId: string; clientSecret: string }; organization: { id: string; slug: string; mode: 'test' | 'live' }; expiresIn: number; now: () => number }) {
    this.#credentials = options.credentials
    this.#organization = options.organization
    this.expiresIn = options.expiresIn
    this.#now = options.now
  }

  /**
   * Answers one token request: `[status, body]`, filling in `record`.
   *
   * @example
   * const [status, body] = issuer.answer(JSON.stringify({ grant_type: 'client_credentials', client_id, client_secret }), 'application/json', record)
   */
  answer(raw: string, contentType: string | undefined, record: TokenRequest): [number, unknown] {
    const params = parseParameters(raw, contentType)
    Object.assign(record, {
      grantType: params.get('grant_type'),
      clientId: params.get('client_id'),
      scope: params.get('scope'),
      secretMatched: params.get('client_secret') === this.#credentials.clientSecret,
    })
    const refuse = (status: number, error: string, description: string): [number, unknown] => {
      record.error = error
      return [status, { error, error_description: description }]
    }
    if (record.grantType === null) return refuse(400, 'invalid_request', 'The request is missing a required parameter: grant_type.')
    if (record.grantType !== 'client_credentials') return refuse(400, 'unsupported_grant_type', 'The authorization grant type is not supported by the authorization server.')
    if (record.clientId !== this.#credentials.clientId || !record.secretMatched) {
      return refuse(401, 'invalid_client', 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.')
    }
    const scopes = (record.scope ?? '').split(' ').filter((scope) => scope !== '')
    if (scopes.some((scope) => !SCOPE.test(scope))) return refuse(400, 'invalid_scope', 'The requested scope is invalid, unknown, or malformed.')
    // UNVERIFIED: what an integration token's scope says when none was asked for.
    const scope = scopes.length > 0 ? scopes.join(' ') : 'market:all'
    const createdAt = Math.floor(this.#now() / 1000)
    const expiresIn = this.expiresIn
    const token = this.#jwt({
      organization: { id: this.#organization.id, slug: this.#organization.slug, enterprise: false },
      application: { id: randomBytes(5).toString('hex'), kind: 'integration', public: false },
      scope,
      test: this.#organization.mode === 'test',
      exp: createdAt + expiresIn,
      rand: randomUUID(),
    })
    this.#issued.set(token, { scope, expiresAt: this.#now() + expiresIn * 1000, revoked: false })
    return [200, { access_token: token, token_type: 'bearer', expires_in: expiresIn, scope, created_at: createdAt }]
  }

  /** What the API learns about a bearer token. */
  check(token: string): TokenCheck {
    const found = this.#issued.get(token)
    if (!found) return { valid: false, reason: 'unknown' }
    if (found.revoked) return { valid: false, reason: 'revoked' }
    if (this.#now() >= found.expiresAt) return { valid: false, reason: 'expired' }
    return { valid: true, scope: found.scope }
  }

  /** Every token issued so far is expired from now. */
  expireAll(): void {
    const now = this.#now()
    for (const token of this.#issued.values()) token.expiresAt = Math.min(token.expiresAt, now)
  }

  /** Every token issued so far is revoked. */
  revokeAll(): void {
    for (const token of this.#issued.values()) token.revoked = true
  }

  /** Every token issued so far, oldest first (for tests that check no token leaks). */
  tokens(): string[] {
    return [...this.#issued.keys()]
  }

  #jwt(claims: Record<string, unknown>): string {
    const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
    const unsigned = `${encode({ alg: 'HS512', typ: 'JWT' })}.${encode(claims)}`
    return `${unsigned}.${createHmac('sha512', this.#key).update(unsigned).digest('base64url')}`
  }
}

function parseParameters(raw: string, contentType: string | undefined): URLSearchParams {
  if (/^application\/x-www-form-urlencoded\b/i.test(contentType ?? '')) return new URLSearchParams(raw)
  const params = new URLSearchParams()
  try {
    const body = JSON.parse(raw) as Record<string, unknown>
    for (const [key, value] of Object.entries(body ?? {})) if (typeof value === 'string') params.set(key, value)
  } catch {
    // not JSON: no parameters, so the request is refused as missing grant_type
  }
  return params
}
