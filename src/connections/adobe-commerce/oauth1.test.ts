import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import OAuth from 'oauth-1.0a'
import { authorize, baseStringUri, normalizeParameters, normalizePath, percentEncode, sign, signatureBaseString, strnatcmp } from './oauth1.ts'
import type { OAuth1Credentials, SignatureMethod } from './oauth1.ts'

describe('oauth1: RFC 5849 worked examples', () => {
  // §3.4.1.1: the request, its form body (c2&a3=2+q) and its protocol parameters.
  const url = 'http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b'
  const oauthParams = {
    oauth_consumer_key: '9djdj82h48djs9d2',
    oauth_token: 'kkk9d7dh3k39sjv7',
    oauth_signature_method: 'HMAC-SHA1',
    oauth_timestamp: '137131201',
    oauth_nonce: '7d8f3e4a',
  }
  const body: [string, string][] = [
    ['c2', ''],
    ['a3', '2 q'],
  ]

  test('§3.4.1.1: the signature base string', () => {
    assert.equal(
      signatureBaseString('POST', url, oauthParams, body),
      'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7',
    )
  })

  test('§3.4.1.3.2: the normalized parameters', () => {
    const pairs = [...new URL(url).searchParams, ...body, ...Object.entries(oauthParams)]
    assert.equal(
      normalizeParameters(pairs),
      'a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7',
    )
  })

  test('§3.4.1.2: the base string URI', () => {
    assert.equal(baseStringUri(new URL('http://EXAMPLE.COM:80/r%20v/X?id=123')), 'http://example.com/r%20v/X')
    assert.equal(baseStringUri(new URL('https://www.example.net:8080/?q=1')), 'https://www.example.net:8080/')
  })

  test('§1.2 / §3.4.2: the HMAC-SHA1 signature of the photos request', () => {
    const signature = sign({
      method: 'GET',
      url: 'http://photos.example.net/photos?file=vacation.jpg&size=original',
      oauthParams: {
        oauth_consumer_key: 'dpf43f3p2l4k3l03',
        oauth_token: 'nnch734d00sl2jdk',
        oauth_signature_method: 'HMAC-SHA1',
        oauth_timestamp: '137131202',
        oauth_nonce: 'chapoH',
      },
      consumerSecret: 'kd94hf93k423kf44',
      tokenSecret: 'pfkkdhi9sl3r4s00',
      signatureMethod: 'HMAC-SHA1',
    })
    assert.equal(signature, 'MdpQcU8iPSUjWoN/UDMsK2sui9I=')
  })

  test('§3.6: percent-encoding is RFC 3986 over UTF-8, upper-case hex', () => {
    assert.equal(percentEncode("AZaz09-._~ !*'()[]"), 'AZaz09-._~%20%21%2A%27%28%29%5B%5D')
    assert.equal(percentEncode('ü€'), '%C3%BC%E2%82%AC')
  })
})

describe('oauth1: the Authorization header', () => {
  const credentials: OAuth1Credentials = {
    consumerKey: 'ck-1',
    consumerSecret: 'cs-1',
    accessToken: 'at-1',
    accessTokenSecret: 'ats-1',
  }

  test('has the samples\' form: sorted oauth_* fields, quoted, joined by ", "', () => {
    const header = authorize('GET', 'https://shop.example.com/rest/V1/orders/42', credentials)
    assert.match(
      header,
      /^OAuth oauth_consumer_key="ck-1", oauth_nonce="[A-Za-z0-9]{32}", oauth_signature="[A-Za-z0-9%]+", oauth_signature_method="HMAC-SHA256", oauth_timestamp="\d+", oauth_token="at-1", oauth_version="1\.0"$/,
    )
  })

  test('a fresh nonce and the current Unix time in seconds on every call', () => {
    const nonces = new Set<string>()
    for (let i = 0; i < 50; i++) {
      const header = authorize('GET', 'https://shop.example.com/rest/V1/orders/42', credentials)
      nonces.add(/oauth_nonce="([^"]+)"/.exec(header)?.[1] ?? '')
      const timestamp = Number(/oauth_timestamp="(\d+)"/.exec(header)?.[1])
      assert.ok(Math.abs(timestamp - Date.now() / 1000) < 5)
    }
    assert.equal(nonces.size, 50)
  })

  test('HMAC-SHA1 on request', () => {
    const header = authorize('GET', 'https://shop.example.com/rest/V1/orders/42', credentials, { signatureMethod: 'HMAC-SHA1' })
    assert.match(header, /oauth_signature_method="HMAC-SHA1"/)
  })
})

describe('oauth1: strnatcmp is PHP\'s', () => {
  test('the PHP manual\'s examples', () => {
    assert.deepEqual(['img12.png', 'img10.png', 'img2.png', 'img1.png'].sort(strnatcmp), ['img1.png', 'img2.png', 'img10.png', 'img12.png'])
    assert.deepEqual(['-5', '3', '-2', '0', '-1000', '9', '1'].sort(strnatcmp), ['-2', '-5', '-1000', '0', '1', '3', '9'])
  })

  test('case-sensitive, shorter first, equal is 0, empty first', () => {
    assert.equal(strnatcmp('Hello', 'hello'), -1)
    assert.equal(strnatcmp('a', 'a[b]'), -1)
    assert.equal(strnatcmp('abc', 'abc'), 0)
    assert.equal(strnatcmp('', 'a'), -1)
    assert.equal(strnatcmp('a', ''), 1)
  })

  test('encoded searchCriteria indexes sort by value: [2] before [10]', () => {
    const two = percentEncode('searchCriteria[filter_groups][0][filters][2][field]')
    const ten = percentEncode('searchCriteria[filter_groups][0][filters][10][field]')
    assert.equal(strnatcmp(two, ten), -1)
    assert.ok(ten < two, 'a byte sort puts them the other way round')
  })

  test('parameterOrder "bytes" sorts decoded names by their bytes, as PHP ksort does', () => {
    const pairs: [string, string][] = [['f[10]', 'x'], ['f[2]', 'y'], ['fA', 'z']]
    assert.equal(normalizeParameters(pairs), 'f%5B2%5D=y&f%5B10%5D=x&fA=z')
    assert.equal(normalizeParameters(pairs, 'bytes'), 'fA=z&f%5B10%5D=x&f%5B2%5D=y')
  })

  test('paths are normalised as Magento\'s Uri\\Http does', () => {
    assert.equal(normalizePath('/rest/V1/products/MJ01(blue)%7e'), '/rest/V1/products/MJ01%28blue%29~')
    assert.equal(normalizePath('/a%2fb/%41%zz'), '/a%2Fb/A%25zz')
  })

  test('agrees with a byte sort when no run of digits differs in length', () => {
    const word = fc.stringMatching(/^[A-Za-z_%[\]]{0,6}[0-9]?[A-Za-z_]{0,4}$/)
    fc.assert(
      fc.property(word, word, (a, b) => {
        const bytes = a < b ? -1 : a > b ? 1 : 0
        assert.equal(strnatcmp(a, b), bytes)
      }),
    )
  })
})

describe('oauth1: interoperability with the oauth-1.0a package', () => {
  function oauth10a(method: SignatureMethod, credentials: OAuth1Credentials, nonce: string, timestamp: number) {
    const hash = method === 'HMAC-SHA1' ? 'sha1' : 'sha256'
    const client = new OAuth({
      consumer: { key: credentials.consumerKey, secret: credentials.consumerSecret },
      signature_method: method,
      hash_function: (base, key) => createHmac(hash, key).update(base).digest('base64'),
    })
    client.getNonce = () => nonce
    client.getTimeStamp = () => timestamp
    return (httpMethod: string, url: string) =>
      client.toHeader(client.authorize({ method: httpMethod, url }, { key: credentials.accessToken, secret: credentials.accessTokenSecret }))
        .Authorization
  }

  // What Adobe's samples build: raw brackets in names, values encoded with encodeURIComponent.
  const name = fc
    .tuple(
      fc.stringMatching(/^[A-Za-z][A-Za-z_]{0,11}$/),
      fc.array(fc.oneof(fc.stringMatching(/^[A-Za-z_]{1,10}$/), fc.integer({ min: 0, max: 9 }).map(String)), { maxLength: 5 }),
    )
    .map(([head, segments]) => head + segments.map((segment) => `[${segment}]`).join(''))
  const query = fc.uniqueArray(fc.tuple(name, fc.string({ unit: 'grapheme', maxLength: 12 })), {
    selector: ([key]) => key,
    minLength: 1,
    maxLength: 8,
  })
  const secret = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 })

  test('property: on URLs with raw brackets both sign the same Authorization header', () => {
    fc.assert(
      fc.property(
        query,
        fc.record({ consumerKey: secret, consumerSecret: secret, accessToken: secret, accessTokenSecret: secret }),
        fc.constantFrom<SignatureMethod>('HMAC-SHA256', 'HMAC-SHA1'),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
        fc.stringMatching(/^[A-Za-z0-9]{32}$/),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (pairs, credentials, method, httpMethod, nonce, timestamp) => {
          const url = `https://shop.example.com/rest/V1/orders?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`
          const ours = authorize(httpMethod, url, credentials, { signatureMethod: method, nonce, timestamp })
          assert.equal(ours, oauth10a(method, credentials, nonce, timestamp)(httpMethod, url))
        },
      ),
      { numRuns: 300 },
    )
  })

  test('a percent-encoded name: oauth-1.0a encodes it twice, we once (as for the raw-bracket URL)', () => {
    const credentials = { consumerKey: 'ck', consumerSecret: 'cs', accessToken: 'at', accessTokenSecret: 'ats' }
    const fixed = { nonce: 'n'.repeat(32), timestamp: 1_767_225_600 }
    const raw = 'https://shop.example.com/rest/V1/orders?searchCriteria[pageSize]=10'
    const encoded = 'https://shop.example.com/rest/V1/orders?searchCriteria%5BpageSize%5D=10'
    assert.equal(new URL(encoded).search, (() => {
      const url = new URL('https://shop.example.com/rest/V1/orders')
      url.searchParams.set('searchCriteria[pageSize]', '10')
      return url.search
    })(), 'what new URL() + searchParams.set() produce')

    const theirs = oauth10a('HMAC-SHA256', credentials, fixed.nonce, fixed.timestamp)
    const client = new OAuth({ consumer: { key: 'ck', secret: 'cs' }, signature_method: 'HMAC-SHA256', hash_function: () => '' })
    assert.match(client.getParameterString({ method: 'GET', url: encoded }, {} as OAuth.Data), /searchCriteria%255BpageSize%255D=10/)
    assert.notEqual(theirs('GET', encoded), theirs('GET', raw))

    const params = { oauth_consumer_key: 'ck' }
    assert.match(signatureBaseString('GET', encoded, params), /searchCriteria%255BpageSize%255D%3D10/) // %5B, then the base string's own encoding
    assert.equal(signatureBaseString('GET', encoded, params), signatureBaseString('GET', raw, params))
    assert.equal(authorize('GET', encoded, credentials, fixed), authorize('GET', raw, credentials, fixed))
    assert.equal(authorize('GET', raw, credentials, fixed), theirs('GET', raw))
  })
})
