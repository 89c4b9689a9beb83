/**
 * Signature and token comparisons are constant-time. Timing cannot be measured reliably on a
 * shared CI machine, so this is checked where it is decided, in the source: each verifier uses
 * `crypto.timingSafeEqual` (or `crypto.verify` for RSA), and no file under src/ compares a
 * signature, digest, token or secret with `===`/`!==` (lengths aside, which are public). Then,
 * behaviourally, a signature differing from the genuine one only in its last byte is refused by
 * every verifier.
 */
import assert from 'node:assert/strict'
import { createHmac, generateKeyPairSync, sign } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { after, describe, it } from 'node:test'
import { VerificationError } from '../../src/core/errors.ts'
import { adminAuth } from '../../src/server/admin-auth.ts'
import { adobeIoEvents } from '../../src/sources/adobe-io-events/index.ts'
import { signCommerceLayer, verifyCommerceLayerSignature } from '../../src/sources/commerce-layer/signature.ts'
import { signStandardWebhook, verifyStandardWebhook } from '../../src/sources/standard-webhooks/index.ts'
import { startIoEventsSimulator } from '../../src/testkit/io-events-simulator.ts'
import { Hono } from 'hono'
import { REPO_ROOT } from '../helpers.ts'

const SRC = join(REPO_ROOT, 'src')
const VERIFIERS: [file: string, uses: RegExp][] = [
  ['sources/standard-webhooks/index.ts', /\btimingSafeEqual\(/],
  ['sources/commerce-layer/signature.ts', /\btimingSafeEqual\(/],
  ['sources/adobe-io-events/index.ts', /\btimingSafeEqual\(/],
  ['sources/adobe-io-events/index.ts', /\bverify\('sha256'/],
  ['server/admin-auth.ts', /\btimingSafeEqual\(/],
]

/** Names whose values are secret or secret-derived: comparing them with === leaks timing. */
const SECRETISH = /signature|expected|offered|candidate|digest|hmac|^mac$|token|secret|given|password|presented|credential/i
const OPERAND = String.raw`[A-Za-z_$][\w$]*(?:\.#?[A-Za-z_$][\w$]*|\[[^\]]*\])*`
const COMPARISON = new RegExp(`(?<![\\w.$])(${OPERAND})\\s*(===|!==|==|!=)\\s*(${OPERAND})(?![\\w$(.\\[])`, 'g')
const CONSTANTS = new Set(['undefined', 'null', 'true', 'false', 'NaN', 'Infinity'])

/** Comparisons in `text` of two non-constant operands, one of them secret-ish, neither a length. */
function plainSecretComparisons(text: string): string[] {
  const found: string[] = []
  text.split('\n').forEach((line, i) => {
    for (const match of line.matchAll(COMPARISON)) {
      const [, left, , right] = match as unknown as [string, string, string, string]
      if (CONSTANTS.has(left) || CONSTANTS.has(right)) continue
      if (/\.(length|size|byteLength)$/.test(left) || /\.(length|size|byteLength)$/.test(right)) continue
      if (/typeof\s*$/.test(line.slice(0, match.index))) continue
      const name = (operand: string) => operand.split(/[.[]/).at(-1) ?? operand
      if (SECRETISH.test(name(left)) || SECRETISH.test(name(right))) found.push(`${i + 1}: ${line.trim()}`)
    }
  })
  return found
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'testkit' ? [] : sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : []
  })
}

/** The genuine value with its last character replaced (one byte different). */
const lastCharChanged = (value: string) => value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A')

describe('constant-time comparisons', () => {
  it('each verifier uses timingSafeEqual (HMACs, tokens) or crypto.verify (RSA)', () => {
    for (const [file, uses] of VERIFIERS) assert.match(readFileSync(join(SRC, file), 'utf8'), uses, `src/${file}`)
  })

  it('the scan below finds a plain comparison of a signature and misses lengths and constants', () => {
    assert.equal(plainSecretComparisons('if (signature === expected) ok()').length, 1)
    assert.equal(plainSecretComparisons('return given !== this.#token').length, 1)
    assert.equal(plainSecretComparisons("if (header.signature == request.headers['x-sig']) ok()").length, 1)
    assert.equal(plainSecretComparisons('if (offered.length === expected.length && timingSafeEqual(offered, expected)) ok()').length, 0)
    assert.equal(plainSecretComparisons("if (token === undefined || secret === '') fail()").length, 0)
    assert.equal(plainSecretComparisons("if (typeof secret !== 'string') fail()").length, 0)
  })

  it('no file under src/ compares a signature, digest, token or secret with === or !==', () => {
    const files = sourceFiles(SRC)
    assert.ok(files.length > 50, 'the scan reads the sources')
    const offenders = files.flatMap((file) => plainSecretComparisons(readFileSync(file, 'utf8')).map((line) => `src/${relative(SRC, file)}:${line}`))
    assert.deepEqual(offenders, [], 'compare with crypto.timingSafeEqual instead')
  })
})

describe('a signature differing only in its last byte is refused', () => {
  const body = new TextEncoder().encode('{"type":"order.created","data":{"id":1}}')
  const refused = (check: () => unknown) => assert.throws(check, (error) => error instanceof VerificationError)

  it('standard-webhooks', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
    const now = 1_760_000_000_000
    const ts = now / 1000
    const genuine = signStandardWebhook(secret, 'msg_1', ts, body)
    const headers = (signature: string) => new Headers({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': signature })
    assert.equal(verifyStandardWebhook({ headers: headers(genuine), body, secrets: [secret], now }).id, 'msg_1')
    refused(() => verifyStandardWebhook({ headers: headers(lastCharChanged(genuine)), body, secrets: [secret], now }))
  })

  it('commerce-layer (webhooks and external resources)', () => {
    const secret = 'cl_secret_for_constant_time'
    const genuine = signCommerceLayer(secret, body)
    const headers = (signature: string) => new Headers({ 'x-commercelayer-signature': signature })
    verifyCommerceLayerSignature({ headers: headers(genuine), body, secrets: [secret] })
    // The last character is base64 padding ('='); the last one that carries bits is before it.
    const changed = `${lastCharChanged(genuine.slice(0, -1))}=`
    assert.notEqual(Buffer.from(changed, 'base64').at(-1), Buffer.from(genuine, 'base64').at(-1))
    refused(() => verifyCommerceLayerSignature({ headers: headers(changed), body, secrets: [secret] }))
  })

  it('adobe-io-events: the RSA signature and the legacy HMAC', async () => {
    const io = await startIoEventsSimulator()
    after(() => io.close())
    const clientSecret = 'io_client_secret_for_constant_time'
    const source = adobeIoEvents.create('io', adobeIoEvents.configSchema.parse({ clientId: io.clientId, publicKeyBaseUrl: io.publicKeyBaseUrl, legacySignature: true, clientSecret }))
    const event = new TextEncoder().encode(JSON.stringify(io.cloudEvent('com.adobe.commerce.observer.sales_order_save_after', {})))
    const legacy = createHmac('sha256', clientSecret).update(event).digest('base64')
    const receive = async (headers: Record<string, string>) => source.receive({ method: 'POST', url: new URL('http://127.0.0.1/events/io'), headers: new Headers(headers), body: event }, Date.now())
    const genuine: Record<string, string> = { ...io.signedHeaders(event, { signWith: 1 }), 'x-adobe-signature': legacy }
    assert.equal((await receive(genuine)).length, 1)
    const signature = Buffer.from(genuine['x-adobe-digital-signature-1']!, 'base64')
    signature[signature.length - 1]! ^= 0x01
    await assert.rejects(receive({ ...genuine, 'x-adobe-digital-signature-1': signature.toString('base64') }), VerificationError)
    await assert.rejects(receive({ ...genuine, 'x-adobe-signature': `${lastCharChanged(legacy.slice(0, -1))}=` }), VerificationError)
    // A key Adobe never published is refused however the signature is made.
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 })
    await assert.rejects(receive({ ...genuine, 'x-adobe-digital-signature-1': sign('sha256', event, stranger.privateKey).toString('base64') }), VerificationError)
  })

  it('the admin token', async () => {
    const token = 'admin-token-for-constant-time'
    const app = new Hono()
    app.onError((error, c) => c.json({ error: error.message }, (error as VerificationError).status as 401))
    app.use('/admin/*', adminAuth(token))
    app.get('/admin/x', (c) => c.text('in'))
    assert.equal((await app.request('/admin/x', { headers: { authorization: `Bearer ${token}` } })).status, 200)
    assert.equal((await app.request('/admin/x', { headers: { authorization: `Bearer ${lastCharChanged(token)}` } })).status, 401)
  })
})
