#!/usr/bin/env node
// The `storehook` command. Runs the TypeScript sources directly when they are there (a clone of
// the repository: Node >= 22.18 strips types), and the compiled JavaScript when installed from
// npm (Node does not strip types under node_modules).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`storehook needs Node.js 22.18 or later (24 LTS recommended); this is ${process.version}.`)
  process.exit(1)
}
const source = new URL('../src/cli/main.ts', import.meta.url)
const fromSource = existsSync(fileURLToPath(source)) && !fileURLToPath(source).includes('/node_modules/')
const { main } = await import(fromSource ? source.href : new URL('../dist/cli/main.js', import.meta.url).href)
await main(process.argv)
