// The gateway of this example: pay by invoice. There is no card to charge: an order is authorized
// when it is within the customer's credit limit, and the later steps only move the amount along.
// Tokens are derived from Commerce Layer's own resource ids, so a call Commerce Layer repeats gets
// the same answer (idempotent without a store). A real gateway would call its PSP here, passing
// `ctx.signal` so a slow PSP is cut at the deadline.
import type { Transaction } from 'storehook'
import { numberFromEnv, options } from '../_options.ts'

export const creditLimitCents = numberFromEnv('INVOICE_CREDIT_LIMIT_CENTS', 500_000)

// When the handler cannot answer in time, Commerce Layer records a failed transaction with this
// message; a 4xx, because timeouts and 5xx count toward its circuit breaker.
export const gatewayOptions = {
  ...options,
  fallback: { error: { code: 'GATEWAY_UNAVAILABLE', message: 'the invoice gateway could not answer; try again' } },
}

/**
 * The answer to a capture, void or refund of `transaction` (the authorization, or for a refund the
 * capture), as Commerce Layer sent it. The amount is the transaction's whole amount: where Commerce
 * Layer puts a partial refund's amount in this call is UNVERIFIED.
 */
export function follow(transaction: Transaction, step: 'capture' | 'void' | 'refund') {
  const token = transaction.token ?? `inv_${transaction.id}`
  return { transaction_token: `${token}_${step}`, amount_cents: transaction.amount_cents ?? 0 }
}
