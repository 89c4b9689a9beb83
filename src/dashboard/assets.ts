/**
 * @module
 * The dashboard's static files, served by storehook itself under `/admin/assets/` so the dashboard
 * works offline and loads nothing from a CDN: htmx (from the installed `htmx.org` package), the
 * style sheet and the live-tail script. Each name carries its version or content hash, so browsers
 * may cache them for good. They hold nothing secret and are served without a session (the login
 * page needs the style sheet).
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Hono } from 'hono'
import { DASHBOARD_CSS } from './assets/styles.ts'
import { TAIL_SCRIPT } from './assets/tail-script.ts'
import { BASE } from './ui.ts'

interface Asset {
  body: string
  type: string
}

const require = createRequire(import.meta.url)
const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12)

function loadHtmx(): { name: string; asset: Asset } {
  let file: string
  try {
    file = require.resolve('htmx.org/dist/htmx.min.js')
  } catch (error) {
    throw new Error('the dashboard needs the htmx.org package (a dependency of storehook): reinstall storehook', { cause: error })
  }
  const { version } = require('htmx.org/package.json') as { version: string }
  return { name: `htmx-${version}.min.js`, asset: { body: readFileSync(file, 'utf8'), type: 'text/javascript; charset=utf-8' } }
}

const htmx = loadHtmx()
const assets = new Map<string, Asset>([
  [htmx.name, htmx.asset],
  [`dashboard-${hash(DASHBOARD_CSS)}.css`, { body: DASHBOARD_CSS, type: 'text/css; charset=utf-8' }],
  [`tail-${hash(TAIL_SCRIPT)}.js`, { body: TAIL_SCRIPT, type: 'text/javascript; charset=utf-8' }],
])

/** The URLs pages link to. */
export const ASSET_URLS = {
  htmx: `${BASE}/assets/${htmx.name}`,
  css: `${BASE}/assets/dashboard-${hash(DASHBOARD_CSS)}.css`,
  tail: `${BASE}/assets/tail-${hash(TAIL_SCRIPT)}.js`,
}

/**
 * @example
 * mountAssets(app) // GET /admin/assets/htmx-2.0.11.min.js, …
 */
export function mountAssets(app: Hono): void {
  app.get(`${BASE}/assets/:name`, (c) => {
    const asset = assets.get(c.req.param('name'))
    if (!asset) return c.text('no such dashboard asset', 404)
    return c.body(asset.body, 200, {
      'content-type': asset.type,
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    })
  })
}
