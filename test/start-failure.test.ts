/**
 * `startStorehook` that cannot listen (its port is taken) rejects with why and leaves nothing
 * running behind it — neither its store's thread nor its handler threads — so a program that
 * catches the error ends on its own instead of hanging. Run in a child process, whose exit is the
 * observable: anything left open would keep it alive.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { it } from 'node:test'
import { promisify } from 'node:util'
import { makeProject, REPO_ROOT, webhooksConfig } from './helpers.ts'

const project = makeProject({
  'storehook.config.ts': webhooksConfig(),
  'actions/forward.ts': `import { onEvent } from 'storehook'\nexport default onEvent('order.created', async () => {})\n`,
  'external/price.ts': `import { commerceLayer } from 'storehook'
export default commerceLayer.price(async () => ({ unit_amount_cents: 100 }), { secrets: 'cl_secret_for_the_start_failure_test' })
`,
})

it('rejects when the port is taken and closes its store and handler threads', async () => {
  const squatter = createServer()
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve))
  try {
    const { port } = squatter.address() as AddressInfo
    const program = `
      import { startStorehook } from ${JSON.stringify(join(REPO_ROOT, 'src/server/start.ts'))}
      import { createLogger } from ${JSON.stringify(join(REPO_ROOT, 'src/runtime/logger.ts'))}
      try {
        await startStorehook({ project: ${JSON.stringify(project)}, db: 'sqlite:${join(project, 'start.db')}', port: ${port}, logger: createLogger({ level: 'silent' }) })
        console.log('started')
      } catch (error) {
        console.log('refused: ' + error.code)
      }`
    // A file, not -e: handler threads would inherit --input-type. No process.exit in the program:
    // it ends only once nothing is left open.
    writeFileSync(join(project, 'program.mjs'), program)
    const { stdout } = await promisify(execFile)(process.execPath, [join(project, 'program.mjs')], { cwd: REPO_ROOT, timeout: 20_000 })
    assert.equal(stdout.trim(), 'refused: EADDRINUSE')
  } finally {
    squatter.close()
  }
})
