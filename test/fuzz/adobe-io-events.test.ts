/**
 * Fuzzes the `adobe-io-events` source's verifier and parser directly (no storehook server; the
 * public keys come from the testkit's I/O Events simulator on 127.0.0.1, fetched once and
 * cached): a delivery not signed with Adobe's keys is 401; a validly signed one is events, a 400
 * with a reason, or a 401 only for a recipient that is not this client; nothing else is thrown.
 * Size: `FUZZ_RUNS=<factor>` multiplies every property's runs (test/fuzz/fuzz.ts).
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import fc from 'fast-check'
import { adobeIoEvents, MAX_BATCH } from '../../src/sources/adobe-io-events/index.ts'
import { startIoEventsSimulator } from '../../src/testkit/io-events-simulator.ts'
import { bodies, carries, headerGarbage, headerVariants } from './arbitraries.ts'
import { assertRefused, headersOf, outcome, runs } from './fuzz.ts'

const io = await startIoEventsSimulator()
after(() => io.close())
const source = adobeIoEvents.create('commerce', adobeIoEvents.configSchema.parse({ clientId: io.clientId, publicKeyBaseUrl: io.publicKeyBaseUrl }))
const url = new URL('http://127.0.0.1/events/commerce')
const receive = (headers: Headers, body: Uint8Array) => outcome(() => source.receive({ method: 'POST', url, headers, body }, Date.now()))
const single = io.cloudEvent('com.adobe.commerce.observer.sales_order_save_after', { entity_id: '42', items: [{ sku: 'A', qty_ordered: 1 }] }, { eventId: 'evt-1' })
const batch = [single, io.cloudEvent('com.adobe.commerce.observer.catalog_product_save_after', { sku: 'B' }, { eventId: 'evt-2' })]
const template = fc.constantFrom<unknown>(single, batch)
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

describe('fuzz: adobe-io-events source', () => {
  it('refuses anything not signed with a published key: 401', async () => {
    const signing = fc.constantFrom('forged', 'none', 'garbage', 'other-body', 'signature-without-path')
    await fc.assert(
      fc.asyncProperty(template.chain(bodies), signing, headerGarbage, async (body, how, garbage) => {
        let headers: Record<string, string>
        if (how === 'forged') headers = io.signedHeaders(body, { signWith: 'forged' })
        else if (how === 'other-body') headers = io.signedHeaders(encode(single))
        else headers = io.signedHeaders(body)
        if (how === 'none') for (const n of [1, 2]) delete headers[`x-adobe-digital-signature-${n}`]
        if (how === 'garbage') for (const n of [1, 2]) headers[`x-adobe-digital-signature-${n}`] = garbage
        if (how === 'signature-without-path') for (const n of [1, 2]) delete headers[`x-adobe-public-key${n}-path`]
        // A body that happens to equal the other body is genuinely signed: not this property's case.
        if (how === 'other-body' && Buffer.from(body).equals(encode(single))) return
        assertRefused(await receive(headersOf(headers), body), [401], `${how} signature`)
      }),
      runs(100),
    )
  })

  it('answers every validly signed body with events, a 400, or a 401 for another recipient; never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(template.chain(bodies), async (body) => {
        const result = await receive(headersOf(io.signedHeaders(body)), body)
        if (result.ok) {
          assert.ok(result.value.length <= MAX_BATCH)
          for (const event of result.value) assert.equal(typeof event.type, 'string')
        } else if (result.status === 401) assert.match(result.message, /recipientclientid/)
        else assertRefused(result, [400], 'signed body')
      }),
      runs(150),
    )
  })

  it('accepts altered signature headers only while one genuine signature and its key path remain', async () => {
    const body = encode(batch)
    const genuine = io.signedHeaders(body)
    const isSignatureHeader = (name: string) => /signature|key\d-path/.test(name)
    const signatureHeaders = Object.fromEntries(Object.entries(genuine).filter(([name]) => isSignatureHeader(name)))
    const otherHeaders = Object.fromEntries(Object.entries(genuine).filter(([name]) => !isSignatureHeader(name)))
    await fc.assert(
      fc.asyncProperty(headerVariants(signatureHeaders), async (variant) => {
        const result = await receive(headersOf({ ...otherHeaders, ...variant }), body)
        if (!result.ok) return assertRefused(result, [401], 'altered signature headers')
        const intact = [1, 2].some(
          (n) =>
            carries(variant, `x-adobe-digital-signature-${n}`, genuine[`x-adobe-digital-signature-${n}`]!) &&
            carries(variant, `x-adobe-public-key${n}-path`, genuine[`x-adobe-public-key${n}-path`]!),
        )
        assert.ok(intact, 'accepted without any genuine signature and key path')
      }),
      runs(100),
    )
  })
})

