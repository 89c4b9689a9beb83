/**
 * @module
 * Configuration errors a person can act on. Each problem is one line naming the file, the field
 * and what was expected against what was given:
 *
 *     storehook.config.ts: sources.cl.secrets: expected a string or a list, got number
 *
 * followed, where it helps, by an indented line saying what to do: the environment variable the
 * value came from, the options there are for a misspelt one. Values are never shown (a config
 * value may be a secret), only their type; numbers, which are not secrets, are.
 *
 * zod's own wording ("Invalid input", "expected int, received number") is replaced through a
 * per-parse error map; a message a schema sets itself (`baseUrl must be an http:// or https://
 * URL`) wins over it, as zod gives a schema's message precedence.
 */
import { z } from 'zod'
import { ConfigError } from '../core/errors.ts'

export interface ConfigLocation {
  /** The file the value is written in, as the user knows it: `storehook.config.ts`. */
  file: string
  /** Where the value sits in it: `sources.cl.` (a trailing dot), or '' for the top level. */
  prefix: string
  /** Fields whose value came from `env('NAME')`: field path (`sources.cl.secrets`) → NAME. */
  fromEnv?: ReadonlyMap<string, string>
  /** Options valid beside the schema's own (the top level's `sources`, …), for the unknown-option message. */
  otherOptions?: readonly string[]
}

/**
 * Validates `value` against `schema`: the parsed value, or a ConfigError listing every problem.
 * A plain (not strict) object schema drops options it does not know; here they are problems,
 * since a misspelt option silently ignored is the costliest configuration mistake.
 *
 * @throws ConfigError naming the file and each field
 * @example
 * parseConfig(z.object({ secrets: z.string() }), { secrets: 42 }, { file: 'storehook.config.ts', prefix: 'sources.cl.' })
 * // ConfigError: storehook.config.ts: sources.cl.secrets: expected a string, got number
 */
export function parseConfig(schema: z.ZodType, value: unknown, location: ConfigLocation): unknown {
  const result = schema.safeParse(value, { error: describeIssue })
  const unknown = unknownOptions(schema, value, location.otherOptions ?? [])
  if (result.success && unknown.length === 0) return result.data
  const problems = [...(result.success ? [] : result.error.issues.flatMap((issue) => problemsOf(issue, schema))), ...unknown]
  throw new ConfigError(problems.map((problem) => problemLines(problem, location)).join('\n'))
}

interface Problem {
  path: PropertyKey[]
  message: string
  hint?: string | undefined
}

/** One problem per issue; a strict object's unknown options one per option, each at its own path. */
function problemsOf(issue: z.core.$ZodIssue, schema: z.ZodType): Problem[] {
  if (issue.code !== 'unrecognized_keys') return [{ path: issue.path, message: issue.message }]
  const known = Object.keys(shapeOf(schemaAt(schema, issue.path)) ?? {})
  return issue.keys.map((key) => ({ path: [...issue.path, key], message: unknownMessage(key, known), hint: UNKNOWN_HINT }))
}

function problemLines({ path, message, hint }: Problem, location: ConfigLocation): string {
  const field = fieldPath(location.prefix, path)
  const variable = envVariableOf(field, location.fromEnv)
  let help = hint
  if (variable) {
    // env() always gives text: a number or a flag cannot come from it.
    help = /, got string$/.test(message)
      ? `the value comes from environment variable ${variable}, which is text: write this option in ${location.file} instead`
      : `the value comes from environment variable ${variable}: fix it in the environment or the project's .env`
  }
  return `${location.file}: ${field || '(top level)'}: ${message}${help ? `\n  ${help}` : ''}`
}

/** `sources.cl.` and `['secrets', 1]` → `sources.cl.secrets[1]`. */
export function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let field = prefix.replace(/\.$/, '')
  for (const key of path) field = typeof key === 'number' ? `${field}[${key}]` : field ? `${field}.${String(key)}` : String(key)
  return field
}

/** The variable behind `field`, or behind the field (or list) it is part of. */
function envVariableOf(field: string, fromEnv: ReadonlyMap<string, string> | undefined): string | undefined {
  for (let path = field; path; path = path.replace(/(\[\d+\]|\.[^.[]+|^[^.[]+)$/, '')) {
    const variable = fromEnv?.get(path)
    if (variable) return variable
  }
  return undefined
}

type RawIssue = z.core.$ZodRawIssue

/** zod's error map: a message for each kind of problem, or undefined to keep zod's (a custom check's). */
function describeIssue(issue: RawIssue): string | undefined {
  const got = received(issue.input)
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `required: expected ${expectedType(issue.expected)}`
      return `expected ${expectedType(issue.expected)}, got ${got}`
    case 'invalid_union': {
      const branches = issue.errors ?? []
      const wrongType = (issues: readonly z.core.$ZodIssue[]) => issues.find((i) => i.path.length === 0 && i.code === 'invalid_type')
      // The one form whose type the value has: what is wrong inside it ("item 2: expected a string").
      const matching = branches.filter((issues) => !wrongType(issues))
      if (matching.length === 1 && matching[0]![0]) {
        const inner = matching[0]![0]
        const where = inner.path.map((key) => (typeof key === 'number' ? `item ${key + 1}` : String(key))).join(' ')
        return where ? `${where}: ${inner.message}` : inner.message
      }
      // None: each form, "a string or a list of strings".
      const forms = ((issue.inst as z.ZodUnion | undefined)?.options ?? []).map(describeSchema)
      if (forms.length === 0 || forms.some((form) => form === undefined)) return `does not match any of the forms this option takes (got ${got})`
      return `expected ${[...new Set(forms)].join(' or ')}, got ${got}`
    }
    case 'invalid_value':
      return issue.values.length === 1 ? `expected ${show(issue.values[0])}` : `expected one of ${issue.values.map(show).join(', ')}`
    case 'too_small':
    case 'too_big':
      return bound(issue)
    case 'invalid_format':
      return `expected ${issue.format === 'url' ? 'a URL' : issue.format === 'regex' ? 'a value of the documented form' : `a ${issue.format}`}`
    default:
      return undefined
  }
}

function bound(issue: RawIssue & { code: 'too_small' | 'too_big' }): string {
  const limit = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum)
  const small = issue.code === 'too_small'
  switch (issue.origin) {
    case 'string':
      return small && limit === 1 ? 'must not be empty' : `expected ${small ? 'at least' : 'at most'} ${limit} characters`
    case 'array':
    case 'set':
      return small && limit === 1 ? 'must not be empty' : `expected ${small ? 'at least' : 'at most'} ${limit} items`
    default: {
      const relation = small ? (issue.inclusive ? 'at least' : 'greater than') : issue.inclusive ? 'at most' : 'less than'
      return `expected a number ${relation} ${limit}, got ${typeof issue.input === 'number' ? issue.input : received(issue.input)}`
    }
  }
}

const UNKNOWN_HINT = 'options storehook does not know are refused, so that a misspelt one is never silently ignored'

/** Options the object schema does not have, which a plain z.object would drop without a word. */
function unknownOptions(schema: z.ZodType, value: unknown, others: readonly string[]): Problem[] {
  const shape = shapeOf(schema)
  if (!shape || (schema as z.ZodObject)._zod.def.catchall || typeof value !== 'object' || value === null || Array.isArray(value)) return []
  const known = [...others, ...Object.keys(shape)]
  return Object.keys(value)
    .filter((key) => !known.includes(key))
    .map((key) => ({ path: [key], message: unknownMessage(key, known), hint: UNKNOWN_HINT }))
}

function unknownMessage(key: string, known: readonly string[]): string {
  if (known.length === 0) return 'unknown option'
  const guess = closest(key, known)
  return `unknown option${guess ? `; did you mean ${guess}?` : ''} (the options are ${known.join(', ')})`
}

/** The known option `key` is most likely a misspelling of: at most two edits away, or differing only in case. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: { option: string; distance: number } | undefined
  for (const option of known) {
    const distance = option.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, option)
    if (distance <= 2 && (!best || distance < best.distance)) best = { option, distance }
  }
  return best?.option
}

/** Edits (insert, delete, replace, swap two neighbours) from `a` to `b`: `secert` is 2 from `secrets`. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}

function shapeOf(schema: unknown): Record<string, unknown> | undefined {
  const inner = unwrap(schema)
  return inner instanceof z.ZodObject ? (inner.shape as Record<string, unknown>) : undefined
}

/** The schema of the value at `path` inside `schema`'s, through objects only. */
function schemaAt(schema: unknown, path: readonly PropertyKey[]): unknown {
  let at = schema
  for (const key of path) at = shapeOf(at)?.[String(key)]
  return at
}

/** The schema under optional(), default(), nullable() and a transform's input. */
function unwrap(schema: unknown): unknown {
  let at = schema
  for (let depth = 0; depth < 10; depth++) {
    const def = (at as z.ZodType | undefined)?._zod?.def as { type?: string; innerType?: unknown; in?: unknown } | undefined
    if (def?.type === 'optional' || def?.type === 'default' || def?.type === 'nullable' || def?.type === 'prefault') at = def.innerType
    else if (def?.type === 'pipe') at = def.in
    else break
  }
  return at
}

/** What a value of `schema` is, in words: `a string`, `a list of strings`; undefined when that takes more. */
function describeSchema(schema: unknown): string | undefined {
  const def = (schema as z.ZodType | undefined)?._zod.def
  if (!def) return undefined
  if (def.type === 'array') {
    const element = describeSchema((def as z.core.$ZodArrayDef).element)
    return element === undefined ? 'a list' : `a list of ${element.replace(/^an? /, '')}s`
  }
  return ['string', 'number', 'boolean', 'object', 'record'].includes(def.type) ? expectedType(def.type) : undefined
}

function expectedType(expected: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    array: 'a list',
    object: 'an object',
    record: 'an object',
    bigint: 'a whole number',
    date: 'a date',
    function: 'a function',
  }
  return names[expected] ?? expected
}

/** The type of what was given, never its value. */
function received(input: unknown): string {
  if (input === null) return 'null'
  if (Array.isArray(input)) return 'a list'
  if (typeof input === 'number' && !Number.isInteger(input)) return `number ${input}`
  return typeof input
}

function show(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : String(value)
}
