/**
 * The I/O Events public-key fetch cannot be pointed at another host (SSRF). A delivery names its
 * key by `x-adobe-public-key1-path`; a forger would point that at a key of their own. Two real
 * servers on 127.0.0.1 count every request: the configured key server (base URL with a path,
 * `/keys`) and an "evil" one serving the forger's key at every path. Hostile paths (other hosts,
 * schemes, `@`, backslashes, dot segments, percent-encoding), random ones, and a redirect from the
 * key server: the evil server is never contacted, the key server only ever under `/keys/`, and no
 * forged delivery is accepted — directly and through storehook over HTTP.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync, sign } from 'node:crypto'
import { createServer } from 'node:http'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { HttpError } from '../../src/core/errors.ts'
import { adobeIoEvents } from '../../src/sources/adobe-io-events/index.ts'
import { makeProject, start } from '../helpers.ts'
import { runs } from '../fuzz/fuzz.ts'
import { listenOnLoopback } from '../loopback.ts'

const genuine = generateKeyPairSync('rsa', { modulusLength: 2048 })
const forger = generateKeyPairSync('rsa', { modulusLength: 2048 })
const pem = (pair: typeof genuine) => pair.publicKey.export({ type: 'spki', format: 'pem' }) as string
const GOOD_PATH = '/prod/keys/pub-key-good.pem'

const evilHits: string[] = []
const evil = createServer((req, res) => {
  evilHits.push(req.url ?? '')
  res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(pem(forger))
})
const evilOrigin = await listenOnLoopback(evil)
const evilHost = new URL(evilOrigin).host

const baseHits: string[] = []
const keyServer = createServer((req, res) => {
  baseHits.push(req.url ?? '')
  if (req.url === `/keys${GOOD_PATH}`) return void res.writeHead(200).end(pem(genuine))
  if (req.url?.startsWith('/keys/redirect/')) return void res.writeHead(302, { location: `${evilOrigin}/forged.pem` }).end()
  res.writeHead(404).end()
})
const baseOrigin = await listenOnLoopback(keyServer)
const publicKeyBaseUrl = `${baseOrigin}/keys`

const clientId = 'ssrf-client'
const body = new TextEncoder().encode(
  JSON.stringify({ specversion: '1.0', id: 'e1', eventid: 'e1', type: 'com.adobe.commerce.observer.sales_order_save_after', recipientclientid: clientId, data: { value: {} } }),
)
const forgedSignature = sign('sha256', body, forger.privateKey).toString('base64')
const source = adobeIoEvents.create('io', adobeIoEvents.configSchema.parse({ clientId, publicKeyBaseUrl, publicKeyFetchTimeoutMs: 2000 }))

/** Paths a forger might send, `EVIL` standing for the evil server's host:port. */
const HOSTILE = [
  '//EVIL/forged.pem',
  '///EVIL/forged.pem',
  'http://EVIL/forged.pem',
  'https://EVIL/forged.pem',
  `http:EVIL/forged.pem`,
  'HTTP://EVIL/forged.pem',
  'EVIL/forged.pem',
  '@EVIL/forged.pem',
  '/@EVIL/forged.pem',
  ':@EVIL/forged.pem',
  'x@EVIL/forged.pem',
  '\\\\EVIL\\forged.pem',
  '/\\EVIL/forged.pem',
  '\\/EVIL/forged.pem',
  '/../forged.pem',
  '/../../forged.pem',
  '/prod/../../forged.pem',
  '/..%2f..%2fforged.pem',
  '/%2e%2e/%2e%2e/forged.pem',
  '/%2E%2E%2Fforged.pem',
  '/.%2e/forged.pem',
  '/prod/keys/..\\..\\forged.pem',
  '/．．/forged.pem',
  '/%2F%2FEVIL/forged.pem',
  '/prod/keys/pub.pem?next=http://EVIL/forged.pem',
  '/prod/keys/pub.pem#@EVIL',
  '/prod/keys/pub.pem%23@EVIL',
  ' //EVIL/forged.pem',
  '\t/forged.pem',
  '/redirect/forged.pem',
  'file:///etc/passwd',
  'data:text/plain,forged.pem',
  'javascript:alert(1)//.pem',
].map((path) => latin1(path.replaceAll('EVIL', evilHost)))

/** A header value as Node hands it over: its UTF-8 bytes read as Latin-1 (headers are bytes). */
function latin1(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1')
}

const deliver = async (path: string) =>
  source.receive(
    {
      method: 'POST',
      url: new URL('http://127.0.0.1/events/io'),
      headers: new Headers({ 'x-adobe-digital-signature-1': forgedSignature, 'x-adobe-public-key1-path': path }),
      body,
    },
    Date.now(),
  )

/** A forged delivery is refused: 401, or 503 when a well-formed path under the base was not there. */
async function assertRefused(path: string): Promise<void> {
  await assert.rejects(deliver(path), (error: unknown) => error instanceof HttpError && [401, 503].includes(error.status), `accepted key path ${JSON.stringify(path)}`)
}

function assertNoStrayFetch(): void {
  assert.deepEqual(evilHits, [], 'the evil server was contacted')
  for (const hit of baseHits) assert.ok(hit.startsWith('/keys/'), `the key server was asked for ${hit}, outside the base path`)
}

describe('the I/O Events key fetch stays on the configured base URL', () => {
  it('accepts a delivery signed with the key under the base URL (the setup works)', async () => {
    const real = sign('sha256', body, genuine.privateKey).toString('base64')
    const headers = new Headers({ 'x-adobe-digital-signature-1': real, 'x-adobe-public-key1-path': GOOD_PATH })
    const events = await source.receive({ method: 'POST', url: new URL('http://127.0.0.1/events/io'), headers, body }, Date.now())
    assert.equal(events.length, 1)
    assert.ok(baseHits.includes(`/keys${GOOD_PATH}`))
  })

  it('refuses every hostile key path without contacting another host', async () => {
    for (const path of HOSTILE) await assertRefused(path)
    assertNoStrayFetch()
  })

  it('does not follow a redirect from the key server to another host', async () => {
    await assert.rejects(deliver('/redirect/forged.pem'), (error: unknown) => error instanceof HttpError && error.status === 503)
    assert.ok(baseHits.includes('/keys/redirect/forged.pem'))
    assertNoStrayFetch()
  })

  it('refuses random paths made of the dangerous parts, never fetching off the base', async () => {
    const part = fc.constantFrom('/', '//', '\\', '..', '.', '%2f', '%2F', '%2e', '%5c', '@', ':', '?', '#', evilHost, 'http:', 'https:', 'prod', 'keys', 'forged', '.pem', ' ', '%00', '~', 'ｅ')
    await fc.assert(
      fc.asyncProperty(fc.array(part, { minLength: 1, maxLength: 10 }), async (parts) => {
        await assertRefused(latin1(parts.join('')))
        assertNoStrayFetch()
      }),
      runs(200),
    )
  })

  it('refuses a publicKeyBaseUrl that is not https (http only on loopback, for tests)', () => {
    for (const bad of ['http://static.adobeioevents.com', 'ftp://static.adobeioevents.com', 'http://10.0.0.1/keys', 'not a url']) {
      assert.equal(adobeIoEvents.configSchema.safeParse({ clientId, publicKeyBaseUrl: bad }).success, false, bad)
    }
  })

  it('holds through storehook over HTTP: hostile key path headers get 401, nothing stored, nothing fetched', async () => {
    const project = makeProject({
      'storehook.config.ts': `import { defineConfig } from 'storehook'
export default defineConfig({ sources: { io: { kind: 'adobe-io-events', clientId: '${clientId}', publicKeyBaseUrl: '${publicKeyBaseUrl}' } } })`,
    })
    const { url, runtime } = await start({ project })
    for (const path of HOSTILE.filter((p) => p === p.trim())) {
      const response = await fetch(`${url}/events/io`, { method: 'POST', headers: { 'x-adobe-digital-signature-1': forgedSignature, 'x-adobe-public-key1-path': path }, body })
      assert.ok([401, 503].includes(response.status), `${path}: ${response.status}`)
    }
    assert.equal((await runtime.store.listEvents({ source: 'io' })).length, 0)
    assertNoStrayFetch()
  })
})
