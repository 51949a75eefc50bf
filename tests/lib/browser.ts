// Debian's Chromium (`apt-get install chromium`), headless, driven by puppeteer-core, which never
// downloads a browser of its own. Tests skip when the binary is missing (make test installs it).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.RACKHAND_CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = (): boolean => existsSync(CHROMIUM);

export async function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Tests run as root, where Chromium's sandbox cannot start; /dev/shm is small in containers.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
    defaultViewport: { width: 1280, height: 900 },
  });
}

// What the functions run inside the page touch (the project's TypeScript has no DOM library).
declare const document: { querySelector(s: string): { textContent: string | null } | null };

/** A fresh browser context signed in to the dashboard at `url` with `token` (lands on the overview). */
export async function signIn(browser: Browser, url: string, token: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.goto(`${url}/ui/`);
  if (!page.url().endsWith('/ui/sign-in')) throw new Error(`an unsigned visit should land on the sign-in page, not ${page.url()}`);
  await page.type('#token', token);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  return { context, page };
}

/** A full-page screenshot `name`.png in `folder` (the test prints the folder; it is kept for a person). */
export const shot = (page: Page, folder: string, name: string) => page.screenshot({ path: join(folder, `${name}.png`), fullPage: true });
export const textOf = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? '');
/** The session cookie as a Cookie header, for requests made outside the browser. */
export async function cookieOf(page: Page): Promise<string> {
  const c = (await page.browserContext().cookies()).find((x) => x.name === 'rh_session');
  if (!c) throw new Error('no rh_session cookie: not signed in');
  return `rh_session=${c.value}`;
}
export const csrfOf = (page: Page) => page.$eval('body', (b) => JSON.parse(b.getAttribute('hx-headers')!)['X-CSRF-Token'] as string);
/** Waits for a selector's text to contain `want`, on the page as it is (no reload). */
export const waitText = (page: Page, selector: string, want: string, timeout = 5000) =>
  page.waitForFunction((s, w) => (document.querySelector(s)?.textContent ?? '').includes(w), { timeout }, selector, want);

/**
 * A browser test's end: the daemon must close within `withinMs` with the test's pages still open
 * (live streams, polling sections), and Chromium is closed whatever happened before.
 */
export async function closeDaemonThenBrowser(daemon: { close(): Promise<void> }, browser: Browser | undefined, withinMs = 5000): Promise<void> {
  try {
    const started = Date.now();
    await daemon.close();
    const took = Date.now() - started;
    console.log(`# daemon closed in ${took} ms with pages open`);
    if (took >= withinMs) throw new Error(`daemon closed in ${took} ms with pages open (live streams, polling sections)`);
  } finally {
    await browser?.close();
  }
}
