/**
 * The dashboard in headless Chromium (Debian's, through playwright-core), as an operator uses it:
 * log in, find a dead run with the filters, open it, fix the cause, replay it and watch the replay
 * succeed; follow the live tail; and every page fits a 390 px phone screen without scrolling
 * sideways. A missing Chromium fails these tests (see chromium.ts); it never skips them.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { createLogger } from '../../src/runtime/logger.ts'
import { startErpSimulator } from '../../src/testkit/erp-simulator.ts'
import { eventually } from '../helpers.ts'
import { launchChromium } from './chromium.ts'
import { callPrice, makeDemoProject, sendDemoEvent } from './demo-project.ts'
import { startWithDashboard } from './storehook.ts'

const TOKEN = `admin-${randomBytes(12).toString('hex')}`
const tag = randomBytes(4).toString('hex')

const erp = await startErpSimulator()
after(() => erp.close())
const project = makeDemoProject(erp.url)
after(() => project.remove())
const storehook = await startWithDashboard({ project: project.dir, adminToken: TOKEN, logger: createLogger({ level: 'fatal' }) })
after(() => storehook.close())
const { url } = storehook

let browser: Browser
/** Console errors and uncaught exceptions of every page (a CSP violation shows up here). */
const pageErrors: string[] = []

before(async () => {
  for (let i = 0; i < 12; i++) assert.equal(await sendDemoEvent(url, 'webhooks', { id: `ord_${tag}_${i}`, type: 'order.created', data: { order: { id: i } } }), 200)
  for (const i of [1, 2]) assert.equal(await sendDemoEvent(url, 'shop', { id: `pay_${tag}_${i}`, type: 'payment.captured' }), 200)
  for (const sku of ['A', 'SLOW']) await callPrice(url, sku)
  await eventually(async () => (await storehook.runtime.store.listRuns({ state: 'dead' })).length === 2, 10_000, 'the payments to go dead')
})
after(() => browser?.close())

const contexts = new Map<number, BrowserContext>()

/** A page of a browser context of this width that has logged in (once per width, through the form). */
async function signedIn(width: number, height: number): Promise<Page> {
  assert.ok(browser, 'Chromium did not start (see the first test)')
  let context = contexts.get(width)
  const fresh = context === undefined
  context ??= await browser.newContext({ viewport: { width, height } })
  contexts.set(width, context)
  const page = await context.newPage()
  page.on('console', (message) => message.type() === 'error' && pageErrors.push(`${page.url()}: ${message.text()}`))
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`))
  await page.goto(`${url}/admin`)
  if (fresh) {
    assert.match(page.url(), /\/admin\/login/, 'the dashboard sends a visitor without a session to the login')
    await page.fill('#token', TOKEN)
    await Promise.all([page.waitForURL(`${url}/admin`), page.click('button[type=submit]')])
  }
  return page
}

describe('the dashboard in a browser', () => {
  // A test of its own, so a missing browser is a failure with the reason, not a cancelled hook.
  it('starts headless Chromium', async () => {
    browser = await launchChromium()
  })

  it('logs in, finds a dead run by filter, replays it once fixed, and sees the replay succeed', async () => {
    const page = await signedIn(1280, 900)
    await page.click('header nav >> text=Runs')
    await page.selectOption('select[name=state]', 'dead')
    await page.fill('input[name=q]', `pay_${tag}_2`)
    await Promise.all([page.waitForURL(/state=dead/), page.click('form.filters button[type=submit]')])
    const rows = page.locator('table.cards tbody tr')
    assert.equal(await rows.count(), 1, 'one dead run matches')
    await Promise.all([page.waitForURL(/\/admin\/runs\/\d+$/), rows.locator('a[href^="/admin/runs/"]').first().click()])
    assert.equal(await page.getAttribute('#run-status', 'data-state'), 'dead')
    assert.match(await page.textContent('#run-status') ?? '', /payment service rejected pay_\w+_2/)

    rmSync(project.flag) // the fix
    page.once('dialog', (dialog) => void dialog.accept())
    await page.click('#replay-run')
    await page.locator('#replay-link').waitFor({ timeout: 10_000 })
    await Promise.all([page.waitForURL(/\/admin\/runs\/\d+$/), page.click('#replay-link')])
    // The status panel refreshes itself (htmx) until the run is finished.
    await page.locator('#run-status[data-state="succeeded"]').waitFor({ timeout: 10_000 })
    assert.match(await page.textContent('#run-status') ?? '', /Replay of/)
    await page.close()
  })

  it('replays the dead runs matching a filter in bulk, after a confirmation that says how many', async () => {
    const page = await signedIn(1280, 900)
    await page.goto(`${url}/admin/runs?state=dead&q=pay_${tag}`)
    await page.click('text=Replay the dead runs matching this filter')
    // Two dead runs match: pay_1, and pay_2 (already replayed above, so skipped).
    await page.locator('#confirm-bulk-replay').waitFor()
    assert.match(await page.textContent('#bulk') ?? '', /Replay 2 dead runs/)
    await page.click('#confirm-bulk-replay')
    await page.locator('#replay-progress[data-state="done"]').waitFor({ timeout: 10_000 })
    assert.match(await page.textContent('#replay-progress') ?? '', /1 of 2 dead runs replayed \(1 had been replayed already\)/)
    assert.equal(await page.getAttribute('#replay-progress progress', 'value'), '2')
    await eventually(async () => (await storehook.runtime.store.listRuns({ state: 'succeeded', eventIdContains: `pay_${tag}_1` })).length === 1, 10_000, 'the bulk replay to succeed')
    await page.close()
  })

  it('shows new events in the live tail', async () => {
    const page = await signedIn(1280, 900)
    await page.goto(`${url}/admin/events`)
    await page.click('#tail-toggle')
    await page.locator('#tail-status.on').waitFor({ timeout: 10_000 })
    assert.equal(await sendDemoEvent(url, 'webhooks', { id: `tail_${tag}`, type: 'order.created' }), 200)
    await page.locator(`#events-body tr.fresh >> text=tail_${tag}`).waitFor({ timeout: 10_000 })
    await page.click('#tail-toggle')
    await page.close()
  })

  it('fits a 390 px phone screen: no page scrolls sideways', async () => {
    const page = await signedIn(390, 844)
    const run = (await storehook.runtime.store.listRuns({ limit: 1, state: 'dead' }))[0]!
    for (const path of ['/admin', '/admin/events', '/admin/runs', `/admin/runs/${run.id}`, `/admin/events/shop/pay_${tag}_1`, '/admin/external', '/admin/actions']) {
      await page.goto(`${url}${path}`)
      // A string, evaluated in the page (this project's TypeScript has no DOM types).
      const { scrollWidth, innerWidth } = await page.evaluate<{ scrollWidth: number; innerWidth: number }>('({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })')
      assert.ok(scrollWidth <= innerWidth, `${path} is ${scrollWidth} px wide on a ${innerWidth} px screen`)
    }
    await page.close()
  })

  it('raised no console error and no script error (the CSP let everything it needs load)', () => {
    assert.deepEqual(pageErrors, [])
  })
})
