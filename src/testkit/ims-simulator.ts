/**
 * @module
 * A stand-in for Adobe IMS's token endpoint, for OAuth server-to-server credentials: a real HTTP
 * server on 127.0.0.1 that answers `POST /ims/token/v3` the way the Developer Console's "OAuth
 * Server-to-Server credential API Reference" documents it: parameters form-encoded in the body or
 * the query, `grant_type=client_credentials`, `scope` a comma-separated list, the answer
 * `{access_token, token_type: 'bearer', expires_in}` with `expires_in` in seconds. Tokens look like
 * IMS's (a JWT whose claims carry the client id, scopes and times, though the signature is not
 * RSA), expire on the simulator's clock, and can be expired or revoked at will. A commerce
 * simulator given this one (`startCommerceSimulator({ ims })`) accepts its tokens on the SaaS form.
 *
 * UNVERIFIED, taken from RFC 6749 §5.2 rather than from a captured IMS answer: the status (400)
 * and wording of the error answers below.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** The scopes Adobe's ACCS server-to-server guide asks for. */
export const ACCS_SCOPES = ['openid', 'AdobeID', 'email', 'profile', 'additional_info.roles', 'additional_info.projectedProductContext', 'commerce.accs']

export interface ImsSimulatorOptions {
  port?: number
  /** The credential's values; random ones (in IMS's shapes) by default. */
  clientId?: string
  clientSecret?: string
  orgId?: string
  /** The scopes the credential may ask for; default {@link ACCS_SCOPES}. Asking for another is `invalid_scope`. */
  scopes?: string[]
  /** `expires_in` of each new token, in seconds. Default 86399, as the docs' sample answer. */
  expiresIn?: number
  /** The clock tokens expire on, in ms; default `Date.now`. */
  now?: () => number
}

/**
 * A scripted answer from the token endpoint: a status, a status with a body and `Retry-After`
 * (given before any check), or the normal answer given late.
 */
export type ImsAnswer = number | { status: number; body?: unknown; retryAfter?: number | string; delayMs?: number } | { delayMs: number }

/** One token request as received. The client secret is not kept: only whether it matched. */
export interface ImsTokenRequest {
  method: string
  path: string
  contentType: string | undefined
  /** Where the parameters came: the body (recommended), the query (allowed, but logged by servers), or both. */
  parametersIn: 'body' | 'query' | 'both' | 'none'
  grantType: string | null
  clientId: string | null
  /** `scope` split on commas, as IMS reads it. */
  scopes: string[] | null
  secretMatched: boolean
  status: number
  /** The `error` code of a refused request. */
  error?: string
  at: number
}

/** What the token says, for a resource server (the commerce simulator) to decide. */
export type ImsTokenCheck =
  | { valid: true; clientId: string; orgId: string; scopes: string[] }
  | { valid: false; reason: 'expired' | 'revoked' | 'unknown' }

export interface ImsSimulator {
  /** e.g. `http://127.0.0.1:41234`. */
  url: string
  /** `${url}/ims/token/v3`: the `ims.tokenUrl` of a connection under test. */
  tokenUrl: string
  credentials: { clientId: string; clientSecret: string; orgId: string; scopes: string[] }
  /** `expires_in` of tokens issued from now on, in seconds. */
  expiresIn: number
  /** Every token request received, in order; `.length` is how many tokens were asked for. */
  tokenRequests: ImsTokenRequest[]
  /** The next answers of the token endpoint, in order; then normal. */
  respondWith(...answers: ImsAnswer[]): void
  /** Every token issued so far is expired from now (as if their `expires_in` had run out). */
  expireTokens(): void
  /** Every token issued so far is revoked (as when the credential's secret is rotated). */
  revokeTokens(): void
  /** What a resource server learns about a bearer token. */
  validate(token: string): ImsTokenCheck
  close(): Promise<void>
}

interface IssuedToken {
  clientId: string
  scopes: string[]
  expiresAt: number
  revoked: boolean
}

/**
 * Starts an IMS token endpoint with one OAuth server-to-server credential.
 *
 * @example
 * const ims = await startImsSimulator({ expiresIn: 3600 })
 * const commerce = await startCommerceSimulator({ ims })
 * const connection = {
 *   kind: 'adobe-commerce',
 *   baseUrl: `${commerce.url}/tenant123/V1/`, // the SaaS form
 *   ims: { ...ims.credentials, tokenUrl: ims.tokenUrl },
 * }
 * // … run an action that calls commerce.getOrder(42) fifty times at once …
 * ims.tokenRequests.length // 1
 * ims.expireTokens() // the next call gets 401, fetches a new token, and succeeds
 */
export async function startImsSimulator(options: ImsSimulatorOptions = {}): Promise<ImsSimulator> {
  const now = options.now ?? Date.now
  const credentials = {
    clientId: options.clientId ?? randomBytes(16).toString('hex'),
    clientSecret: options.clientSecret ?? `p8e-${randomBytes(24).toString('base64url')}`,
    orgId: options.orgId ?? `${randomBytes(12).toString('hex').toUpperCase()}@AdobeOrg`,
    scopes: options.scopes ?? ACCS_SCOPES,
  }
  const signingKey = randomBytes(32)
  const issued = new Map<string, IssuedToken>()
  const tokenRequests: ImsTokenRequest[] = []
  const script: Exclude<ImsAnswer, number>[] = []
  const timers = new Set<NodeJS.Timeout>()

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const [path = '/', query = ''] = (req.url ?? '/').split(/\?(.*)/s)
      const contentType = req.headers['content-type']
      const form = /^application\/x-www-form-urlencoded\b/i.test(contentType ?? '') ? Buffer.concat(chunks).toString('utf8') : ''
      // IMS takes its parameters from the body or the query string; the body wins where both have one.
      const params = new URLSearchParams(query)
      for (const [key, value] of new URLSearchParams(form)) params.set(key, value)
      const scope = params.get('scope')
      const record: ImsTokenRequest = {
        method: req.method ?? 'GET',
        path,
        contentType,
        parametersIn: form !== '' ? (query !== '' ? 'both' : 'body') : query !== '' ? 'query' : 'none',
        grantType: params.get('grant_type'),
        clientId: params.get('client_id'),
        scopes: scope === null ? null : scope.split(','),
        secretMatched: params.get('client_secret') === credentials.clientSecret,
        status: 0,
        at: Date.now(),
      }
      const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
        record.status = status
        const error = (body as { error?: unknown } | null)?.error
        if (typeof error === 'string') record.error = error
        if (res.destroyed) return
        res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'cache-control': 'no-store', ...headers })
        res.end(JSON.stringify(body))
      }
      if (path !== '/ims/token/v3') return send(404, { error: 'not_found', error_description: `no endpoint at ${path}` })
      tokenRequests.push(record)

      const answer = script.shift()
      const reply = (): void => {
        if (answer && 'status' in answer) {
          const headers: Record<string, string> = answer.retryAfter === undefined ? {} : { 'retry-after': String(answer.retryAfter) }
          return send(answer.status, answer.body ?? { error: answer.status >= 500 ? 'server_error' : 'temporarily_unavailable' }, headers)
        }
        issue(record, send)
      }
      if (!answer?.delayMs) return reply()
      const timer = setTimeout(() => {
        timers.delete(timer)
        reply()
      }, answer.delayMs)
      timers.add(timer)
    })
  })

  function issue(record: ImsTokenRequest, send: (status: number, body: unknown) => void): void {
    const refuse = (error: string, description: string): void => send(400, { error, error_description: description })
    if (record.method !== 'POST') return send(405, { error: 'method_not_allowed', error_description: 'use POST' })
    if (record.grantType === null || record.clientId === null) return refuse('invalid_request', 'missing grant_type or client_id parameter')
    if (record.grantType !== 'client_credentials') return refuse('unsupported_grant_type', `unsupported grant_type ${record.grantType}`)
    if (record.clientId !== credentials.clientId) return refuse('invalid_client', 'invalid client_id parameter')
    if (!record.secretMatched) return refuse('invalid_client', 'invalid client_secret parameter')
    // A space-separated list (RFC 6749's form) is one unknown scope to IMS: it splits on commas only.
    const scopes = record.scopes ?? []
    if (scopes.length === 0 || scopes.some((s) => !credentials.scopes.includes(s))) return refuse('invalid_scope', 'invalid scope')

    const expiresIn = simulator.expiresIn
    const createdAt = now()
    const token = jwt(signingKey, {
      id: randomUUID(),
      type: 'access_token',
      client_id: credentials.clientId,
      user_id: `${randomBytes(12).toString('hex').toUpperCase()}@techacct.adobe.com`,
      as: 'ims-na1',
      org: credentials.orgId,
      scope: scopes.join(','),
      created_at: String(createdAt),
      expires_in: String(expiresIn * 1000), // the claim is in ms, the answer's field in seconds
    })
    issued.set(token, { clientId: credentials.clientId, scopes, expiresAt: createdAt + expiresIn * 1000, revoked: false })
    return send(200, { access_token: token, token_type: 'bearer', expires_in: expiresIn })
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const simulator: ImsSimulator = {
    url,
    tokenUrl: `${url}/ims/token/v3`,
    credentials,
    expiresIn: options.expiresIn ?? 86_399,
    tokenRequests,
    respondWith(...answers) {
      script.push(...answers.map((answer) => (typeof answer === 'number' ? { status: answer } : answer)))
    },
    expireTokens() {
      const at = now()
      for (const token of issued.values()) token.expiresAt = Math.min(token.expiresAt, at)
    },
    revokeTokens() {
      for (const token of issued.values()) token.revoked = true
    },
    validate(token) {
      const found = issued.get(token)
      if (!found) return { valid: false, reason: 'unknown' }
      if (found.revoked) return { valid: false, reason: 'revoked' }
      if (now() >= found.expiresAt) return { valid: false, reason: 'expired' }
      return { valid: true, clientId: found.clientId, orgId: credentials.orgId, scopes: found.scopes }
    },
    close() {
      for (const timer of timers) clearTimeout(timer)
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
  return simulator
}

/** A JWT in IMS's shape (`RS256` header with its key id); signed with HMAC here, which no client checks. */
function jwt(key: Buffer, claims: Record<string, unknown>): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${encode({ alg: 'RS256', x5u: 'ims_na1-key-at-1.cer', kid: 'ims_na1-key-at-1', itt: 'at' })}.${encode(claims)}`
  return `${unsigned}.${createHmac('sha256', key).update(unsigned).digest('base64url')}`
}
