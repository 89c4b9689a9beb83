/**
 * Launches Debian's Chromium headless through playwright-core (playwright's own browser download
 * needs the internet; CI installs the `chromium` package instead, see .ci/run). A missing browser
 * is an error that says how to install it: the browser tests fail rather than skip.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = process.env.STOREHOOK_CHROMIUM ?? '/usr/bin/chromium'

/**
 * @example
 * const browser = await launchChromium()
 * const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the dashboard's browser tests need Chromium at ${CHROMIUM}, and it is not there: install it with ` +
        '`apt-get install -y --no-install-recommends chromium` (Debian), or point STOREHOOK_CHROMIUM at a Chromium binary',
    )
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  })
}
