/**
 * @module
 * One version ("generation") of the project under `storehook dev`: the real `storehook start`,
 * in a child process on a free loopback port, on the same store as every other generation.
 *
 * Why a process per version rather than re-importing the project in one process: a fresh process
 * is the only reload that is always complete. ESM has no way to unload a module (a cache-busting
 * query reloads the file but not what it imports), timers and sockets an action module opened
 * at load would live on, and `.env` must be read again from a clean environment. The cost is a
 * Node start (well under a second), paid only when a file changes.
 *
 * The child is started with an IPC channel and `--exit-with-parent`: if `storehook dev` is killed
 * outright, its children stop (finishing or releasing their runs) instead of living on.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** `bin/storehook.js`, from `src/cli/dev/` as from `dist/cli/dev/`. */
const CLI = fileURLToPath(new URL('../../../bin/storehook.js', import.meta.url))
const READY = /^storehook listening on (http:\/\/\S+)/
/** How long the banner lines after "listening on" may trickle in. */
const BANNER_QUIET_MS = 100

export interface GenerationOptions {
  number: number
  project: string
  db?: string
  env: NodeJS.ProcessEnv
  /** A JSON log line, or a line an action printed. */
  onOutput(line: string, stream: 'stdout' | 'stderr'): void
  /** How long loading may take (default 60 s): an action that hangs at import must not hang dev. */
  readyTimeoutMs?: number
}

export interface Generation {
  number: number
  /** The child's own port on 127.0.0.1. */
  port: number
  /** The lines `storehook start` printed after its URL (project, dashboard, endpoints), its URL replaced by `{url}`. */
  banner: string[]
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>
  /** SIGTERM (in-flight runs finish or are released), then waits for the exit. */
  stop(): Promise<number | null>
  /** SIGKILL, for a second Ctrl-C. */
  kill(): void
}

/** The generation could not start; `message` is what it printed (the project's error). */
export class GenerationFailed extends Error {}

/**
 * Starts `storehook start` for the project and resolves once it serves.
 *
 * @throws GenerationFailed when the child exits (or times out) before it listens
 * @example
 * const generation = await startGeneration({ number: 1, project: '.', env: process.env, onOutput: console.log })
 * await generation.stop()
 */
export function startGeneration(options: GenerationOptions): Promise<Generation> {
  const args = [CLI, 'start', '--project', options.project, '--port', '0', '--host', '127.0.0.1', '--exit-with-parent']
  if (options.db) args.push('--db', options.db)
  const child: ChildProcess = spawn(process.execPath, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  // Until it is up, what it says is kept for the failure message; after, it goes to the terminal.
  const early: string[] = []
  let phase: 'loading' | 'banner' | 'serving' = 'loading'

  return new Promise<Generation>((resolve, reject) => {
    let url = ''
    const banner: string[] = []
    let quiet: NodeJS.Timeout | undefined
    const ready = () => {
      phase = 'serving'
      clearTimeout(timeout)
      resolve({
        number: options.number,
        port: Number(new URL(url).port),
        banner,
        exited,
        stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
          return exited
        },
        kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        },
      })
    }
    const timeoutMs = options.readyTimeoutMs ?? 60_000
    const timeout = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new GenerationFailed(`the project did not finish loading within ${timeoutMs / 1000} s (an action that waits forever at import?)\n${early.join('\n')}`))
    }, timeoutMs)

    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (phase === 'loading') {
        const match = READY.exec(line)
        if (!match) return line.startsWith('{') ? options.onOutput(line, 'stdout') : void early.push(line)
        url = match[1]!
        phase = 'banner'
        quiet = setTimeout(ready, BANNER_QUIET_MS)
        return
      }
      if (phase === 'banner' && line.startsWith('  ')) {
        banner.push(line.replaceAll(url, '{url}'))
        clearTimeout(quiet)
        quiet = setTimeout(ready, BANNER_QUIET_MS)
        return
      }
      if (phase === 'banner') {
        clearTimeout(quiet)
        ready()
      }
      options.onOutput(line, 'stdout')
    })
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (phase === 'loading') early.push(line)
      else options.onOutput(line, 'stderr')
    })
    void exited.then((code) => {
      if (phase !== 'loading') return
      clearTimeout(timeout)
      // A moment for the pipes to deliver the child's last words (its error message).
      setTimeout(() => reject(new GenerationFailed(early.join('\n') || `storehook start exited with ${code} before listening`)), 50)
    })
  })
}
