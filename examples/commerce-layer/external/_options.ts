// What every external resource of this project shares. Files starting with "_" are not resources.
import { env } from 'storehook'

const deadline = process.env.CL_DEADLINE_MS

export const options = {
  // Checked before any handler code runs: a call not signed with one of these gets 401.
  secrets: env('CL_SHARED_SECRET'),
  // Unset: storehook's default (2700 ms, Commerce Layer's 3000 less a margin). The loader refuses
  // anything but a positive whole number of ms, naming this file.
  ...(deadline ? { deadlineMs: Number(deadline) } : {}),
}

/** An optional whole number from the environment, or `fallback`; a typo stops the start instead of being ignored. */
export function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name}: expected a whole number, got ${JSON.stringify(raw)}`)
  return value
}
