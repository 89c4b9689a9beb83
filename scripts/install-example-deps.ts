/**
 * @module
 * Installs the npm dependencies of the App Builder example (`examples/app-builder`: `@adobe/aio-sdk`,
 * `got`, `oauth-1.0a`), which its actions `require` from their own `node_modules` as they do when
 * deployed. Run before the tests (the root `pretest` script), so `npm test` stays the one command:
 * - quiet, and instant, when `node_modules` is there and at least as new as `package-lock.json`;
 * - otherwise `npm ci --no-audit --no-fund --ignore-scripts` in the example's directory, exactly
 *   what its lockfile says (install scripts are skipped: the only ones in that tree build
 *   tree-sitter parsers and send install analytics, and no action needs either);
 * - on failure, exits non-zero with a message saying what to run by hand.
 *
 * Run: `node scripts/install-example-deps.ts` (any directory).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
const EXAMPLE_DIRS = ['examples/app-builder']
/**
 * npm writes `package-lock.json` and `node_modules/.package-lock.json` a moment apart in one
 * install; a lockfile newer by less than this is from the same install.
 */
const SAME_INSTALL_MS = 2000

/**
 * Why `dir`'s dependencies need installing, or null when they are up to date.
 *
 * @example
 * installReason('/repo/examples/app-builder') // 'node_modules is missing', or null
 */
function installReason(dir: string): string | null {
  const lock = join(dir, 'package-lock.json')
  if (!existsSync(lock)) throw new Error(`${lock} is missing: run \`npm install\` in ${dir} once to create it, and commit it`)
  const modules = join(dir, 'node_modules')
  if (!existsSync(modules)) return 'node_modules is missing'
  // npm's own record of the last install; the directory's time when an older npm left none.
  const marker = join(modules, '.package-lock.json')
  const installedAt = statSync(existsSync(marker) ? marker : modules).mtimeMs
  if (statSync(lock).mtimeMs > installedAt + SAME_INSTALL_MS) return 'package-lock.json changed since node_modules was installed'
  return null
}

/** Runs `npm ci` in `dir`; throws with npm's exit status when it fails. */
function installDependencies(dir: string): void {
  const args = ['ci', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', dir]
  // Under `npm test`, the npm that runs this script; otherwise the one on PATH.
  const npmCli = process.env.npm_execpath
  const [command, commandArgs] = npmCli?.endsWith('.js') ? [process.execPath, [npmCli, ...args]] : [process.platform === 'win32' ? 'npm.cmd' : 'npm', args]
  const result = spawnSync(command, commandArgs, {
    cwd: dir,
    stdio: ['ignore', 'inherit', 'inherit'],
    // npm.cmd runs only through a shell on Windows.
    shell: process.platform === 'win32' && command === 'npm.cmd',
  })
  if (result.error) throw new Error(`could not run npm (${result.error.message}); is npm on PATH?`)
  if (result.status !== 0) throw new Error(`npm ci exited with ${result.status ?? `signal ${result.signal}`}`)
}

function main(): void {
  for (const example of EXAMPLE_DIRS) {
    const dir = join(REPO_ROOT, example)
    try {
      const reason = installReason(dir)
      if (reason === null) continue
      console.log(`${example}: installing its dependencies (${reason}): npm ci`)
      installDependencies(dir)
    } catch (error) {
      const shown = relative(process.cwd(), dir) || '.'
      console.error(`install-example-deps: ${example}: ${(error as Error).message}`)
      console.error(`  Its tests need its dependencies. Fix the cause above, then run: (cd ${shown} && npm ci)`)
      process.exit(1)
    }
  }
}

main()
