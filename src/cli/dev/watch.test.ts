import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { isWatchedPath, watchProject } from './watch.ts'

describe('isWatchedPath', () => {
  it('takes what the runtime loads: config, .env, code, JSON and YAML', () => {
    for (const path of ['storehook.config.ts', '.env', 'actions/order.ts', 'external/payment/capture.mjs', 'app.config.yaml', 'lib/erp.js', 'actions/x/index.cjs', 'data/skus.json']) {
      assert.ok(isWatchedPath(path), path)
    }
  })

  it('leaves out tests, dependencies, the store, dotfiles and editor leftovers', () => {
    for (const path of ['actions/order.test.ts', 'node_modules/x/index.js', '.storehook/storehook.db', '.git/config', 'test/order.ts', 'types.d.ts', 'package-lock.json', '.order.ts.swp', 'actions/order.ts~', '.env.example', 'README.md']) {
      assert.ok(!isWatchedPath(path), path)
    }
  })
})

describe('watchProject', () => {
  const dir = mkdtempSync(join(tmpdir(), 'storehook-watch-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'actions'))
  mkdirSync(join(dir, 'node_modules'))

  it('reports the changed files once they are quiet, in directories made after it started too', async () => {
    const batches: string[][] = []
    const watcher = watchProject(dir, (files) => batches.push(files), { debounceMs: 100 })
    try {
      writeFileSync(join(dir, 'actions/a.ts'), 'export default 1')
      writeFileSync(join(dir, 'actions/a.ts'), 'export default 2')
      writeFileSync(join(dir, 'node_modules/ignored.js'), '')
      writeFileSync(join(dir, 'notes.md'), '')
      await waitFor(() => batches.length === 1)
      assert.deepEqual(batches[0], ['actions/a.ts'])

      mkdirSync(join(dir, 'external'))
      await new Promise((resolve) => setTimeout(resolve, 100)) // the new directory is being watched
      writeFileSync(join(dir, 'external/price.ts'), 'export default 1')
      writeFileSync(join(dir, '.env'), 'A=1\n')
      await waitFor(() => batches.length === 2)
      assert.deepEqual(batches[1], ['.env', 'external/price.ts'])
    } finally {
      watcher.close()
    }
  })
})

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
