/**
 * @module
 * PostgreSQL stopped and started again under load: a throwaway cluster of this case's own (the
 * shared `test/postgres-cluster.ts` cannot restart its server), fast shutdown (SIGINT, what
 * `pg_ctl stop -m fast` sends) while storehook keeps receiving, then the same data directory and
 * port again. While the server is down no event may get a 2xx; afterwards every acknowledged one
 * is delivered. Needs the server binaries (`$PG_BIN` or `/usr/lib/postgresql/<v>/bin`); when they
 * are missing the case throws with the reason (it never passes by skipping).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLogger } from '../../src/runtime/logger.ts'
import { startStorehook } from '../../src/server/start.ts'
import { startErpSimulator } from '../../src/testkit/erp-simulator.ts'
import { waitSettled } from './cases.ts'
import { awaitDelivery, Cleanup, emptyResult, forwardProject, Load, record, runStates, type CaseResult } from './driver.ts'

function binDir(): string {
  const root = '/usr/lib/postgresql'
  const candidates = [process.env.PG_BIN ?? '', ...(existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)).map((v) => join(root, v, 'bin')) : [])]
  const found = candidates.find((d) => d && existsSync(join(d, 'postgres')))
  if (!found) throw new Error('PostgreSQL server binaries not found in $PG_BIN or /usr/lib/postgresql/*/bin: install them (Debian: apt-get install postgresql)')
  return found
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

/** A cluster that can be stopped and started again on the same data and port. */
export async function restartableCluster(cleanup: Cleanup) {
  const bin = binDir()
  const dir = mkdtempSync(join(tmpdir(), 'storehook-chaos-pg-'))
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }))
  const data = join(dir, 'data')
  let user: { uid?: number; gid?: number } = {}
  if (userInfo().uid === 0) {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'))
    if (!line) throw new Error('running as root without a `postgres` user to run initdb as')
    const [, , uid, gid] = line.split(':')
    user = { uid: Number(uid), gid: Number(gid) }
    chownSync(dir, user.uid!, user.gid!)
  }
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync'], { stdio: 'ignore', ...user })
  const port = await freePort()
  let child: ChildProcess | null = null
  const start = async () => {
    const c = spawn(join(bin, 'postgres'), ['-D', data, '-c', 'listen_addresses=127.0.0.1', '-c', `port=${port}`, '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off'], { stdio: ['ignore', 'ignore', 'pipe'], ...user })
    let log = ''
    c.stderr!.on('data', (chunk) => (log += String(chunk)))
    const deadline = Date.now() + 20_000
    while (!/ready to accept connections/.test(log)) {
      if (c.exitCode !== null || Date.now() > deadline) throw new Error(`PostgreSQL did not start: ${log}`)
      await sleep(20)
    }
    child = c
  }
  const stop = async () => {
    const c = child
    if (!c || c.exitCode !== null) return
    const exited = new Promise((resolve) => c.once('exit', resolve))
    c.kill('SIGINT') // fast shutdown: sessions are ended, as in `pg_ctl restart -m fast`
    await exited
    child = null
  }
  await start()
  cleanup.add(stop)
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, start, stop }
}

export interface PostgresSize {
  senders: number
  restarts: number
  /** How long the server stays down each time. */
  downMs: number
}

export async function postgresRestartCase(size: PostgresSize): Promise<CaseResult> {
  const started = Date.now()
  const result = emptyResult('PostgreSQL restarted under load')
  const cleanup = new Cleanup()
  try {
    const cluster = await restartableCluster(cleanup)
    const erp = await startErpSimulator()
    cleanup.add(() => erp.close())
    const project = forwardProject(cleanup, erp.url)
    const storehook = await startStorehook({ project, db: cluster.url, port: 0, logger: createLogger({ level: 'silent' }) })
    cleanup.add(() => storehook.close())
    const load = new Load(() => storehook.url, { senders: size.senders, gapMs: 5 }).start()
    cleanup.add(() => load.stop())
    await sleep(size.downMs / 2)
    for (let i = 0; i < size.restarts; i++) {
      // Only once the server has exited: a write that commits during the fast shutdown is durable,
      // and its 2xx is right.
      await cluster.stop()
      load.notDurable = true
      result.faults += 1
      await sleep(size.downMs)
      load.notDurable = false
      await cluster.start()
      await sleep(size.downMs)
    }
    await load.stop()
    const t = await awaitDelivery(erp, load.acknowledged, 60_000)
    await waitSettled(storehook.url, 20_000)
    const states = await runStates(storehook.url)
    result.runs = states.succeeded! + states.dead!
    record(result, load, t, erp)
  } finally {
    await cleanup.run()
  }
  result.ms = Date.now() - started
  return result
}
