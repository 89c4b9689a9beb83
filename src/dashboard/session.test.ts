import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readSessionCookie, SESSION_IDLE_MS, SESSION_MAX_MS, sessionCookie, SessionKeys, tokenMatches } from './session.ts'

const T0 = Date.UTC(2025, 0, 31, 9)

describe('SessionKeys', () => {
  it('verifies the sessions it issued, and the cookie does not carry the admin token', () => {
    const keys = new SessionKeys('admin-token-123')
    const { session, cookie } = keys.issue(T0)
    assert.deepEqual(keys.verify(cookie, T0 + 1000), session)
    assert.doesNotMatch(cookie, /admin-token-123/)
    assert.equal(session.id.length, 22)
  })

  it('every process with the same admin token accepts the session; another token does not', () => {
    const { cookie } = new SessionKeys('admin-token-123').issue(T0)
    assert.ok(new SessionKeys('admin-token-123').verify(cookie, T0))
    assert.equal(new SessionKeys('another-token').verify(cookie, T0), null)
    assert.equal(new SessionKeys(undefined).verify(cookie, T0), null, 'without a token the key is random')
  })

  it('refuses a forged, altered or malformed cookie', () => {
    const keys = new SessionKeys('admin-token-123')
    const { cookie } = keys.issue(T0)
    const [id, issued, seen, mac] = cookie.split('.') as [string, string, string, string]
    const later = (T0 + 10 * SESSION_IDLE_MS).toString(36)
    for (const bad of [
      `${id}.${issued}.${later}.${mac}`, // pushing last-seen forward
      `${'A'.repeat(22)}.${issued}.${seen}.${mac}`,
      `${id}.${issued}.${seen}.${mac.slice(0, -2)}xx`,
      `${id}.${issued}.${seen}`,
      '',
      undefined,
      'garbage',
    ]) {
      assert.equal(keys.verify(bad, T0), null, String(bad))
    }
  })

  it('ends a session unused for 12 hours, and any session a week after login however busy', () => {
    const keys = new SessionKeys('admin-token-123')
    const { session, cookie } = keys.issue(T0)
    assert.ok(keys.verify(cookie, T0 + SESSION_IDLE_MS - 1))
    assert.equal(keys.verify(cookie, T0 + SESSION_IDLE_MS + 1), null)

    // Renewed every few hours, it lives on until the maximum age.
    let current = { session, cookie }
    for (let at = T0 + 6 * 3_600_000; at < T0 + SESSION_MAX_MS; at += 6 * 3_600_000) {
      const verified = keys.verify(current.cookie, at)
      assert.ok(verified, `still valid ${(at - T0) / 3_600_000} h after login`)
      current = { session: verified, cookie: keys.renew(verified, at)! }
    }
    assert.equal(keys.verify(current.cookie, T0 + SESSION_MAX_MS + 1), null)
  })

  it('renews the last-seen time at most once a minute', () => {
    const keys = new SessionKeys('admin-token-123')
    const { session } = keys.issue(T0)
    assert.equal(keys.renew(session, T0 + 30_000), null)
    const renewed = keys.renew(session, T0 + 61_000)!
    assert.equal(keys.verify(renewed, T0 + 61_000)!.seenAt, T0 + 61_000)
  })

  it('a logged-out session is refused', () => {
    const keys = new SessionKeys('admin-token-123')
    const { session, cookie } = keys.issue(Date.now())
    keys.end(session)
    assert.equal(keys.verify(cookie, Date.now()), null)
  })

  it('the CSRF token belongs to one session', () => {
    const keys = new SessionKeys('admin-token-123')
    const a = keys.issue(T0).session
    const b = keys.issue(T0).session
    assert.ok(keys.csrfMatches(a, keys.csrfToken(a)))
    assert.equal(keys.csrfMatches(a, keys.csrfToken(b)), false)
    assert.equal(keys.csrfMatches(a, undefined), false)
    assert.equal(keys.csrfMatches(a, ''), false)
    assert.equal(keys.csrfMatches(a, keys.csrfToken(a).slice(1)), false)
  })
})

describe('tokenMatches', () => {
  it('compares whole tokens', () => {
    assert.equal(tokenMatches('s3cret', 's3cret'), true)
    assert.equal(tokenMatches('s3cre', 's3cret'), false)
    assert.equal(tokenMatches('s3cret!', 's3cret'), false)
    assert.equal(tokenMatches('', 's3cret'), false)
  })
})

describe('the session cookie', () => {
  it('is HttpOnly, SameSite=Strict, Path=/admin, and Secure only over https', () => {
    assert.equal(sessionCookie('v', { secure: false }), 'storehook_session=v; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=43200')
    assert.equal(sessionCookie('v', { secure: true }), 'storehook_session=v; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=43200; Secure')
    assert.match(sessionCookie(null, { secure: false }), /^storehook_session=; .*Max-Age=0$/)
  })

  it('is read from a Cookie header among others', () => {
    assert.equal(readSessionCookie('a=1; storehook_session=abc.def; b=2'), 'abc.def')
    assert.equal(readSessionCookie('storehook_sessionx=1'), undefined)
    assert.equal(readSessionCookie(undefined), undefined)
  })
})
