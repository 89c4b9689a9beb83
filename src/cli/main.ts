/**
 * @module
 * The `storehook` command line.
 */
import { Command } from 'commander'
import { registerDbCommands } from './db-copy.ts'
import { registerDevCommand } from './dev.ts'
import { registerExpungeCommand } from './expunge.ts'
import { registerInitCommand } from './init.ts'
import { registerMigrateCommand } from './migrate.ts'
import { EXIT_USER_ERROR, exitCodeFor } from './options.ts'
import { registerRunsCommands } from './runs.ts'
import { registerSendCommand } from './send.ts'
import { registerSimulateCommand } from './simulate.ts'
import { registerStartCommand } from './start.ts'

export async function main(argv: string[]): Promise<void> {
  const program = new Command('storehook')
    .description('Self-hosted runtime for commerce extensibility functions')
    .showHelpAfterError()
  registerStartCommand(program)
  registerDevCommand(program)
  registerRunsCommands(program)
  registerMigrateCommand(program)
  registerDbCommands(program)
  registerExpungeCommand(program)
  registerSimulateCommand(program)
  registerInitCommand(program)
  registerSendCommand(program)
  try {
    await program.parseAsync(argv)
  } catch (error) {
    // A user's mistake gets its message, not a stack trace; the exit codes are in options.ts.
    process.exitCode = exitCodeFor(error)
    if (process.exitCode === EXIT_USER_ERROR) console.error(`storehook: ${(error as Error).message}`)
    else console.error(error)
  }
}
