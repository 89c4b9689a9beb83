/**
 * @module
 * Storage faults under SQLite: the database read-only, and the disk full. The promise under test
 * is DESIGN's first one: an event is acknowledged (2xx) only once it is durable, so while the file
 * cannot be written every POST gets 503 (the platform retries), and after recovery every event
 * that did get a 2xx is delivered.
 *
 * How the faults are made, without faking the store:
 * - with the right to mount (root with CAP_SYS_ADMIN, as on this project's dev box), the database
 *   lives on its own small tmpfs: filling it gives SQLite a real ENOSPC, and remounting it
 *   read-only gives a real EROFS;
 * - without it, read-only is `chmod` of the directory and files (which binds non-root users only),
 *   and disk-full cannot be made: the case says so in its notes and the test reports it skipped.
 *   Root runs this path too by starting storehook as another user (`options.user`).
 * A running process keeps its open file descriptors writable whatever chmod says, and Linux will not
 * remount a filesystem read-only while files on it are open for writing: so read-only is met the way
 * it happens in production, at a (re)start on a volume that came back read-only.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { userInfo } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { startErpSimulator } from '../../src/testkit/erp-simulator.ts'
import { waitSettled } from './cases.ts'
import { awaitDelivery, Cleanup, emptyResult, forwardProject, kill9, Load, record, runStates, startChild, type CaseResult, type ChildStorehook } from './driver.ts'

/** Mounts a tmpfs of `sizeMb` at `dir`; false when this process may not mount. */
function tryMount(dir: string, sizeMb: number): boolean {
  if (userInfo().uid !== 0) return false
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755`, 'tmpfs', dir], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function remount(dir: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' })
}

/** Writes 1 MiB chunks to `path` until the filesystem refuses (ENOSPC). */
function fill(path: string): number {
  const fd = openSync(path, 'w')
  const chunk = Buffer.alloc(1 << 20, 1)
  let written = 0
  try {
    for (;;) written += writeSync(fd, chunk)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
  } finally {
    closeSync(fd)
  }
  return written
}

export interface StorageSize {
  senders: number
  /** How long each fault lasts under load. */
  faultMs: number
}

/**
 * Read-only database at restart (and, where mounting is allowed, disk full while running); returns
 * the result and whether the disk-full part could run.
 */
export async function storageFaultCase(size: StorageSize, options: { user?: { uid: number; gid: number } } = {}): Promise<CaseResult & { diskFullRan: boolean }> {
  const started = Date.now()
  const result = { ...emptyResult('SQLite read-only / disk full'), diskFullRan: false }
  const cleanup = new Cleanup()
  try {
    const erp = await startErpSimulator()
    cleanup.add(() => erp.close())
    const project = forwardProject(cleanup, erp.url)
    const dataDir = join(project, 'data')
    mkdirSync(dataDir)
    const { user } = options
    if (user) chownTree(project, user.uid, user.gid)
    const mounted = !user && tryMount(dataDir, 24)
    if (mounted) cleanup.add(() => execFileSync('umount', ['-l', dataDir], { stdio: 'ignore' }))
    else if (!user && userInfo().uid === 0) {
      result.notes.push('root without the right to mount: chmod binds no root process, so neither fault can be made here')
      result.ms = Date.now() - started
      return result
    }
    result.notes.push(mounted ? 'faults on a real tmpfs (ENOSPC, EROFS)' : `read-only by chmod${user ? ` (storehook as uid ${user.uid})` : ''}; disk full needs mount rights and was not run`)
    const db = `sqlite:${join(dataDir, 'chaos.db')}`

    let target: string | null = null
    const load = new Load(() => target, { senders: size.senders, gapMs: 5 }).start()
    cleanup.add(() => load.stop())
    let proc: ChildStorehook = await startChild(cleanup, { project, db, ...user })
    target = proc.url
    await sleep(size.faultMs / 2)

    if (mounted) {
      // Disk full while running: the next commits that need new pages meet ENOSPC.
      const filler = join(dataDir, 'filler')
      fill(filler)
      result.faults += 1
      await sleep(size.faultMs)
      rmSync(filler)
      result.diskFullRan = true
      const beforeRecovery = load.acknowledged.size
      await sleep(size.faultMs / 2)
      result.notes.push(`${load.acknowledged.size - beforeRecovery} acknowledged in the first ${size.faultMs / 2} ms after space came back, without a restart`)
      if (proc.exit) result.unexpectedCrashes += 1
    }

    // Read-only: the process goes down (kill -9), the volume comes back read-only, storehook restarts on it.
    target = null
    await kill9(proc)
    result.faults += 1
    if (mounted) remount(dataDir, 'ro')
    else setModes(dataDir, 0o555, 0o444)
    load.notDurable = true
    const before = { ...load.rejected }
    let refusedToStart = false
    try {
      proc = await startChild(cleanup, { project, db, ...user })
      target = proc.url
      await sleep(size.faultMs)
      target = null
      await kill9(proc)
    } catch (error) {
      refusedToStart = true
      result.notes.push(`on a read-only database storehook refused to start: ${firstLine(error)}`)
    }
    load.notDurable = false
    const readOnly503 = (load.rejected[503] ?? 0) - (before[503] ?? 0)
    if (!refusedToStart) result.notes.push(`${readOnly503} answered 503 while the database was read-only`)
    if (mounted) remount(dataDir, 'rw')
    else setModes(dataDir, 0o755, 0o644)

    proc = await startChild(cleanup, { project, db, ...user })
    target = proc.url
    await sleep(size.faultMs / 2)
    await load.stop()
    const t = await awaitDelivery(erp, load.acknowledged, 60_000)
    await waitSettled(proc.url, 20_000)
    const states = await runStates(proc.url)
    result.runs = states.succeeded! + states.dead!
    if (proc.exit) result.unexpectedCrashes += 1
    record(result, load, t, erp)
  } finally {
    await cleanup.run()
  }
  result.ms = Date.now() - started
  return result
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid)
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) chownTree(join(dir, entry.name), uid, gid)
    else chownSync(join(dir, entry.name), uid, gid)
  }
}

function setModes(dir: string, dirMode: number, fileMode: number): void {
  for (const name of readdirSync(dir)) chmodSync(join(dir, name), fileMode)
  chmodSync(dir, dirMode)
}

function firstLine(error: unknown): string {
  const lines = String((error as Error).message).split('\n')
  return lines.find((l) => /readonly|read-only|EROFS|EACCES|unable to open|attempt to write/i.test(l))?.slice(0, 200) ?? lines[0]!.slice(0, 200)
}
