import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { z } from 'zod'
import { ConfigError } from '../core/errors.ts'
import { fieldPath, parseConfig } from './config-issues.ts'
import { loadProject } from './project.ts'

const SECRET = 'not-a-whsec-TOPSECRET-3c9f'
const root = mkdtempSync(join(tmpdir(), 'storehook-config-issues-'))
after(() => rmSync(root, { recursive: true, force: true }))

/** The message loadProject refuses a project with this storehook.config.ts (and .env) with. */
async function refusal(config: string, dotEnv = ''): Promise<string> {
  const dir = mkdirSync(join(root, String(Math.random()).slice(2)), { recursive: true })!
  writeFileSync(join(dir, 'storehook.config.ts'), `import { defineConfig, env } from 'storehook'\nexport default defineConfig(${config})\n`)
  if (dotEnv) writeFileSync(join(dir, '.env'), dotEnv)
  const error = await loadProject(dir).then(
    () => assert.fail('the project loaded'),
    (thrown: unknown) => thrown,
  )
  assert.ok(error instanceof ConfigError, String(error))
  assert.ok(!error.message.includes(SECRET), `the value is not shown: ${error.message}`)
  return error.message
}

describe('config validation errors', () => {
  it('name the file, the field and what was expected against what was given, never the value', async () => {
    assert.equal(
      await refusal(`{ connections: { erp: { kind: 'http', baseUrl: 'https://erp.example.com', timeoutMs: '${SECRET}' } } }`),
      'storehook.config.ts: connections.erp.timeoutMs: expected a number, got string',
    )
    assert.equal(await refusal(`{ sources: { cl: { kind: 'commerce-layer', secrets: 42 } } }`), 'storehook.config.ts: sources.cl.secrets: expected a string or a list of strings, got number')
    assert.equal(await refusal(`{ sources: { cl: { kind: 'commerce-layer', secrets: ['a', 7] } } }`), 'storehook.config.ts: sources.cl.secrets: item 2: expected a string, got number')
    assert.equal(
      await refusal(`{ worker: { concurrency: 0, pollIntervalMs: 2.5 }, store: { synchronous: 'off' } }`),
      [
        'storehook.config.ts: worker.concurrency: expected a number greater than 0, got 0',
        'storehook.config.ts: worker.pollIntervalMs: expected a whole number, got number 2.5',
        'storehook.config.ts: store.synchronous: expected one of "full", "normal"',
      ].join('\n'),
    )
    assert.equal(await refusal(`{ sources: { io: { kind: 'adobe-io-events' } } }`), 'storehook.config.ts: sources.io.clientId: required: expected a string')
  })

  it('refuse an option nobody reads, guessing the one meant', async () => {
    const message = await refusal(`{ sources: { shop: { kind: 'standard-webhooks', secert: '${SECRET}', secrets: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } } }`)
    assert.match(message, /^storehook\.config\.ts: sources\.shop\.secert: unknown option; did you mean secrets\? \(the options are secrets, typeField, toleranceSeconds\)$/m)
    assert.match(message, /^ {2}options storehook does not know are refused/m)
    assert.match(await refusal(`{ workers: { concurrency: 4 } }`), /^storehook\.config\.ts: workers: unknown option; did you mean worker\? \(the options are sources, connections, actions, worker, /m)
    assert.match(await refusal(`{ worker: { concurency: 4 } }`), /^storehook\.config\.ts: worker\.concurency: unknown option; did you mean concurrency\?/m)
  })

  it('say which environment variable a bad value came from, and what to do about it', async () => {
    const bad = await refusal(`{ sources: { shop: { kind: 'standard-webhooks', secrets: env('STOREHOOK_ISSUES_SHOP_SECRET') } } }`, `STOREHOOK_ISSUES_SHOP_SECRET=${SECRET}\n`)
    assert.equal(
      bad,
      'storehook.config.ts: sources.shop.secrets: secret 1 must start with "whsec_"\n' +
        "  the value comes from environment variable STOREHOOK_ISSUES_SHOP_SECRET: fix it in the environment or the project's .env",
    )
    const text = await refusal(`{ connections: { erp: { kind: 'http', baseUrl: 'https://erp.example.com', timeoutMs: env('STOREHOOK_ISSUES_TIMEOUT') } } }`, 'STOREHOOK_ISSUES_TIMEOUT=5000\n')
    assert.equal(
      text,
      'storehook.config.ts: connections.erp.timeoutMs: expected a number, got string\n' +
        '  the value comes from environment variable STOREHOOK_ISSUES_TIMEOUT, which is text: write this option in storehook.config.ts instead',
    )
  })
})

describe('parseConfig', () => {
  const schema = z.object({ name: z.string().min(1), tags: z.array(z.string()).max(2).optional() })

  it('returns the parsed value when everything is right', () => {
    assert.deepEqual(parseConfig(schema, { name: 'erp' }, { file: 'x.ts', prefix: '' }), { name: 'erp' })
  })

  it('reports every problem, each on its line, with the field inside lists', () => {
    assert.throws(
      () => parseConfig(schema, { name: '', tags: ['a', 'b', 'c'] }, { file: 'external/price.ts', prefix: 'options.' }),
      (error: Error) =>
        error.message === 'external/price.ts: options.name: must not be empty\nexternal/price.ts: options.tags: expected at most 2 items' && error instanceof ConfigError,
    )
  })

  it('writes list positions as indexes', () => {
    assert.equal(fieldPath('sources.shop.', ['secrets', 1]), 'sources.shop.secrets[1]')
    assert.equal(fieldPath('', ['worker', 'concurrency']), 'worker.concurrency')
    assert.equal(fieldPath('', []), '')
  })
})
