/**
 * @module
 * The page shell: head with the local assets, the navigation, and the CSRF token every htmx
 * request sends (`hx-headers` on <body>) — forms carry it too, in a hidden field, so they work
 * without JavaScript.
 */
import { html } from 'hono/html'
import { ASSET_URLS } from './assets.ts'
import { BASE, type Html } from './ui.ts'

export type NavKey = 'overview' | 'events' | 'runs' | 'external' | 'actions'

const NAV: [NavKey, string, string][] = [
  ['overview', 'Overview', BASE],
  ['events', 'Events', `${BASE}/events`],
  ['runs', 'Runs', `${BASE}/runs`],
  ['external', 'External resources', `${BASE}/external`],
  ['actions', 'Actions', `${BASE}/actions`],
]

export interface PageShell {
  title: string
  nav: NavKey | null
  /** The session's CSRF token; null on pages shown without a session (login, errors). */
  csrf: string | null
  body: Html
  /** Extra scripts of this page (local assets only). */
  scripts?: string[]
}

/**
 * @example
 * page({ title: 'Runs', nav: 'runs', csrf, body: html`<h1>Runs</h1>` })
 */
export function page(shell: PageShell): Html {
  const headers = shell.csrf ? JSON.stringify({ 'x-csrf-token': shell.csrf }) : null
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"selfRequestsOnly":true}'>
<title>${shell.title} · storehook</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSET_URLS.css}">
<script src="${ASSET_URLS.htmx}" defer></script>
${(shell.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}
</head>
<body ${headers ? html`hx-headers="${headers}"` : ''}>
<header class="top"><div class="inner">
  <a class="brand" href="${BASE}">storehook</a>
  ${shell.csrf ? navigation(shell.nav, shell.csrf) : ''}
</div></header>
<main>${shell.body}</main>
</body>
</html>`
}

function navigation(active: NavKey | null, csrf: string): Html {
  return html`<nav aria-label="dashboard">${NAV.map(([key, label, href]) => html`<a href="${href}" class="${key === active ? 'active' : ''}">${label}</a>`)}</nav>
  <form method="post" action="${BASE}/logout">${csrfField(csrf)}<button type="submit">Log out</button></form>`
}

/** The hidden field that carries the CSRF token in a plain form post. */
export function csrfField(csrf: string): Html {
  return html`<input type="hidden" name="_csrf" value="${csrf}">`
}
