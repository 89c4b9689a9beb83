/**
 * @module
 * A PostgreSQL server for the tests of one test file: `DATABASE_URL` when it is set, otherwise a
 * throwaway cluster started from the installed server binaries (initdb + postgres on 127.0.0.1, a
 * free port, `fsync=off`, data in a temp dir), stopped and removed after the file's tests.
 *
 * It never skips: when no server can be started, the tests that need one fail with the reason, so a
 * machine without PostgreSQL cannot pass CI by accident.
 *
 * Server binaries are looked for in `$PG_BIN`, then `/usr/lib/postgresql/<newest>/bin`, then the
 * directory `pg_config --bindir` names. initdb refuses to run as root, so as root the cluster is
 * created and run as the `postgres` user (spawned with its uid and gid, so signals reach the server
 * itself and not a wrapper such as runuser, which does not pass SIGQUIT on and reap).
 *
 * @example
 * const server = await usePostgres()   // top level of the test file; stopped after its tests
 * it('…', async () => { const store = await openPostgresStore({ url: server.url }) })
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'

export interface PostgresServer {
  /** A connection URL for a superuser on a database the tests may fill freely. */
  url: string
  stop(): Promise<void>
}

/**
 * Starts (or, with DATABASE_URL, just names) this test file's PostgreSQL server and stops it after
 * the file's tests. Await it at the top level of the test file: if the server cannot start, the
 * file fails right there with the reason.
 */
export async function usePostgres(): Promise<PostgresServer> {
  const server = await startPostgres()
  after(() => server.stop())
  return server
}

/**
 * @param options.durable fsync as a production server does (for benchmarks); tests run with
 *   `fsync=off`, which loses nothing unless the machine itself goes down.
 * @throws Error saying why PostgreSQL could not be started (never resolves to "skip").
 */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<PostgresServer> {
  const given = process.env.DATABASE_URL
  if (given) return { url: given, stop: async () => {} }
  return startThrowawayCluster(options.durable ?? false)
}

function findBinDir(): string {
  const candidates: string[] = []
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN)
  const debianRoot = '/usr/lib/postgresql'
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
    candidates.push(...versions.map((v) => join(debianRoot, v, 'bin')))
  }
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim())
  } catch {
    // No pg_config on PATH; the other candidates may still do.
  }
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')))
  if (!found) {
    throw new Error(
      'PostgreSQL server binaries (initdb, postgres) were not found in $PG_BIN, /usr/lib/postgresql/*/bin or ' +
        '`pg_config --bindir`. Install them (Debian: apt-get install postgresql) or set DATABASE_URL to a server ' +
        'the tests may use. The PostgreSQL tests do not skip.',
    )
  }
  return found
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function startThrowawayCluster(durable: boolean): Promise<PostgresServer> {
  const bin = findBinDir()
  const dir = mkdtempSync(join(tmpdir(), 'storehook-pg-'))
  const data = join(dir, 'data')
  // Run the server binaries as ourselves, or as `postgres` when we are root (initdb refuses root).
  const user: { uid?: number; gid?: number } = userInfo().uid === 0 ? postgresUser() : {}
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!)
  const cleanup = () => rmSync(dir, { recursive: true, force: true })

  try {
    const args = ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']
    execFileSync(join(bin, 'initdb'), args, { stdio: ['ignore', 'ignore', 'pipe'], ...user })
  } catch (error) {
    cleanup()
    throw new Error(`initdb failed in ${data}: ${stderrOf(error)}`, { cause: error })
  }

  // A port can be taken between freePort() and listen; try a few.
  let lastError = ''
  for (let tries = 0; tries < 5; tries++) {
    const port = await freePort()
    const args = [
      '-D', data,
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `port=${port}`,
      '-c', `unix_socket_directories=${dir}`,
      ...(durable ? [] : ['-c', 'fsync=off', '-c', 'full_page_writes=off']),
      '-c', 'max_connections=200',
      '-c', 'shared_buffers=64MB',
    ]
    const child = spawn(join(bin, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], ...user })
    let stderr = ''
    child.stderr!.on('data', (chunk) => (stderr += String(chunk)))
    const ready = await waitReady(child, () => stderr, 15_000)
    if (ready === true) {
      child.stderr!.removeAllListeners('data').resume()
      const stopSync = () => {
        if (child.exitCode === null) child.kill('SIGQUIT')
        cleanup()
      }
      // If the test process exits without running `after` (a crash), do not leave the server behind.
      process.once('exit', stopSync)
      return {
        url: `postgres://postgres@127.0.0.1:${port}/postgres`,
        async stop() {
          process.removeListener('exit', stopSync)
          if (child.exitCode === null) {
            const exited = new Promise((resolve) => child.once('exit', resolve))
            child.kill('SIGQUIT') // immediate shutdown: nothing here needs to survive
            await exited
          }
          cleanup()
        },
      }
    }
    lastError = ready
    if (child.exitCode === null) child.kill('SIGQUIT')
    if (!/could not (bind|create)|already in use/i.test(ready)) break
  }
  cleanup()
  throw new Error(`PostgreSQL did not start (binaries in ${bin}): ${lastError}`)
}

/** Resolves true once the server accepts connections, or with the reason it will not. */
function waitReady(child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<true | string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(`not ready after ${timeoutMs} ms; its log: ${stderr()}`), timeoutMs)
    const poll = setInterval(() => {
      if (/ready to accept connections/.test(stderr())) finish(true)
    }, 20)
    const onExit = (code: number | null) => finish(`the server exited (code ${code}); its log: ${stderr()}`)
    child.once('exit', onExit)
    child.once('error', (error) => finish(`could not run ${child.spawnfile}: ${error.message}`))
    function finish(result: true | string) {
      clearTimeout(timer)
      clearInterval(poll)
      child.removeListener('exit', onExit)
      resolve(result)
    }
  })
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'))
  if (!line) {
    throw new Error(
      'running as root, and there is no `postgres` user to run initdb as (initdb refuses root). ' +
        'Create one (Debian: installing postgresql does) or set DATABASE_URL.',
    )
  }
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: Buffer | string }).stderr
  return stderr ? String(stderr).trim() : (error as Error).message
}
