/**
 * @module
 * Option parsers shared by the CLI's commands.
 */
import { InvalidArgumentError } from 'commander'

export function parsePort(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('expected a port number, 0–65535')
  return port
}
