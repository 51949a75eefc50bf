// What the QEMU lab test checks of the boot trace and the dashboard (tests/net/lab-e2e.test.ts):
// a machine's real firmware and iPXE steps in GET /api/v1/machines/M/boot-trace, and a Chromium
// page on /ui/machines/M that follows the machine's state live and shows the trace.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'puppeteer-core';
import { launchChromium, shot, signIn, waitText } from './browser.js';

export interface TraceEntry { at?: string; kind: string; outcome: string; summary: string; detail: Record<string, unknown>; text?: string }

const line = (e: TraceEntry) => `${e.kind} ${e.outcome} ${e.summary}`;

/**
 * The machine's boot as its trace tells it: DHCP DISCOVER/OFFER and REQUEST/ACK from iPXE (user
 * class iPXE, handed its script URL), then the script, the agent's kernel and initrd over HTTP,
 * every boot secret redacted. (The lab's BIOS NICs boot iPXE from their option ROM: no firmware
 * round and no TFTP step there; assertFirmwareBoot checks the UEFI machines' firmware round.)
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

const dhcpOk = (e: TraceEntry, type: string, answer: string) => e.kind === 'dhcp' && e.outcome === 'ok' && e.detail.type === type && e.detail.answer === answer;

/**
 * A UEFI machine booting with no NIC ROM (the lab's even machines), one boot in order: OVMF's own
 * PXE client's DISCOVER/OFFER and REQUEST/ACK (vendor class PXEClient, arch 7, not iPXE, handed
 * ipxe.efi), the TFTP fetch of ipxe.efi sent whole (`loaderBytes`), then iPXE's REQUEST/ACK
 * (user class iPXE, handed its script URL) and the script over HTTP. Returns the TFTP steps of
 * ipxe.efi (the firmware may first open the file only to read its size, then abort) and the
 * seconds from the firmware's DISCOVER to iPXE's ACK: what booting without a NIC ROM costs.
 */
export function assertFirmwareBoot(entries: TraceEntry[], mac: string, loaderBytes: number): { fetches: TraceEntry[]; firmwareSeconds: number } {
  const all = entries.map(line).join('\n');
  const after = (from: number, what: string, ok: (e: TraceEntry) => boolean): number => {
    const i = entries.findIndex((e, k) => k > from && ok(e));
    assert.ok(i > from, `${what} (after step ${from + 1}):\n${all}`);
    return i;
  };
  const firmware = (e: TraceEntry) => e.detail.ipxe === false && e.detail.arch === 7 && /^PXEClient:Arch:00007:/.test(String(e.detail.vendor_class)) && e.detail.file === 'ipxe.efi';
  const discover = after(-1, 'the firmware\'s DISCOVER → OFFER ipxe.efi', (e) => dhcpOk(e, 'DISCOVER', 'OFFER') && firmware(e));
  const ack = after(discover, 'the firmware\'s REQUEST → ACK ipxe.efi', (e) => dhcpOk(e, 'REQUEST', 'ACK') && firmware(e));
  const tftp = after(ack, 'TFTP ipxe.efi sent whole', (e) => e.kind === 'tftp' && e.detail.result === 'ok' && e.detail.file === 'ipxe.efi' && e.detail.bytes === loaderBytes);
  const ipxe = after(tftp, 'iPXE\'s REQUEST → ACK with its script', (e) => dhcpOk(e, 'REQUEST', 'ACK') && e.detail.ipxe === true && e.detail.user_class === 'iPXE' && String(e.detail.file).endsWith(`/boot/${mac}.ipxe`));
  after(ipxe, 'the script over HTTP', (e) => e.kind === 'http' && e.outcome === 'ok' && e.detail.path === `/boot/${mac}.ipxe`);
  const fetches = entries.slice(ack + 1, tftp + 1).filter((e) => e.kind === 'tftp' && e.detail.file === 'ipxe.efi');
  return { fetches, firmwareSeconds: (Date.parse(entries[ipxe]!.at ?? '') - Date.parse(entries[discover]!.at ?? '')) / 1000 };
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

/**
 * The page shows `state` (live, no reload) and a boot trace with rows of each of `kinds` (DHCP and
 * HTTP unless told); a screenshot in `folder`.
 */
export async function pageFollows(page: Page, state: string, folder: string, name: string, timeoutMs: number, kinds: readonly string[] = ['dhcp', 'http']): Promise<void> {
  await waitText(page, '#machine-state', state, timeoutMs);
  await page.waitForSelector('#trace-list', { timeout: 10_000 });
  const shown = new Set(await page.$$eval('#trace-list > li', (lis) => lis.map((li) => li.getAttribute('data-kind'))));
  assert.ok(kinds.every((k) => shown.has(k)), `trace rows: ${[...shown].join(', ')}; wanted ${kinds.join(', ')}`);
  await shot(page, folder, name);
}
