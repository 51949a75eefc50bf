// What the QEMU lab test checks of the boot trace and the dashboard (tests/net/lab-e2e.test.ts):
// a machine's real firmware and iPXE steps in GET /api/v1/machines/M/boot-trace, and a Chromium
// page on /ui/machines/M that follows the machine's state live and shows the trace.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'puppeteer-core';
import { launchChromium, shot, signIn, waitText } from './browser.js';

export interface TraceEntry { kind: string; outcome: string; summary: string; detail: Record<string, unknown>; text?: string }

const line = (e: TraceEntry) => `${e.kind} ${e.outcome} ${e.summary}`;

/**
 * The machine's boot as its trace tells it: DHCP DISCOVER/OFFER and REQUEST/ACK from iPXE (user
 * class iPXE, handed its script URL), then the script, the agent's kernel and initrd over HTTP,
 * every boot secret redacted. (The lab's NICs boot iPXE from their option ROM: no TFTP step.)
 */
export function assertRealBoot(entries: TraceEntry[], mac: string): void {
  const all = entries.map(line).join('\n');
  const dhcp = entries.filter((e) => e.kind === 'dhcp' && e.outcome === 'ok');
  const exchange = (type: string, answer: string) => dhcp.findIndex((e) => e.detail.type === type && e.detail.answer === answer && e.detail.ipxe === true);
  const ipxe = [exchange('DISCOVER', 'OFFER'), exchange('REQUEST', 'ACK')];
  assert.ok(ipxe.every((i) => i >= 0), `iPXE DHCP exchanges:\n${all}`);
  assert.ok(ipxe[1]! > ipxe[0]!, `REQUEST after DISCOVER:\n${all}`);
  assert.equal(dhcp[ipxe[1]!]!.detail.user_class, 'iPXE');
  assert.ok(String(dhcp[ipxe[1]!]!.detail.file).endsWith(`/boot/${mac}.ipxe`), `iPXE is handed its script:\n${all}`);
  const http = entries.filter((e) => e.kind === 'http' && e.outcome === 'ok');
  const script = http.find((e) => e.detail.path === `/boot/${mac}.ipxe` && e.text?.includes('rackhand.nonce='));
  assert.ok(script, `the agent's script over HTTP:\n${all}`);
  assert.match(script.text!, /rackhand\.nonce=\[redacted\]/);
  for (const path of ['/boot/agent/vmlinuz', '/boot/agent/initrd.img']) {
    assert.ok(http.some((e) => e.detail.path === path), `HTTP ${path}:\n${all}`);
  }
  assert.ok(!/nonce=(?!\[redacted\])[A-Za-z0-9_-]{8,}|\/v1\/(?:nocloud|answer|phone-home|installer)\/(?!\[redacted\])[^/\s"]+/.test(JSON.stringify(entries)), 'no boot secret in the trace');
}

/** A Chromium page on the machine's dashboard page; undefined when this host has no Chromium. */
export async function openMachinePage(url: string, token: string, machine: string): Promise<{ browser: Browser; page: Page } | undefined> {
  let browser: Browser;
  try { browser = await launchChromium(); } catch { return undefined; }
  try {
    const { page } = await signIn(browser, url, token);
    await page.goto(`${url}/ui/machines/${machine}`);
    return { browser, page };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/** The page shows `state` (live, no reload) and a boot trace with DHCP and HTTP rows; a screenshot in `folder`. */
export async function pageFollows(page: Page, state: string, folder: string, name: string, timeoutMs: number): Promise<void> {
  await waitText(page, '#machine-state', state, timeoutMs);
  await page.waitForSelector('#trace-list', { timeout: 10_000 });
  const kinds = new Set(await page.$$eval('#trace-list > li', (lis) => lis.map((li) => li.getAttribute('data-kind'))));
  assert.ok(kinds.has('dhcp') && kinds.has('http'), `trace rows: ${[...kinds].join(', ')}`);
  await shot(page, folder, name);
}
