/**
 * @module
 * The YAML files of an App Builder project's manifest (manifest.ts): read with the `yaml` package,
 * `$include`s followed as aio does (keys written beside `$include` win; paths relative to the
 * including file; cycles refused), and for every value the file and YAML path it was written at,
 * so a ConfigError can name the right line of the right file.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml'
import { ConfigError } from '../../core/errors.ts'

export const APP_CONFIG_FILE = 'app.config.yaml'

export type Key = string | number
/** Where a value is written: the file (relative to the project) and its path inside that file. */
export interface Origin {
  file: string
  path: Key[]
}
export type Mapping = Record<string, unknown>

/**
 * The project's YAML files, read and with `$include`s resolved, remembering for every value the
 * file and the path where it is written, so errors can point at the right line of the right file.
 */
export class ManifestFiles {
  readonly files: string[] = []
  private readonly parsed = new Map<string, { doc: Document; lines: LineCounter; value: unknown }>()
  /** For each mapping or list built here: where each of its entries is written. */
  private readonly entries = new WeakMap<object, Map<Key, Origin>>()
  /** For each mapping or list built here: where it is itself written. */
  private readonly self = new WeakMap<object, Origin>()

  readonly root: string

  constructor(root: string) {
    this.root = root
  }

  relative(path: string): string {
    return relative(this.root, path).split(sep).join('/')
  }

  /** Reads `file` (relative to the project) as a mapping, with its includes resolved; `chain` is the include path to it. */
  load(file: string, chain: string[]): Mapping {
    let entry = this.parsed.get(file)
    if (!entry) {
      const lines = new LineCounter()
      const doc = parseDocument(readFileSync(join(this.root, file), 'utf8'), { lineCounter: lines, merge: true })
      const error = doc.errors[0]
      if (error) {
        const [reason, snippet] = error.message.split(/ at line \d+, column \d+:\n/)
        const at = error.linePos?.[0]
        throw new ConfigError(`${file}${at ? `:${at.line}:${at.col}` : ''}: invalid YAML: ${reason}${snippet ? `\n${snippet.trimEnd()}` : ''}`, { cause: error })
      }
      let value: unknown
      try {
        value = doc.toJS({ maxAliasCount: 1000 })
      } catch (cause) {
        throw new ConfigError(`${file}: cannot be read as YAML: ${(cause as Error).message}`, { cause })
      }
      entry = { doc, lines, value }
      this.parsed.set(file, entry)
      this.files.push(file)
    }
    if (entry.value === null || typeof entry.value !== 'object' || Array.isArray(entry.value)) {
      throw new ConfigError(`${file}: expected a mapping (key: value lines) at the top level, found ${entry.value == null ? 'an empty file' : Array.isArray(entry.value) ? 'a list' : 'a single value'}`)
    }
    return this.resolve(entry.value, { file, path: [] }, chain, []) as Mapping
  }

  /** A copy of `value` with each `{ $include: path }` replaced by the file's mapping (keys beside `$include` win). */
  private resolve(value: unknown, at: Origin, chain: string[], ancestors: object[]): unknown {
    if (value === null || typeof value !== 'object') return value
    if (ancestors.includes(value)) throw this.error(at, 'a YAML alias refers to a node that contains it; write the value out instead')
    const inside = [...ancestors, value]
    const here = new Map<Key, Origin>()
    let copy: unknown[] | Mapping
    if (Array.isArray(value)) {
      copy = value.map((item, index) => this.resolve(item, child(at, index), chain, inside))
      value.forEach((_item, index) => here.set(index, child(at, index)))
    } else {
      const entries: [string, unknown][] = []
      const source = value as Mapping
      if (Object.hasOwn(source, '$include')) {
        const included = this.include(source.$include, child(at, '$include'), chain)
        const origins = this.entries.get(included)
        for (const [key, item] of Object.entries(included)) {
          entries.push([key, item])
          here.set(key, origins?.get(key) ?? child(at, key))
        }
      }
      for (const [key, item] of Object.entries(source)) {
        if (key === '$include') continue
        entries.push([key, this.resolve(item, child(at, key), chain, inside)])
        here.set(key, child(at, key))
      }
      // fromEntries defines own properties: a `__proto__` key stays data, later keys win.
      copy = Object.fromEntries(entries)
    }
    this.entries.set(copy, here)
    this.self.set(copy, at)
    return copy
  }

  private include(target: unknown, at: Origin, chain: string[]): Mapping {
    if (typeof target !== 'string' || target === '') throw this.error(at, 'expected the path of a YAML file, relative to this file')
    const path = resolve(dirname(join(this.root, at.file)), target)
    const file = this.relative(path)
    if (chain.includes(file)) throw this.error(at, `$include cycle: ${[...chain, file].join(' → ')}; a file cannot include itself, directly or not`)
    if (!existsSync(path) || !statSync(path).isFile()) throw this.error(at, `${target}${file === target ? '' : ` (${file})`} does not exist`)
    return this.load(file, [...chain, file])
  }

  /** Records that `holder[key]` is written at `at` (for a value built outside the YAML, like the legacy manifest's wrapper). */
  adopt(holder: object, key: Key, at: Origin): void {
    const map = this.entries.get(holder) ?? new Map<Key, Origin>()
    map.set(key, at)
    this.entries.set(holder, map)
  }

  /** `holder[key]`, which must be a mapping; `absent` (if given) when it is missing or empty. */
  mapping(holder: object, key: Key, absent?: Mapping): Mapping {
    const value = (holder as Record<Key, unknown>)[key]
    if (absent && value == null) return absent
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.fail(holder, key, `expected a mapping (key: value lines), got ${value === null ? 'nothing' : Array.isArray(value) ? 'a list' : JSON.stringify(value)}`)
    }
    return value as Mapping
  }

  /** Where `holder[key]` is written; for a missing key, where it would be (its holder's path plus the key). */
  originOf(holder: object, key: Key): Origin {
    const known = this.entries.get(holder)?.get(key)
    if (known) return known
    const parent = this.self.get(holder) ?? { file: APP_CONFIG_FILE, path: [] }
    return child(parent, key)
  }

  /** `file:line: yaml.path` for messages. */
  where(holder: object, key: Key): string {
    return this.describe(this.originOf(holder, key))
  }

  fail(holder: object, key: Key, message: string): never {
    throw this.error(this.originOf(holder, key), message)
  }

  private error(at: Origin, message: string): ConfigError {
    return new ConfigError(`${this.describe(at)}: ${message}`)
  }

  private describe(at: Origin): string {
    const line = this.lineOf(at)
    const path = at.path.map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index ? '.' : ''}${key}`)).join('')
    return `${at.file}${line ? `:${line}` : ''}${path ? `: ${path}` : ''}`
  }

  /** The line of the deepest key of `at.path` found in its file (a missing key points at its parent). */
  private lineOf(at: Origin): number | undefined {
    const parsed = this.parsed.get(at.file)
    if (!parsed) return undefined
    let node: unknown = parsed.doc.contents
    let line: number | undefined
    for (const key of at.path) {
      if (isAlias(node)) node = node.resolve(parsed.doc)
      let found: unknown
      let start: number | undefined
      if (isMap(node)) {
        const pair = node.items.find((item) => String(isScalar(item.key) ? item.key.value : item.key) === String(key))
        if (!pair) break // a key that is missing, or comes from a `<<` merge: its parent's line
        found = pair.value
        start = (pair.key as YamlNode | null)?.range?.[0]
      } else if (isSeq(node) && typeof key === 'number' && key < node.items.length) {
        found = node.items[key]
        start = (found as YamlNode | undefined)?.range?.[0]
      } else break
      if (start !== undefined) line = parsed.lines.linePos(start).line
      node = found
    }
    return line
  }
}

export function child(at: Origin, key: Key): Origin {
  return { file: at.file, path: [...at.path, key] }
}
