/**
 * Runs the real `storehook start` CLI as a child process, for the crash tests: the process can be
 * killed with any signal and started again on the same SQLite file. Every child started here is
 * SIGKILLed when the test file ends (or its process exits), even if a test failed half-way.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { after } from 'node:test'
import { join } from 'node:path'
import { REPO_ROOT } from './helpers.ts'

const CLI = join(REPO_ROOT, 'bin', 'storehook.js')
/** Kept per child for diagnostics; older lines are dropped. */
const MAX_LINES = 400

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface StorehookProcess {
  /** e.g. `http://127.0.0.1:41234`, read from the `storehook listening on …` line. */
  url: string
  pid: number
  child: ChildProcess
  /** The last lines the process wrote (stdout and stderr), for failure messages. */
  output: string[]
  /** Resolves when the process has exited. */
  exited: Promise<Exit>
  /** Set once the process has exited. */
  exit: Exit | null
  /** Sends `signal` (unless the process already exited) and waits up to `timeoutMs` for it to exit. */
  kill(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>
  /** Waits up to `timeoutMs` for the process to exit; throws (with its output) if it does not. */
  waitForExit(timeoutMs: number): Promise<Exit>
  /** Parsed JSON log lines of the recent output. */
  logs(): Record<string, unknown>[]
}

const live = new Set<ChildProcess>()
let cleanupRegistered = false

function registerCleanup(): void {
  if (cleanupRegistered) return
  cleanupRegistered = true
  after(() => killAll())
  // If the test process itself dies (a timeout, an uncaught error), take the children with it.
  process.once('exit', killAll)
}

/** SIGKILLs every child still running. */
export function killAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  live.clear()
}

export interface SpawnOptions {
  project: string
  /** e.g. `sqlite:/tmp/x/storehook.db` */
  db: string
  /** Extra environment; LOG_LEVEL defaults to `info`. */
  env?: Record<string, string>
  readyTimeoutMs?: number
}

/** Runs `storehook <args>` (not `start`) to completion and returns its stdout; throws on a non-zero exit. */
export async function runCli(args: string[], timeoutMs = 15_000): Promise<string> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: childEnv({}), stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  registerCleanup()
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const exit = await new Promise<Exit>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`storehook ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}${stderr}`))
    }, timeoutMs)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal })
    })
  })
  live.delete(child)
  if (exit.code !== 0) throw new Error(`storehook ${args.join(' ')} exited with ${exit.code ?? exit.signal}\n${stdout}${stderr}`)
  return stdout
}

/** Starts `storehook start --project … --port 0 --db …` and resolves once it prints its URL. */
export async function startStorehookProcess(options: SpawnOptions): Promise<StorehookProcess> {
  registerCleanup()
  const args = [CLI, 'start', '--project', options.project, '--port', '0', '--db', options.db]
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: childEnv({ LOG_LEVEL: 'info', ...options.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  const output: string[] = []
  const keep = (line: string) => {
    output.push(line)
    if (output.length > MAX_LINES) output.shift()
  }
  let exit: Exit | null = null
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal }
      live.delete(child)
      resolve(exit)
    })
  })
  // Always drain both pipes: a child blocked on a full pipe would look like a hung runtime.
  createInterface({ input: child.stderr }).on('line', (line) => keep(`[stderr] ${line}`))
  const url = await new Promise<string>((resolve, reject) => {
    const timeoutMs = options.readyTimeoutMs ?? 15_000
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`storehook did not print its URL within ${timeoutMs} ms:\n${output.join('\n')}`))
    }, timeoutMs)
    createInterface({ input: child.stdout }).on('line', (line) => {
      keep(line)
      const match = /^storehook listening on (http:\/\/\S+)/.exec(line)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    void exited.then((e) => {
      clearTimeout(timer)
      // Give the pipes a moment so the error message has the child's last words.
      setTimeout(() => reject(new Error(`storehook exited (${e.code ?? e.signal}) before it was ready:\n${output.join('\n')}`)), 50)
    })
  })

  const waitForExit = async (timeoutMs: number): Promise<Exit> => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`storehook (pid ${child.pid}) did not exit within ${timeoutMs} ms:\n${output.slice(-40).join('\n')}`)),
        timeoutMs,
      )
    })
    try {
      return await Promise.race([exited, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    url,
    pid: child.pid!,
    child,
    output,
    exited,
    get exit() {
      return exit
    },
    async kill(signal = 'SIGKILL', timeoutMs = 10_000) {
      if (exit) return exit
      child.kill(signal)
      return waitForExit(timeoutMs)
    },
    waitForExit,
    logs() {
      return output.flatMap((line) => {
        if (!line.startsWith('{')) return []
        try {
          return [JSON.parse(line) as Record<string, unknown>]
        } catch {
          return []
        }
      })
    },
  }
}

/** The test runner's environment, minus what would change how storehook starts or what it runs. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  for (const name of ['NODE_TEST_CONTEXT', 'NODE_OPTIONS', 'STOREHOOK_ADMIN_TOKEN', 'STOREHOOK_DB', 'STOREHOOK_HOST', 'PORT']) {
    if (!(name in extra)) delete env[name]
  }
  return env
}
