/**
 * @module
 * Structured JSON logs through pino. Secrets are redacted by key wherever they appear in a logged
 * object, as a second line of defence: code should not log them in the first place.
 */
import { pino, type DestinationStream, type Logger } from 'pino'

const SECRET_KEYS = ['secret', 'secrets', 'password', 'token', 'authorization', 'cookie', 'apiKey', 'api_key']

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { name: 'storehook' },
      redact: {
        paths: [...SECRET_KEYS, ...SECRET_KEYS.map((key) => `*.${key}`), ...SECRET_KEYS.map((key) => `*.*.${key}`)],
        censor: '[redacted]',
      },
    },
    options.destination,
  )
}
