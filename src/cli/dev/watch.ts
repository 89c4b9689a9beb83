/**
 * @module
 * Watches a project directory for the changes `storehook dev` reloads on: the config, `.env`,
 * actions, external resources, an App Builder project's `app.config.yaml` and action files, and
 * whatever code or JSON/YAML they import. Not `fs.watch(dir, { recursive: true })`: on Linux
 * that walks and watches every directory, `node_modules` included (tens of thousands of inotify
 * watches for a project with dependencies); here each directory that can hold project code gets
 * one watcher, and directories created later are picked up as they appear.
 */
import { existsSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs'
import { join, relative, sep } from 'node:path'

/** Directories that never hold what the runtime loads (or that change under it: the store). */
const IGNORED_DIRS = new Set(['node_modules', 'dist', 'build', 'coverage', 'test', 'tests', '__tests__'])
const WATCHED_FILE = /\.(ts|mts|cts|js|mjs|cjs|json|ya?ml)$/
const NOT_LOADED = /(\.(test|spec)\.[^.]+|\.d\.ts|^package-lock\.json)$/

export interface ProjectWatcher {
  close(): void
}

export interface WatchOptions {
  /** Quiet time after the last change before `onChange` is called (default 150 ms): an editor's save is several events. */
  debounceMs?: number
}

/** Whether a change to `path` (relative to the project, `/`-separated) warrants a reload. */
export function isWatchedPath(path: string): boolean {
  const parts = path.split('/')
  const name = parts.at(-1)!
  if (parts.slice(0, -1).some((dir) => dir.startsWith('.') || IGNORED_DIRS.has(dir))) return false
  if (name === '.env') return true
  return !name.startsWith('.') && WATCHED_FILE.test(name) && !NOT_LOADED.test(name)
}

/**
 * Calls `onChange` with the project-relative paths that changed, once they have been quiet for
 * `debounceMs`.
 *
 * @example
 * const watcher = watchProject('examples/quickstart', (files) => console.log('changed:', files))
 * watcher.close()
 */
export function watchProject(dir: string, onChange: (files: string[]) => void, options: WatchOptions = {}): ProjectWatcher {
  const debounceMs = options.debounceMs ?? 150
  const watchers = new Map<string, FSWatcher>()
  const changed = new Set<string>()
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const flush = () => {
    timer = undefined
    if (closed || changed.size === 0) return
    const files = [...changed].sort()
    changed.clear()
    onChange(files)
  }

  const add = (path: string) => {
    if (closed || watchers.has(path)) return
    let watcher: FSWatcher
    try {
      watcher = watch(path, (_event, filename) => {
        if (!filename) return
        const full = join(path, filename.toString())
        const rel = relative(dir, full).split(sep).join('/')
        // A new directory: watch it (and what is already in it) from now on.
        if (isDirectory(full)) {
          if (isWatchedDir(rel)) walk(full)
          return
        }
        if (!isWatchedPath(rel)) return
        changed.add(rel)
        clearTimeout(timer)
        timer = setTimeout(flush, debounceMs)
      })
    } catch {
      return // gone already, or not readable: nothing to watch
    }
    // The directory was removed (or became unreadable): its watcher is of no more use.
    watcher.on('error', () => {
      watcher.close()
      watchers.delete(path)
    })
    watchers.set(path, watcher)
  }

  const walk = (path: string) => {
    add(path)
    let entries
    try {
      entries = readdirSync(path, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue
      const full = join(path, entry.name)
      if (isWatchedDir(relative(dir, full).split(sep).join('/'))) walk(full)
    }
  }

  walk(dir)
  return {
    close() {
      closed = true
      clearTimeout(timer)
      for (const watcher of watchers.values()) watcher.close()
      watchers.clear()
    },
  }
}

function isWatchedDir(rel: string): boolean {
  return !rel.split('/').some((part) => part.startsWith('.') || IGNORED_DIRS.has(part))
}

function isDirectory(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isDirectory()
  } catch {
    return false
  }
}
