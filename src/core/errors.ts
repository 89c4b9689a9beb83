/**
 * @module
 * Errors that cross a boundary. Each says whose fault it is: the caller's (4xx, {@link HttpError}),
 * the user's action code ({@link PermanentError} and anything it throws), or a configuration
 * ({@link ConfigError}).
 */

/**
 * The one HTTP error type: thrown anywhere below the server, turned into a response by it.
 * `message` is sent to the caller, so it must never contain a secret; `cause` is only logged.
 *
 * @example
 * throw new HttpError(401, 'signature does not match any configured secret')
 */
export class HttpError extends Error {
  readonly status: number
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'HttpError'
    this.status = status
  }
}

/** The request's signature is missing, stale or wrong: 401, nothing stored, no user code run. */
export class VerificationError extends HttpError {
  constructor(message: string) {
    super(401, message)
    this.name = 'VerificationError'
  }
}

/** The request is authentic but its body cannot be understood: 400. */
export class MalformedRequestError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(400, message, options)
    this.name = 'MalformedRequestError'
  }
}

/**
 * Thrown by an action when retrying cannot help (the order does not exist, the ERP rejected the
 * document as invalid): the run goes dead at once instead of using up its retries.
 *
 * @example
 * if (!order) throw new PermanentError(`order ${id} does not exist`)
 */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'PermanentError'
  }
}

/**
 * A connection refused to send a call because its target's breaker is open (the target failed
 * too many times in a row). The worker pauses the run instead of spending one of its retries:
 * it resumes, in order, once a probe finds the target answering again.
 */
export class TargetPausedError extends Error {
  /** The connection's name in the config. */
  readonly connection: string
  constructor(connection: string, message?: string) {
    super(message ?? `connection "${connection}" is paused: its target failed too many times in a row and is being probed`)
    this.name = 'TargetPausedError'
    this.connection = connection
  }
}

/** A project's configuration is missing or invalid; the message names the file and the field. */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ConfigError'
  }
}

/** Turns whatever was thrown into an Error, keeping the original as `cause`. */
export function coerceError(thrown: unknown): Error {
  if (isError(thrown)) return thrown
  return new Error(typeof thrown === 'string' ? thrown : `non-Error thrown: ${safeString(thrown)}`, {
    cause: thrown,
  })
}

function isError(value: unknown): value is Error {
  try {
    return value instanceof Error
  } catch {
    return false // a revoked Proxy throws on every question asked of it
  }
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    try {
      return String(value)
    } catch {
      // An object without a prototype holding a BigInt, a revoked Proxy: nothing can print it.
      return '(a value that cannot be printed)'
    }
  }
}
