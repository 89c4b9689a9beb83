/**
 * @module
 * The `storehook` command line.
 */
import { Command } from 'commander'
import { ConfigError } from '../core/errors.ts'
import { registerDbCommands } from './db-copy.ts'
import { registerInitCommand } from './init.ts'
import { registerMigrateCommand } from './migrate.ts'
import { registerRunsCommands } from './runs.ts'
import { registerSendCommand } from './send.ts'
import { registerSimulateCommand } from './simulate.ts'
import { registerStartCommand } from './start.ts'

export async function main(argv: string[]): Promise<void> {
  const program = new Command('storehook')
    .description('Self-hosted runtime for commerce extensibility functions')
    .showHelpAfterError()
  registerStartCommand(program)
  registerRunsCommands(program)
  registerMigrateCommand(program)
  registerDbCommands(program)
  registerSimulateCommand(program)
  registerInitCommand(program)
  registerSendCommand(program)
  try {
    await program.parseAsync(argv)
  } catch (error) {
    // A user's mistake gets its message, not a stack trace.
    if (error instanceof ConfigError) console.error(`storehook: ${error.message}`)
    else console.error(error)
    process.exitCode = 1
  }
}
