import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { secretScrubber } from './access.ts'

describe('secretScrubber', () => {
  const scrub = secretScrubber(
    {
      ERP_PASSWORD: 'pa55word-xyz',
      CL_SHARED_SECRET: 'cl<secret>&"quoted"',
      DB_PWD: 'db-pwd-value',
      GITHUB_TOKEN: 'ghp_abcdefgh',
      PWD: '/work/main',
      OLDPWD: '/work/other',
      IMS_TOKEN_URL: 'https://ims.example.com/token',
      SHORT_SECRET: 'abc',
      HOME: '/root/home-dir',
    },
    ['admin-token-123'],
  )

  it('replaces the values of secret-looking variables, raw and HTML-escaped', () => {
    assert.equal(scrub('login as pa55word-xyz failed'), 'login as [redacted] failed')
    assert.equal(scrub('<pre>cl&lt;secret&gt;&amp;&quot;quoted&quot;</pre>'), '<pre>[redacted]</pre>')
    assert.equal(scrub('db-pwd-value ghp_abcdefgh admin-token-123'), '[redacted] [redacted] [redacted]')
  })

  it('leaves directories, URLs, short values and other variables alone', () => {
    const text = 'at file:///work/main/src/x.ts (https://ims.example.com/token) abc /root/home-dir /work/other'
    assert.equal(scrub(text), text)
  })
})
