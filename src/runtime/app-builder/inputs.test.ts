/**
 * `$VAR` substitution in manifest inputs, and the environment it draws from, checked against
 * the production behaviour App Builder users rely on (unset → '', nested substituted, no leak).
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { ConfigError } from '../../core/errors.ts'
import { inputEnvironment, readDotEnv, substituteInputs } from './inputs.ts'

function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'storehook-inputs-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return dir
}

describe('substituteInputs', () => {
  const env = { HOST: 'https://shop.example', TOKEN: 's3cret', EMPTY: '', UNDEF: undefined }

  it('replaces a whole-string $VAR and ${VAR}', () => {
    assert.deepEqual(substituteInputs({ a: '$HOST', b: '${TOKEN}' }, env), { a: 'https://shop.example', b: 's3cret' })
  })

  it('replaces variables embedded in longer strings, several per string', () => {
    assert.deepEqual(substituteInputs({ url: '${HOST}/rest/V1?token=$TOKEN&x=1' }, env), {
      url: 'https://shop.example/rest/V1?token=s3cret&x=1',
    })
  })

  it("turns an unset variable into '' as production does, never the literal (aio-cli#750)", () => {
    const result = substituteInputs({ a: '$NOPE', b: '${NOPE}', c: 'x-$NOPE-y', d: '$UNDEF' }, env)
    assert.deepEqual(result, { a: '', b: '', c: 'x--y', d: '' })
    assert.ok(!JSON.stringify(result).includes('NOPE'))
  })

  it("keeps a variable set to '' as ''", () => {
    assert.deepEqual(substituteInputs({ a: '$EMPTY', b: 'a${EMPTY}b' }, env), { a: '', b: 'ab' })
  })

  it('substitutes inside nested objects and arrays (aio-cli-plugin-app#299)', () => {
    const value = { deep: { deeper: { url: '$HOST' }, list: ['$TOKEN', { t: '${TOKEN}!' }, ['$HOST']] } }
    assert.deepEqual(substituteInputs(value, env), {
      deep: { deeper: { url: 'https://shop.example' }, list: ['s3cret', { t: 's3cret!' }, ['https://shop.example']] },
    })
  })

  it('keeps numbers, booleans and null, and leaves keys alone', () => {
    const value = { n: 3, f: 1.5, t: true, no: false, nil: null, $HOST: 'key untouched' }
    assert.deepEqual(substituteInputs(value, env), { n: 3, f: 1.5, t: true, no: false, nil: null, $HOST: 'key untouched' })
  })

  it('leaves dollar signs that are not variable names as they are', () => {
    assert.deepEqual(substituteInputs({ price: '$5 off', malformed: '${a-b}', lone: '$', cost: 'US$' }, env), {
      price: '$5 off',
      malformed: '${a-b}',
      lone: '$',
      cost: 'US$',
    })
  })

  it('does not look variables up on Object.prototype', () => {
    assert.deepEqual(substituteInputs({ a: '$constructor', b: '${toString}' }, {}), { a: '', b: '' })
  })

  it('returns a copy and never touches the input or process.env (aio-cli#749)', () => {
    const input = { a: '$LEAK_CHECK_VAR', nested: { b: '$LEAK_CHECK_VAR' } }
    const before = structuredClone(input)
    const result = substituteInputs(input, { LEAK_CHECK_VAR: 'value' })
    assert.deepEqual(input, before)
    assert.equal(result.nested.b, 'value')
    assert.equal(process.env.LEAK_CHECK_VAR, undefined)
  })

  it('keeps a __proto__ input as data', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "$HOST"}}') as Record<string, unknown>
    const result = substituteInputs(input, env) as Record<string, unknown>
    assert.ok(Object.hasOwn(result, '__proto__'))
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    assert.equal((Object.getOwnPropertyDescriptor(result, '__proto__')?.value as { polluted: string }).polluted, 'https://shop.example')
  })
})

describe('readDotEnv', () => {
  it('parses the project .env: comments, quotes, empty values', () => {
    const dir = tempDir({ '.env': '# comment\nA=1\nB="two words"\nC=\'x=y\'\n\nD=\n' })
    assert.deepEqual(readDotEnv(dir), { A: '1', B: 'two words', C: 'x=y', D: '' })
  })

  it('returns {} when there is no .env', () => {
    assert.deepEqual(readDotEnv(tempDir()), {})
  })

  it('throws a ConfigError naming .env when it cannot be read', () => {
    const dir = tempDir()
    mkdirSync(join(dir, '.env'))
    assert.throws(() => readDotEnv(dir), (error: unknown) => error instanceof ConfigError && /^\.env: cannot be read/.test(error.message))
  })

  it('does not write to process.env', () => {
    const dir = tempDir({ '.env': 'STOREHOOK_INPUTS_TEST_ONLY=1\n' })
    readDotEnv(dir)
    assert.equal(process.env.STOREHOOK_INPUTS_TEST_ONLY, undefined)
  })
})

describe('inputEnvironment', () => {
  it('lets the real environment win over .env, and .env fill what it leaves unset', () => {
    const dir = tempDir({ '.env': 'A=from-file\nB=from-file\nC=from-file\n' })
    assert.deepEqual(inputEnvironment(dir, { A: 'from-env', B: undefined, D: 'only-env' }), {
      A: 'from-env',
      B: 'from-file',
      C: 'from-file',
      D: 'only-env',
    })
  })

  it("counts a variable set to '' in the environment as set", () => {
    const dir = tempDir({ '.env': 'A=from-file\n' })
    assert.equal(inputEnvironment(dir, { A: '' }).A, '')
  })
})
