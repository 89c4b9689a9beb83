/*
 * Helpers shared by the actions, with the behaviour of the `utils.js` that Adobe's App Builder
 * samples and templates ship (adobe-commerce-samples `sample-extension/actions/utils.js`; the
 * seed action imports `errorResponse` from it). Written for this example; see
 * ../../../../shared/reference/adobe-commerce.md §1.5 for what each one does in Adobe's copy.
 */

/**
 * Returns the parameters as a JSON string for logging, with the Authorization header and any
 * parameter whose name says it is a secret or a token hidden.
 *
 * @param {object} params action input parameters
 * @returns {string}
 */
function stringParameters (params) {
  let headers = params.__ow_headers || {}
  if (headers.authorization) headers = { ...headers, authorization: '<hidden>' }
  const shown = {}
  for (const [name, value] of Object.entries(params)) {
    shown[name] = /secret|token/i.test(name) ? '<hidden>' : value
  }
  return JSON.stringify({ ...shown, __ow_headers: headers })
}

/** Each dotted key of `keys` whose value in `obj` is undefined or ''; 0, false and null count as present. */
function getMissingKeys (obj, keys) {
  return keys.filter((key) => {
    const value = key.split('.').reduce((at, part) => (at === undefined || at === null ? undefined : at[part]), obj)
    return value === undefined || value === ''
  })
}

/**
 * Says which required params (dotted paths allowed) and headers are missing, or returns null.
 *
 * @example
 * checkMissingRequestInputs({ __ow_headers: {} }, ['id'], ['Authorization'])
 * // "missing header(s) 'authorization' and missing parameter(s) 'id'"
 *
 * @param {object} params action input parameters
 * @param {string[]} requiredParams
 * @param {string[]} requiredHeaders
 * @returns {string|null}
 */
function checkMissingRequestInputs (params, requiredParams = [], requiredHeaders = []) {
  const headers = requiredHeaders.map((name) => name.toLowerCase())
  const missingHeaders = getMissingKeys(params.__ow_headers || {}, headers)
  const missingParams = getMissingKeys(params, requiredParams)
  const parts = []
  if (missingHeaders.length > 0) parts.push(`missing header(s) '${missingHeaders.join("', '")}'`)
  if (missingParams.length > 0) parts.push(`missing parameter(s) '${missingParams.join("', '")}'`)
  return parts.length > 0 ? parts.join(' and ') : null
}

/**
 * The bearer token of the request's Authorization header, or undefined.
 *
 * @param {object} params action input parameters
 * @returns {string|undefined}
 */
function getBearerToken (params) {
  const authorization = params.__ow_headers && params.__ow_headers.authorization
  if (typeof authorization === 'string' && authorization.startsWith('Bearer ')) {
    return authorization.substring('Bearer '.length)
  }
  return undefined
}

/**
 * An OpenWhisk application error: the web response (or I/O Events' judgement) takes its status
 * from `error.statusCode`. Logs `<statusCode>: <message>` first.
 *
 * @example
 * return errorResponse(400, "missing parameter(s) 'id'", logger)
 * // { error: { statusCode: 400, body: { error: "missing parameter(s) 'id'" } } }
 *
 * @param {number} statusCode
 * @param {string} message
 * @param {object} [logger] a Core.Logger
 * @returns {{ error: { statusCode: number, body: { error: string } } }}
 */
function errorResponse (statusCode, message, logger) {
  if (logger && typeof logger.info === 'function') logger.info(`${statusCode}: ${message}`)
  return {
    error: {
      statusCode,
      body: { error: message }
    }
  }
}

module.exports = {
  errorResponse,
  getBearerToken,
  stringParameters,
  checkMissingRequestInputs
}
