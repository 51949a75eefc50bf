// The machines list in a real browser (Debian's Chromium through puppeteer-core) against an
// in-process daemon on SQLite: tag, arch and negated filters kept in the URL; the column chooser;
// a live row update that moves nothing; the header box ticking every row of the page (keyboard);
// a row a live update takes out of the filter, dimmed in place; selection of everything a filter matches and a bulk
// action confirmed by name, answered per machine; a read-only token's disabled controls; CSRF; a
// tenant's bulk release that tries another tenant's machine; hostile machine text rendered inert.
// Screenshots of each step are kept in a folder printed at the start (not removed).
// Every assert.ok carries its message (see ui-browser.test.ts: without one, tsx stalled the run).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { call, startReadyRack, tenantsWithAllocations, type RackMachine } from '../lib/allocation.js';
import type { TestDaemon } from '../lib/daemon.js';
import { cookieOf, csrfOf, haveChromium, launchChromium, shot as shotIn, signIn as signInAs, textOf, waitText } from '../lib/browser.js';

// What the functions run inside the page touch (the project's TypeScript has no DOM library).
declare const document: { body: { getAttribute(n: string): string | null } };
declare const window: unknown;
interface El { textContent: string | null; getBoundingClientRect(): { height: number; width: number } }

const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>"'&amp;`;
const skip = haveChromium() ? false : 'no /usr/bin/chromium (make test installs it)';
const shots = mkdtempSync(join(tmpdir(), 'rackhand-ui-machines-shots-'));
const BULK = Array.from({ length: 24 }, (_, i) => `bulk-${String(i + 1).padStart(2, '0')}`);
const RACK: RackMachine[] = [
  { name: 'arm-01', cpus: 8, memoryGib: 32, diskGib: 100, tags: ['gpu'], arch: 'aarch64' },
  { name: 'x86-01', cpus: 8, memoryGib: 32, diskGib: 100, tags: ['gpu'] },
  { name: 'x86-02', cpus: 8, memoryGib: 32, diskGib: 100 },
  { name: 'acme-01', cpus: 8, memoryGib: 32, diskGib: 100, tags: ['acme'] },
  { name: 'globex-01', cpus: 8, memoryGib: 32, diskGib: 100, tags: ['globex'] },
  { name: 'hostile-01', cpus: 8, memoryGib: 32, diskGib: 100 },
  ...BULK.map((name) => ({ name, cpus: 4, memoryGib: 8, diskGib: 50, tags: ['bulk'] })),
];
let d: TestDaemon;
let browser: Browser;
let tenant: Record<string, string> = {};

/** The rack, its tenants (acme-01 and globex-01 deploying for them) and a hostile arch fact. */
async function setUp(): Promise<void> {
  console.log(`screenshots: ${shots}`);
  d = await startReadyRack(RACK);
  tenant = await tenantsWithAllocations(d, ['acme', 'globex']);
  // An agent's facts carrying markup: the arch column must show it as text.
  await d.daemon.store.setFacts('hostile-01', { cpus: 8, arch: HOSTILE });
  browser = await launchChromium();
}

before(async () => { if (!skip) await setUp(); });

after(async () => {
  if (skip) return;
  try { await d.close(); } finally { await browser?.close(); }
});

const signIn = (token: string) => signInAs(browser, d.url, token);
const shot = (page: Page, name: string) => shotIn(page, shots, name);
const stateOf = async (name: string) => (await d.daemon.store.getMachine(name))!.state;
const names = (page: Page) => page.$$eval('table.machines tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
const headers = (page: Page) => page.$$eval('table.machines thead th', (ths) => ths.map((t) => (t.textContent ?? '').replace(/ [▲▼]$/, '')));
const go = async (page: Page, path: string) => { await page.goto(`${d.url}${path}`); };
const submit = (page: Page, selector: string) => Promise.all([page.waitForNavigation(), page.click(selector)]);

/** A POST as a form would send it, from outside the browser, with the page's session (and CSRF unless told). */
async function post(page: Page, path: string, fields: [string, string][], opts: { csrf?: string | null } = {}) {
  const csrf = opts.csrf === undefined ? await csrfOf(page) : opts.csrf;
  const body = new URLSearchParams([...(csrf === null ? [] : [['_csrf', csrf] as [string, string]]), ...fields]);
  const r = await fetch(`${d.url}${path}`, { method: 'POST', redirect: 'manual', headers: { cookie: await cookieOf(page), 'content-type': 'application/x-www-form-urlencoded' }, body });
  return { status: r.status, text: await r.text() };
}

test('filters by tag and arch, negated too, kept in the URL', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await go(page, '/ui/machines');
  await page.type('input[name=tag]', 'gpu');
  await submit(page, 'form.filters button[type=submit]');
  assert.match(page.url(), /[?&]tag=gpu(&|$)/);
  assert.deepEqual(await names(page), ['arm-01', 'x86-01']);
  await page.type('input[name=arch]', 'AArch64');
  await submit(page, 'form.filters button[type=submit]');
  assert.match(page.url(), /tag=gpu&arch=AArch64/);
  assert.deepEqual(await names(page), ['arm-01'], 'arch from the inspected facts, any case');
  await go(page, '/ui/machines?tag=!bulk&arch=!aarch64&q=!0');
  assert.deepEqual(await names(page), [], 'every name here has a 0');
  await go(page, '/ui/machines?tag=!bulk&arch=!aarch64&q=-01');
  assert.deepEqual(await names(page), ['acme-01', 'globex-01', 'hostile-01', 'node-01', 'x86-01'], 'node-01: no facts, no arch known');
  assert.equal(await page.$eval('input[name=arch]', (i) => (i as unknown as { value: string }).value), '!aarch64', 'the form shows the negated filter');
  await shot(page, 'machines-filtered');
});

test('the column chooser hides a column and the URL keeps it; a live row update keeps the layout', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await go(page, '/ui/machines?q=x86');
  assert.ok((await headers(page)).includes('MAC'), 'MAC shown by default');
  await page.click('details.columns summary');
  await page.click('#column-chooser input[value=mac]');
  await page.click('#column-chooser input[value=arch]');
  await submit(page, '#column-chooser button[type=submit]');
  assert.match(page.url(), /[?&]q=x86(&|$)/, 'the filter stays');
  assert.deepEqual(await headers(page), ['Name', 'State', 'Owner', 'Profile', 'Arch', 'IP', 'State since']);
  await submit(page, 'table.machines thead th:nth-child(2) a');
  assert.match(page.url(), /cols=name%2Cstate%2Cowner%2Cprofile%2Carch%2Cip%2Cchanged/, 'sorting keeps the columns');
  assert.match(page.url(), /sort=state/);
  await shot(page, 'machines-columns');

  await page.evaluate(() => { (window as unknown as { __same: boolean }).__same = true; });
  await page.waitForFunction(() => document.body.getAttribute('data-live') === 'open', { timeout: 5000 });
  await page.click('input[type=checkbox][value="x86-02"]');
  const row = 'tr[data-live-machine="x86-02"]';
  const box = (sel: string) => page.$eval(sel, (e) => { const r = (e as unknown as El).getBoundingClientRect(); return [Math.round(r.height), Math.round(r.width)]; });
  const before = { row: await box(row), table: await box('table.machines') };
  const r = await call(d.url, d.tokens.admin, 'POST', '/api/v1/machines/x86-02/actions/maintenance_on', {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await waitText(page, row, 'maintenance');
  assert.equal(await page.$$eval(`${row} td`, (tds) => tds.length), 7, 'the fresh row has the chosen columns');
  assert.deepEqual({ row: await box(row), table: await box('table.machines') }, before, 'no layout jump');
  assert.equal(await page.$eval('input[type=checkbox][value="x86-02"]', (c) => (c as unknown as { checked: boolean }).checked), true, 'the tick survives the swap');
  assert.equal(await page.evaluate(() => (window as unknown as { __same?: boolean }).__same), true, 'no reload');
  assert.equal((await call(d.url, d.tokens.admin, 'POST', '/api/v1/machines/x86-02/actions/maintenance_off', {})).status, 200);
});

test('the header box ticks every row on this page (by keyboard, labelled); a row a live update takes out of the filter is dimmed in place, not dropped', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await go(page, '/ui/machines?q=x86&state=ready');
  assert.deepEqual(await names(page), ['x86-01', 'x86-02']);
  await page.waitForFunction(() => document.body.getAttribute('data-live') === 'open', { timeout: 5000 });
  await page.evaluate(() => { (window as unknown as { __same: boolean }).__same = true; });
  const tick = '#tick-page';
  const ticked = () => page.$$eval('table.machines tbody input[name=machine]', (cs) => cs.map((c) => (c as unknown as { checked: boolean }).checked));
  const header = () => page.$eval(tick, (c) => { const b = c as unknown as { checked: boolean; indeterminate: boolean }; return [b.checked, b.indeterminate]; });
  // Shown (the script reveals it), named for a screen reader, and next in the tab order after the bulk form.
  assert.equal(await page.$eval(tick, (c) => (c as unknown as { hidden: boolean }).hidden), false);
  assert.equal(await page.$eval(tick, (c) => (c as unknown as { getAttribute(n: string): string }).getAttribute('aria-label')), 'Tick every row on this page');
  const el = await page.$(tick);
  const node = await page.accessibility.snapshot({ root: el!, interestingOnly: false });
  assert.deepEqual([node?.role, node?.name], ['checkbox', 'Tick every row on this page'], 'the accessibility tree names it');
  await page.focus('#bulk-review');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => (document as unknown as { activeElement: { id: string } }).activeElement.id), 'tick-page', 'Tab reaches it');
  await page.keyboard.press('Space');
  assert.deepEqual(await ticked(), [true, true], 'Space ticks every row');
  await page.click('input[type=checkbox][value="x86-01"]');
  assert.deepEqual(await header(), [false, true], 'one row cleared: the header box shows mixed');
  await page.focus(tick);
  await page.keyboard.press('Space');
  assert.deepEqual(await ticked(), [true, true]);
  await shot(page, 'machines-ticked-page');

  // x86-02 goes to maintenance: it no longer matches state=ready. It stays, dimmed, says so, same box.
  const row = 'tr[data-live-machine="x86-02"]';
  const box = (sel: string) => page.$eval(sel, (e) => { const r = (e as unknown as El).getBoundingClientRect(); return [Math.round(r.height), Math.round(r.width)]; });
  const before = { row: await box(row), table: await box('table.machines') };
  assert.equal((await call(d.url, d.tokens.admin, 'POST', '/api/v1/machines/x86-02/actions/maintenance_on', {})).status, 200);
  await waitText(page, row, 'no longer matches');
  assert.equal(await page.$eval(row, (r) => (r as unknown as { getAttribute(n: string): string }).getAttribute('data-stale')), 'true');
  assert.match(await textOf(page, row), /maintenance/, 'the row shows the machine as it is now');
  assert.deepEqual(await names(page), ['x86-01', 'x86-02 no longer matches'], 'still in its place');
  assert.equal(await page.$eval(`${row} td:nth-child(2)`, (td) => (globalThis as unknown as { getComputedStyle(e: unknown): { opacity: string } }).getComputedStyle(td).opacity), '0.55', 'dimmed');
  assert.deepEqual({ row: await box(row), table: await box('table.machines') }, before, 'no layout jump');
  assert.deepEqual(await ticked(), [true, true], 'its tick stays (the confirmation names what is acted on)');
  await shot(page, 'machines-row-no-longer-matches');
  // Back to ready: it matches again and is shown as any other row.
  assert.equal((await call(d.url, d.tokens.admin, 'POST', '/api/v1/machines/x86-02/actions/maintenance_off', {})).status, 200);
  await page.waitForFunction((sel: string) => { const r = (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } }).document.querySelector(sel); return r && r.getAttribute('data-stale') === null; }, { timeout: 5000 }, row);
  assert.deepEqual(await names(page), ['x86-01', 'x86-02']);
  assert.equal(await page.evaluate(() => (window as unknown as { __same?: boolean }).__same), true, 'no reload');
});

test('select all matching a filter, bulk maintenance on: the confirmation names the machines and the skipped, the result each one', { skip }, async () => {
  assert.equal((await call(d.url, d.tokens.admin, 'POST', '/api/v1/machines/bulk-24/actions/maintenance_on', {})).status, 200);
  const { page } = await signIn(d.tokens.admin);
  await go(page, '/ui/machines?tag=bulk');
  assert.match(await textOf(page, 'form.bulk'), /all 24 matching this filter/);
  await page.select('form.bulk select[name=action]', 'maintenance_on');
  await page.click('#scope-filter');
  await submit(page, '#bulk-review');
  assert.match(await textOf(page, 'h1'), /Confirm: Maintenance on/);
  assert.match(await textOf(page, '#bulk-summary'), /23 machines of every machine matching the filter will be put into maintenance/);
  const acting = await page.$$eval('#bulk-acting li', (lis) => lis.map((l) => l.textContent));
  assert.deepEqual(acting, BULK.slice(0, 20), 'the first 20 by name');
  assert.match(await page.content(), /and 3 more\./);
  assert.match(await textOf(page, '#bulk-skipped'), /bulk-24 \(not from state maintenance\)/);
  await shot(page, 'bulk-confirm');
  for (const n of BULK.slice(0, 3)) assert.equal(await stateOf(n), 'ready', 'nothing happens before the confirmation');
  await submit(page, '#bulk-confirm');
  assert.match(await textOf(page, '#bulk-counts'), /23 accepted, 1 refused/);
  const rows = await page.$$eval('table.bulk-result tbody tr', (trs) => trs.map((t) => Array.from((t as unknown as { children: ArrayLike<El> }).children, (c) => c.textContent).join(' ')));
  assert.equal(rows.length, 24);
  assert.equal(rows[0], 'bulk-01 accepted now maintenance');
  assert.equal(rows[23], 'bulk-24 refused not from state maintenance');
  await shot(page, 'bulk-result');
  for (const n of BULK.slice(0, 23)) assert.equal(await stateOf(n), 'maintenance');
  const events = (await d.daemon.store.listEvents({ machine: 'bulk-01' })).filter((e) => e.event === 'maintenance_on');
  assert.deepEqual(events.map((e) => e.actor), ['operator:admin'], 'one transition per machine, by whoever signed in');

  // Ticked rows: only those, and a second POST of the same confirmation acts on nothing new.
  await go(page, '/ui/machines?tag=bulk');
  await page.click('input[type=checkbox][value="bulk-01"]');
  await page.click('input[type=checkbox][value="bulk-02"]');
  await page.select('form.bulk select[name=action]', 'maintenance_off');
  await submit(page, '#bulk-review');
  assert.deepEqual(await page.$$eval('#bulk-acting li', (lis) => lis.map((l) => l.textContent)), ['bulk-01', 'bulk-02']);
  await submit(page, '#bulk-confirm');
  assert.match(await textOf(page, '#bulk-counts'), /2 accepted, 0 refused/);
  assert.deepEqual([await stateOf('bulk-01'), await stateOf('bulk-02'), await stateOf('bulk-03')], ['ready', 'ready', 'maintenance']);
});

test('a confirmation whose machines changed meanwhile is shown again, not applied', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await go(page, '/ui/machines?tag=bulk&state=maintenance');
  await page.select('form.bulk select[name=action]', 'maintenance_off');
  await page.click('#scope-filter');
  await submit(page, '#bulk-review');
  assert.equal((await call(d.url, d.tokens.admin, 'POST', '/api/v1/machines/bulk-01/actions/maintenance_on', {})).status, 200);
  await submit(page, '#bulk-confirm');
  assert.match(await textOf(page, '#bulk-notice'), /selection changed since you reviewed it/);
  assert.equal(await stateOf('bulk-03'), 'maintenance', 'nothing applied');
  await submit(page, '#bulk-confirm');
  assert.match(await textOf(page, '#bulk-counts'), /23 accepted, 0 refused/);
});

test('bulk power goes through the API\'s power code: one power event per machine, each its own answer', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await go(page, '/ui/machines');
  const fields: [string, string][] = [['action', 'power_cycle'], ['scope', 'selected'], ['machine', 'x86-01'], ['machine', 'x86-02']];
  const preview = await post(page, '/ui/machines/bulk/preview', fields);
  assert.match(preview.text, /2 machines<\/strong> of the machines ticked will be power-cycled through their BMC/);
  const selection = /name="selection" value="([^"]+)"/.exec(preview.text)![1]!;
  const applied = await post(page, '/ui/machines/bulk/apply', [...fields, ['selection', selection]]);
  assert.match(applied.text, /2 accepted, 0 refused/);
  // These machines' driver is manual: an operator is told to press the button (the driver's own
  // `instruction` event, by system); the state is unknown.
  assert.match(applied.text, /x86-01<\/a><\/td><td class="accepted">accepted<\/td><td>power cycle: now unknown/);
  const events = (await d.daemon.store.listEvents({ machine: 'x86-02' })).filter((e) => e.kind === 'power' && e.actor !== 'system');
  assert.deepEqual(events.map((e) => [e.event, e.actor, e.cause]), [['cycle', 'operator:admin', 'power cycle through the dashboard (bulk); now unknown']]);
  assert.equal(await stateOf('x86-01'), 'ready', 'power changes no lifecycle state');
});

test('a read-only token sees the bulk controls disabled with the reason; forged bulk POSTs are refused 403', { skip }, async () => {
  const { page } = await signIn(d.tokens.readonly);
  await go(page, '/ui/machines?tag=gpu');
  assert.equal(await page.$eval('form.bulk fieldset', (f) => (f as unknown as { disabled: boolean }).disabled), true);
  assert.match(await textOf(page, '#bulk-reason'), /read-only: it can look, not act/);
  assert.deepEqual(await page.$$eval('table.machines input[type=checkbox]', (cs) => cs.map((c) => (c as unknown as { disabled: boolean }).disabled)), [true, true, true], 'the header box and each row\'s');
  await shot(page, 'readonly-machines');
  for (const path of ['/ui/machines/bulk/preview', '/ui/machines/bulk/apply']) {
    const r = await post(page, path, [['action', 'maintenance_on'], ['scope', 'selected'], ['machine', 'arm-01']]);
    assert.equal(r.status, 403, path);
  }
  assert.equal(await stateOf('arm-01'), 'ready');
});

test('a bulk POST without (or with a wrong) CSRF token is refused 403', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await go(page, '/ui/machines');
  const fields: [string, string][] = [['action', 'maintenance_on'], ['scope', 'selected'], ['machine', 'x86-01']];
  assert.equal((await post(page, '/ui/machines/bulk/apply', fields, { csrf: null })).status, 403);
  assert.equal((await post(page, '/ui/machines/bulk/apply', fields, { csrf: 'x'.repeat(43) })).status, 403);
  assert.equal((await post(page, '/ui/machines/bulk/preview', fields, { csrf: null })).status, 403);
  assert.equal(await stateOf('x86-01'), 'ready', 'nothing happened');
});

test('attack: a tenant\'s bulk release cannot touch another tenant\'s machine, by name or by filter', { skip }, async () => {
  const { page } = await signIn(tenant.acme!);
  await go(page, '/ui/machines');
  assert.deepEqual(await names(page), ['acme-01']);
  assert.deepEqual(await page.$$eval('form.bulk option', (os) => os.map((o) => o.textContent)), ['Release'], 'a tenant is offered release only');
  const body = await page.content();
  assert.ok(!body.includes('globex'), 'nothing of the other tenant');

  // An operator's action forged by a tenant: refused for each machine.
  const forged = await post(page, '/ui/machines/bulk/preview', [['action', 'power_off'], ['scope', 'selected'], ['machine', 'acme-01']]);
  assert.match(forged.text, /tenant token may only release/);

  // By name: the other's machine is "not found", and the confirmation acts on the own one alone.
  const fields: [string, string][] = [['action', 'release'], ['scope', 'selected'], ['machine', 'globex-01'], ['machine', 'acme-01']];
  const preview = await post(page, '/ui/machines/bulk/preview', fields);
  assert.equal(preview.status, 200);
  assert.match(preview.text, /globex-01 <span class="reason">\(not found\)/);
  const selection = /name="selection" value="([^"]+)"/.exec(preview.text)![1]!;
  const applied = await post(page, '/ui/machines/bulk/apply', [...fields, ['selection', selection]]);
  assert.equal(applied.status, 200);
  assert.match(applied.text, /1 accepted, 1 refused/);
  assert.match(applied.text, /globex-01<\/a><\/td><td class="refused">refused<\/td><td>not found/);
  assert.equal(await stateOf('globex-01'), 'deploying', 'the other tenant\'s machine is untouched');
  assert.notEqual(await stateOf('acme-01'), 'deploying', 'its own machine was released');

  // By filter: the URL's owner is the other tenant; the tenant's scope holds.
  const byFilter = await post(page, '/ui/machines/bulk/preview', [['action', 'release'], ['scope', 'filter'], ['filter', 'owner=globex']]);
  assert.match(byFilter.text, /Nothing to do/);
  assert.ok(!byFilter.text.includes('globex-01'), 'not even named');
  await shot(page, 'tenant-machines');
});

test('hostile machine text in rows and a hostile filter value render inert', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await go(page, `/ui/machines?q=hostile&cols=name,tags,arch&tag=${encodeURIComponent(`!${HOSTILE}`)}`);
  assert.equal(await textOf(page, 'tr[data-live-machine="hostile-01"] td:nth-child(3)'), HOSTILE);
  assert.equal(await page.$$eval('table.machines img, table.machines script, form.filters img', (x) => x.length), 0);
  assert.equal(await page.$eval('input[name=tag]', (i) => (i as unknown as { value: string }).value), `!${HOSTILE}`);
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  await shot(page, 'machines-hostile');
});

test('pages are sent gzip-compressed to a browser that accepts it', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  const r = await fetch(`${d.url}/ui/machines`, { headers: { cookie: await cookieOf(page), 'accept-encoding': 'gzip' } });
  assert.equal(r.headers.get('content-encoding'), 'gzip');
  assert.match(r.headers.get('vary') ?? '', /Accept-Encoding/);
  assert.match(await r.text(), /<h1>Machines<\/h1>/, 'fetch decodes it');
});
