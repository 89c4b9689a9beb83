/**
 * Request-body limits on every POST route, enumerated from the app (`app.routes`), so a POST
 * route added later is checked too. A client declares a 100 MB body and sends ten bytes of it:
 * every route must answer at once — the public ones (`/events/…`, `/external/…`) 413 with a JSON
 * reason, admin routes 401 without the token (the guard reads no body) and, with it, an answer
 * that does not wait for the body. A chunked body one byte over the limit (no Content-Length to
 * trust) is 413 on every public route. A route that waited for the body would time out here.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { makeProject, start, webhooksConfig } from '../helpers.ts'
import { rawRequest, reasonOf } from '../fuzz/raw-http.ts'
import { concretePath, routesOf } from './routes.ts'

const LIMIT = 2048
const TOKEN = 'admin-token-for-body-limits'
const project = makeProject({
  '.env': 'CL_SHARED_SECRET=cl_secret_for_body_limits\n',
  'storehook.config.ts': webhooksConfig(`server: { bodyLimitBytes: ${LIMIT} },`),
  'external/price.ts': `import { commerceLayer, env } from 'storehook'
export default commerceLayer.price(() => ({ unit_amount_cents: 1 }), { secrets: env('CL_SHARED_SECRET') })`,
})
const { url, runtime } = await start({ project, adminToken: TOKEN })
// Dashboard POSTs answer 303/403/413 before reading a body (test/dashboard-access.test.ts covers them).
const isDashboard = (path: string) => path.startsWith('/admin') && !path.startsWith('/admin/api')
const posts = routesOf(runtime).filter((route) => route.method === 'POST' && !isDashboard(route.path))
const isAdmin = (path: string) => path === '/admin' || path.startsWith('/admin/')
/** Real names for the parameters, so a public route reaches its body reading. */
const PARAMS = { source: 'webhooks', name: 'price' }
const HUGE = { 'content-length': String(100 * 1024 * 1024) }

describe('request-body limits on every POST route', () => {
  it('finds the POST routes in the app', () => {
    for (const known of ['/events/:source', '/admin/api/runs/replay']) assert.ok(posts.some((route) => route.path === known), known)
    assert.ok(posts.some((route) => route.path.startsWith('/external/')))
  })

  it('answers a declared 100 MB body at once: 413 on public routes, 401 on admin routes without the token', async () => {
    for (const route of posts) {
      const { path, known } = concretePath(route.path, PARAMS)
      const answer = await rawRequest(url, { path, headers: HUGE, body: '{"a":1234}', timeoutMs: 5000 })
      const what = `POST ${route.path} as ${path}: ${answer.status} ${answer.body.slice(0, 200)}`
      if (isAdmin(route.path)) assert.equal(answer.status, 401, what)
      else if (known) assert.equal(answer.status, 413, what)
      // A public route whose parameters could not be given real values: a prompt 4xx is all that can be asked.
      else assert.ok(answer.status >= 400 && answer.status < 500, what)
      assert.ok(reasonOf(answer), `no JSON reason: ${what}`)
    }
  })

  it('answers admin POST routes with the token without waiting for a declared 100 MB body', async () => {
    for (const route of posts.filter((r) => isAdmin(r.path))) {
      const { path } = concretePath(route.path, PARAMS)
      const answer = await rawRequest(url, { path, headers: { ...HUGE, authorization: `Bearer ${TOKEN}` }, body: '{"a":1234}', timeoutMs: 5000 })
      assert.ok(answer.status > 0 && answer.status < 500, `POST ${path}: ${answer.status} ${answer.body.slice(0, 200)}`)
    }
  })

  it('refuses a chunked body one byte over the limit with 413 on every public route', async () => {
    for (const route of posts.filter((r) => !isAdmin(r.path))) {
      const { path, known } = concretePath(route.path, PARAMS)
      if (!known) continue
      const answer = await rawRequest(url, { path, body: 'x'.repeat(LIMIT + 1), chunked: [1000], timeoutMs: 5000 })
      assert.equal(answer.status, 413, `POST ${path}: ${answer.status} ${answer.body.slice(0, 200)}`)
      assert.match(reasonOf(answer) ?? '', new RegExp(`${LIMIT} bytes`))
    }
  })
})
