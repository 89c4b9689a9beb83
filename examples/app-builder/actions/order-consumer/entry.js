/*
 * The order consumer's entry (app.config.yaml `function`): hands the ERP module its URL from the
 * action's params, then runs the seed's main (./index.js, unchanged). The seed calls
 * `sendOrderToErpSystem(event_payload)` with the order alone, so this is where the ERP_URL input
 * reaches the ERP module; README.md, "Why entry.js", explains the choice.
 */
const erp = require('../erp')
const seed = require('./index')

async function main (params) {
  erp.configure(params)
  return seed.main(params)
}

exports.main = main
