// The machine page in a real browser (Debian's Chromium through puppeteer-core) against an
// in-process daemon on SQLite: the boot trace as one timeline (kinds told apart by a label, the
// script in a <details>, hostile client strings inert), new trace entries and operation log lines
// arriving without a reload, power read on demand and its buttons disabled with the reason for a
// read-only token, and a tenant given no boot trace (page, fragment and API). Screenshots go to a
// folder printed at the start. Every assert.ok carries its message (see ui-browser.test.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Browser, Page } from 'puppeteer-core';
import { act } from '../../daemon/core/actions.js';
import { agentLogPath, formatAgentLine } from '../../daemon/core/oplog.js';
import { TRACE_KEEP, type NewTraceEntry } from '../../daemon/core/boot-trace.js';
import { call, startReadyRack } from '../lib/allocation.js';
import type { TestDaemon } from '../lib/daemon.js';
import { closeDaemonThenBrowser, cookieOf, csrfOf, haveChromium, launchChromium, shot as shotIn, signIn as signInAs, textOf, waitText } from '../lib/browser.js';

declare const window: { __pwned?: number };

const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
const skip = haveChromium() ? false : 'no /usr/bin/chromium (make test installs it)';
const shots = mkdtempSync(join(tmpdir(), 'rackhand-ui-machine-shots-'));
let d: TestDaemon;
let browser: Browser;
let tenantToken = '';

const at = (s: number) => new Date(Date.now() - 60_000 + s * 1000).toISOString();
const TRACE: NewTraceEntry[] = [
  { machine: 'trace-01', kind: 'dhcp', outcome: 'ok', summary: 'DISCOVER → OFFER 10.20.0.21 ipxe.efi', at: at(1),
    detail: { type: 'DISCOVER', xid: '0x0000abcd', arch: 7, vendor_class: HOSTILE, user_class: null, ipxe: false, answer: 'OFFER', address: '10.20.0.21', file: 'ipxe.efi' } },
  { machine: 'trace-01', kind: 'tftp', outcome: 'ok', summary: 'RRQ ipxe.efi → sent (1024 bytes)', at: at(2), detail: { file: 'ipxe.efi', result: 'ok', blksize: 1468, bytes: 1024 } },
  { machine: 'trace-01', kind: 'dhcp', outcome: 'ok', summary: 'REQUEST → ACK 10.20.0.21', at: at(3), detail: { type: 'REQUEST', user_class: 'iPXE', ipxe: true, answer: 'ACK' } },
  { machine: 'trace-01', kind: 'http', outcome: 'ok', summary: 'GET /boot/52:54:00:00:02:21.ipxe → 200', at: at(4), detail: { status: 200 },
    text: '#!ipxe\nkernel http://10.20.0.1:8080/boot/agent/vmlinuz rackhand.nonce=[redacted]\nboot\n' },
  { machine: 'trace-01', kind: 'tftp', outcome: 'refused', summary: 'RRQ nope.efi → not_found: file not found', at: at(5), detail: { file: 'nope.efi', result: 'not_found' } },
];

before(async () => {
  if (skip) return;
  console.log(`screenshots: ${shots}`);
  d = await startReadyRack([
    { name: 'web-01', cpus: 8, memoryGib: 32, diskGib: 100, tags: ['acme'] },
    { name: 'trace-01', cpus: 4, memoryGib: 16, diskGib: 50 },
    { name: 'ops-01', cpus: 4, memoryGib: 16, diskGib: 50 },
  ]);
  const t = await call(d.url, d.tokens.admin, 'POST', '/api/v1/tokens', { owner: 'acme' });
  tenantToken = t.body.secret;
  const a = await call(d.url, d.tokens.admin, 'POST', '/api/v1/allocations', { owner: 'acme', profile: 'lab-image', constraints: { tags: ['acme'] } });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  await d.daemon.store.appendBootTrace(TRACE, TRACE_KEEP);
  await d.daemon.store.appendBootTrace([{ ...TRACE[0]!, machine: 'web-01', summary: 'PREVIOUS-TENANT-BOOT' }], TRACE_KEEP);
  browser = await launchChromium();
});

// Pages still open poll their sections: their connections must not hold the shutdown.
after(() => (skip ? undefined : closeDaemonThenBrowser(d, browser)));

const signIn = (token: string) => signInAs(browser, d.url, token);
const shot = (page: Page, name: string) => shotIn(page, shots, name);

test('the boot trace: one timeline, newest last, kinds as labels, the script in a <details>, hostile strings inert', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await page.goto(`${d.url}/ui/machines/trace-01`);
  await page.waitForSelector('#trace-list');
  const rows = await page.$$eval('#trace-list > li', (lis) => lis.map((li) => [li.getAttribute('data-kind'), li.querySelector('.trace-kind')!.textContent, li.querySelector('.trace-outcome')!.textContent]));
  assert.deepEqual(rows, [['dhcp', 'DHCP', 'ok'], ['tftp', 'TFTP', 'ok'], ['dhcp', 'DHCP', 'ok'], ['http', 'HTTP', 'ok'], ['tftp', 'TFTP', 'refused']]);
  assert.equal(await page.$$eval('#boot-trace img, #boot-trace script', (x) => x.length), 0, 'no markup from a vendor class');
  assert.ok((await textOf(page, '#boot-trace')).includes(HOSTILE), 'the vendor class shows as text');
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'nothing ran');
  const script = await page.$eval('#boot-trace .trace-script pre', (e) => e.textContent);
  assert.match(script ?? '', /rackhand\.nonce=\[redacted\]/);
  assert.equal(await page.$eval('#boot-trace .trace-script', (e) => (e as unknown as { open: boolean }).open), false, 'the script is folded');
  await page.click('#boot-trace .trace-script summary');
  await shot(page, 'machine-trace');

  // A new step arrives without a reload (trace entries are not events: the section looks every 5 s).
  await d.daemon.store.appendBootTrace([{ machine: 'trace-01', kind: 'http', outcome: 'ok', summary: 'GET /boot/agent/vmlinuz → 200', detail: { status: 200 } }], TRACE_KEEP);
  await waitText(page, '#trace-list > li:last-child', '/boot/agent/vmlinuz', 8000);
  assert.equal(await page.$$eval('#trace-list > li', (x) => x.length), 6);
});

test('the operation log follows a running operation live, agent lines too', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await page.goto(`${d.url}/ui/machines/ops-01`);
  await page.waitForSelector('#machine-ops h2');
  await act(d.daemon.store, { machine: 'ops-01', event: 'inspect', actor: 'test' });
  const op = await d.daemon.store.activeOperation('ops-01');
  assert.ok(op, 'ops-01 runs an operation');
  await waitText(page, '#machine-ops', op.id, 5000);
  await waitText(page, '#op-log', 'rackhand', 5000);
  const file = agentLogPath(d.stateDir, 'ops-01', op.id);
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, formatAgentLine(new Date(), 'writing image: 42 % <b>bold?</b>') + '\n');
  await waitText(page, '#op-log', 'writing image: 42 % <b>bold?</b>', 8000);
  assert.equal(await page.$$eval('#op-log b', (x) => x.length), 0, 'an agent line is text');
  await shot(page, 'machine-operations');
});

test('power: read on demand; a read-only token sees the power buttons disabled with the reason, and a forged POST is refused', { skip }, async () => {
  const admin = await signIn(d.tokens.admin);
  await admin.page.goto(`${d.url}/ui/machines/trace-01`);
  assert.match(await textOf(admin.page, '#power-state'), /not read yet/, 'the page did not wait on a BMC');
  assert.equal(await admin.page.$$eval('#power button[data-power]:not([disabled])', (x) => x.length), 3, 'an admin may act');
  await admin.page.click('#power-read');
  await admin.page.waitForFunction(() => !/not read yet/.test(document.querySelector('#power-state')?.textContent ?? ''), { timeout: 5000 });
  await shot(admin.page, 'machine-power-admin');

  const { page } = await signIn(d.tokens.readonly);
  await page.goto(`${d.url}/ui/machines/trace-01`);
  const disabled = await page.$$eval('#power button[data-power]', (bs) => bs.map((b) => (b as unknown as { disabled: boolean }).disabled));
  assert.deepEqual(disabled, [true, true, true]);
  assert.match(await textOf(page, '#power-reason'), /read-only/);
  await page.waitForSelector('#trace-list');
  await shot(page, 'machine-readonly');
  const r = await fetch(`${d.url}/ui/machines/trace-01/power/cycle`, {
    method: 'POST', redirect: 'manual', headers: { cookie: await cookieOf(page), 'x-csrf-token': await csrfOf(page), 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' }, body: '',
  });
  assert.equal(r.status, 403);
});

test('attack: a tenant gets no boot trace of its own machine (an earlier tenant\'s boots) nor any of another\'s', { skip }, async () => {
  const { page } = await signIn(tenantToken);
  await page.goto(`${d.url}/ui/machines/web-01`);
  assert.equal(await page.$('#boot-trace'), null, 'no trace section');
  assert.equal(await page.$('#machine-ops'), null, 'no operations section');
  assert.match(await textOf(page, '#operator-only'), /operators only/);
  assert.ok(!(await page.content()).includes('PREVIOUS-TENANT-BOOT'), 'no trace text on the page');
  const disabled = await page.$$eval('#power button[data-power]', (bs) => bs.map((b) => (b as unknown as { disabled: boolean }).disabled));
  assert.deepEqual(disabled, [true, true, true]);
  await shot(page, 'machine-tenant');
  const cookie = await cookieOf(page);
  const own = await fetch(`${d.url}/ui/machines/web-01/trace`, { headers: { cookie, 'hx-request': 'true' } });
  assert.equal(own.status, 403);
  assert.ok(!(await own.text()).includes('PREVIOUS-TENANT-BOOT'), 'the refusal carries no trace');
  assert.equal((await fetch(`${d.url}/ui/machines/trace-01/trace`, { headers: { cookie } })).status, 404);
  assert.equal((await fetch(`${d.url}/ui/machines/web-01/operations`, { headers: { cookie } })).status, 403);
  assert.equal((await call(d.url, tenantToken, 'GET', '/api/v1/machines/web-01/boot-trace')).status, 403);
  assert.equal((await call(d.url, tenantToken, 'GET', '/api/v1/machines/trace-01/boot-trace')).status, 404);
  const ok = await call(d.url, d.tokens.readonly, 'GET', '/api/v1/machines/trace-01/boot-trace?limit=2');
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body.entries.map((e: { summary: string }) => e.summary), ['RRQ nope.efi → not_found: file not found', 'GET /boot/agent/vmlinuz → 200']);
});

declare const document: { querySelector(s: string): { textContent: string | null } | null };
