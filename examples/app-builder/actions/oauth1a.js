/*
 * An OAuth 1.0a client for the Adobe Commerce REST API, built as Adobe's samples build theirs
 * (adobe-commerce-samples `actions/oauth1a.js`, the module the seed action imports): the
 * `oauth-1.0a` package signs with HMAC-SHA256 and `got` sends the request. What that means on the
 * wire, and how Commerce checks it, is in ../../../../shared/reference/adobe-commerce.md §1.2–1.4:
 * - `getCommerceOauthClient` appends `rest/` to the base URL and uses API version `V1`, so
 *   `get('orders/42')` calls `${COMMERCE_BASE_URL}rest/V1/orders/42` (the base URL ends in `/`);
 * - the body is not part of the signature (it is `body`, not `data`), query parameters are;
 * - a request with a `requestToken` is sent as `Bearer <token>` instead of being signed;
 * - any failure (network, non-2xx, a body that is not JSON) is logged and rethrown as got threw
 *   it: no retry, no status mapping — the caller decides.
 */
const crypto = require('crypto')
const Oauth1a = require('oauth-1.0a')
const got = require('got')

/**
 * @param {{ url: string, version: string, consumerKey: string, consumerSecret: string,
 *   accessToken: string, accessTokenSecret: string }} options
 * @param {object} logger a Core.Logger
 */
function getOauthClient (options, logger) {
  const instance = {}
  const serverUrl = options.url
  const apiVersion = options.version
  const oauth = Oauth1a({
    consumer: { key: options.consumerKey, secret: options.consumerSecret },
    signature_method: 'HMAC-SHA256',
    hash_function: (baseString, key) => crypto.createHmac('sha256', key).update(baseString).digest('base64')
  })
  const token = { key: options.accessToken, secret: options.accessTokenSecret }

  function createUrl (resourceUrl) {
    return serverUrl + apiVersion + '/' + resourceUrl
  }

  async function apiCall (requestData, requestToken = '', customHeaders = {}) {
    try {
      logger.info('Fetching URL: ' + requestData.url + ' with method: ' + requestData.method)
      const authorization = requestToken
        ? { Authorization: 'Bearer ' + requestToken }
        : oauth.toHeader(oauth.authorize(requestData, token))
      return await got(requestData.url, {
        method: requestData.method,
        headers: { ...authorization, ...customHeaders },
        body: requestData.body,
        responseType: 'json'
      }).json()
    } catch (error) {
      logger.error(error)
      throw error
    }
  }

  instance.get = async function (resourceUrl, requestToken = '') {
    return apiCall({ url: createUrl(resourceUrl), method: 'GET' }, requestToken)
  }

  // Callers pass the body already serialised and their own Content-Type, as in Adobe's samples.
  instance.post = async function (resourceUrl, data, requestToken = '', customHeaders = {}) {
    return apiCall({ url: createUrl(resourceUrl), method: 'POST', body: data }, requestToken, customHeaders)
  }

  instance.put = async function (resourceUrl, data, requestToken = '') {
    return apiCall({ url: createUrl(resourceUrl), method: 'PUT', body: data }, requestToken)
  }

  instance.delete = async function (resourceUrl, requestToken = '') {
    return apiCall({ url: createUrl(resourceUrl), method: 'DELETE' }, requestToken)
  }

  instance.consumerToken = async function (loginData) {
    return apiCall({ url: createUrl('integration/customer/token'), method: 'POST', body: loginData })
  }

  return instance
}

/**
 * A client for `${options.url}rest/V1/…`, signed with the integration's four credentials.
 *
 * @example
 * const oauth = getCommerceOauthClient({ url: params.COMMERCE_BASE_URL, consumerKey, consumerSecret, accessToken, accessTokenSecret }, logger)
 * const order = await oauth.get('orders/42')
 */
function getCommerceOauthClient (options, logger) {
  options.version = 'V1'
  options.url = options.url + 'rest/'
  return getOauthClient(options, logger)
}

module.exports = {
  getOauthClient,
  getCommerceOauthClient
}
