/**
 * @module
 * The environment an App Builder manifest's `inputs` are filled from, and the `$VAR` / `${VAR}`
 * substitution itself, done the way a deployed action sees its inputs rather than the way
 * `aio app dev` shows them (see ../../../../shared/reference/adobe-commerce.md §5.5):
 * - an unset variable becomes `''`, as in production, never the literal `"$VAR"` (`adobe/aio-cli#750`);
 * - inputs nested in objects and arrays are substituted too (`adobe/aio-cli-plugin-app#299`);
 * - `${VAR}` and variables inside longer strings work, as wskdeploy documents them
 *   (`adobe/aio-cli-plugin-runtime#251`);
 * - nothing here writes to `process.env`: the values reach the action as bound params only, so
 *   the runtime's own variables never leak into it (`adobe/aio-cli#749`).
 *
 * Not done: wskdeploy's typed (`name: string` → `''`) and `{ value | default }` parameter forms,
 * which aio's deploy also rewrites; such values are passed as written (nested objects stay objects).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { ConfigError } from '../../core/errors.ts'

/** `$NAME` or `${NAME}`, NAME as a shell variable name; anything else (`$5`, `${a-b}`) stays literal. */
const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g

/**
 * Reads the project's `.env` (dotenv syntax, via `node:util` `parseEnv`), or `{}` when there is
 * none. Does not touch `process.env`.
 *
 * @example
 * readDotEnv('/srv/my-app') // { COMMERCE_BASE_URL: 'https://shop.example/rest/', … }
 */
export function readDotEnv(dir: string): Record<string, string> {
  const file = join(dir, '.env')
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new ConfigError(`.env: cannot be read (${(error as Error).message})`, { cause: error })
  }
  return { ...parseEnv(text) } as Record<string, string>
}

/**
 * The variables a manifest's inputs are substituted from: the project's `.env` under the real
 * environment. The real environment wins, as with aio: `aio-lib-core-config` loads `.env` as
 * `process.env = { ...dotenv, ...process.env }`, so a variable exported in the shell or set by
 * the deployment overrides the file. A variable set to `''` in the environment counts as set.
 *
 * @example
 * // .env has LOG_LEVEL=debug and API_URL=http://localhost
 * inputEnvironment(dir, { API_URL: 'https://api.example' })
 * // { LOG_LEVEL: 'debug', API_URL: 'https://api.example' }
 */
export function inputEnvironment(dir: string, env: Record<string, string | undefined>): Record<string, string> {
  const merged: Record<string, string> = readDotEnv(dir)
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined) merged[name] = value
  }
  return merged
}

/**
 * Replaces every `$VAR` and `${VAR}` in every string of `value` (a whole string or part of one,
 * at any depth of objects and arrays) with the variable's value, `''` when it is unset.
 * Numbers, booleans and null are kept; keys are never substituted. Returns a copy.
 *
 * @example
 * substituteInputs({ url: '${HOST}/rest', token: '$TOKEN', retries: 3, tags: ['$ENV'] }, { HOST: 'https://shop', ENV: 'prod' })
 * // { url: 'https://shop/rest', token: '', retries: 3, tags: ['prod'] }
 */
export function substituteInputs<T>(value: T, env: Record<string, string | undefined>): T {
  return substitute(value, env) as T
}

function substitute(value: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof value === 'string') {
    return value.replace(VARIABLE, (_match, braced: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare) as string
      // Own properties only: `$constructor` must not find Object.prototype.constructor.
      return Object.hasOwn(env, name) ? (env[name] ?? '') : ''
    })
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, env))
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own properties, so a `__proto__` input stays an input.
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, env)]))
  }
  return value
}
