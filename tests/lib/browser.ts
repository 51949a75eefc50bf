// Debian's Chromium (`apt-get install chromium`), headless, driven by puppeteer-core, which never
// downloads a browser of its own. Tests skip when the binary is missing (make test installs it).
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

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
