// The dashboard in a real browser (Debian's Chromium through puppeteer-core) against an in-process
// daemon on SQLite (http only, power actions off): sign in, filter, open a machine, act, and see
// state changes arrive live; a tenant's scope; CSRF; a read-only token; hostile text rendered
// inert. Screenshots of each page are kept in a folder printed at the start (not removed).
// Every assert.ok carries its message: without one, Node builds it by reading this file's source,
// and under tsx that stalled the run here (seen) instead of failing it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { act } from '../../daemon/core/actions.js';
import { call, startReadyRack, tenantsWithAllocations, TENANT_MACHINES } from '../lib/allocation.js';
import type { TestDaemon } from '../lib/daemon.js';
import { closeDaemonThenBrowser, cookieOf, csrfOf, haveChromium, launchChromium, shot as shotIn, signIn as signInAs, textOf, waitText } from '../lib/browser.js';

// What the functions run inside the page touch (the project's TypeScript has no DOM library).
declare const document: { body: { getAttribute(n: string): string | null } };
declare const window: unknown;

const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>"'&amp;`;
const skip = haveChromium() ? false : 'no /usr/bin/chromium (make test installs it)';
const shots = mkdtempSync(join(tmpdir(), 'rackhand-ui-shots-'));
let d: TestDaemon;
let browser: Browser;
const tenant: Record<string, string> = {};

before(async () => {
  if (skip) return;
  console.log(`screenshots: ${shots}`);
  d = await startReadyRack([
    ...TENANT_MACHINES,
    { name: 'spare-01', cpus: 8, memoryGib: 32, diskGib: 100 },
    { name: 'hostile-01', cpus: 8, memoryGib: 32, diskGib: 100 },
  ]);
  Object.assign(tenant, await tenantsWithAllocations(d, ['acme', 'globex']));
  // An agent's error message and facts carrying markup: they must render as text.
  const store = d.daemon.store;
  await act(store, { machine: 'hostile-01', event: 'inspect', actor: 'test' });
  await store.setFacts('hostile-01', { vendor: HOSTILE, cpus: 8 });
  await act(store, { machine: 'hostile-01', event: 'error', actor: 'agent', reason: HOSTILE });
  browser = await launchChromium();
});

// Open pages hold live streams: the daemon still closes at once (the feed's close ends them);
// whatever fails there, no Chromium is left running behind the test.
after(() => (skip ? undefined : closeDaemonThenBrowser(d, browser)));

const signIn = (token: string) => signInAs(browser, d.url, token);
const shot = (page: Page, name: string) => shotIn(page, shots, name);
const text = textOf;
const stateOf = async (name: string) => (await d.daemon.store.getMachine(name))!.state;
test('admin signs in: session cookie is HttpOnly, SameSite=Strict, Path=/ui; the token is nowhere in the page', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  assert.equal(await text(page, 'h1'), 'Overview');
  const c = (await page.browserContext().cookies()).find((x) => x.name === 'rh_session')!;
  assert.equal(c.httpOnly, true);
  assert.equal(c.sameSite, 'Strict');
  assert.equal(c.path, '/ui');
  assert.ok(!(await page.content()).includes(d.tokens.admin), 'the token is not in the page');
  assert.equal(await text(page, '[data-state-count="deploying"]'), '2');
  await shot(page, 'overview');
});

test('machines list: filters (negation too) are kept in the URL; sorting by a header', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await page.goto(`${d.url}/ui/machines`);
  await page.type('input[name=q]', 'web');
  await Promise.all([page.waitForNavigation(), page.click('form.filters button[type=submit]')]);
  assert.match(page.url(), /[?&]q=web(&|$)/);
  const names = () => page.$$eval('table.machines tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
  assert.deepEqual(await names(), ['web-01', 'web-02']);
  assert.equal(await page.$eval('input[name=q]', (i) => (i as unknown as { value: string }).value), 'web', 'the form shows the filter');
  await page.goto(`${d.url}/ui/machines?q=!web&state=!enrolled`);
  assert.deepEqual(await names(), ['hostile-01', 'spare-01']);
  await Promise.all([page.waitForNavigation(), page.click('table.machines th:first-child a')]);
  assert.match(page.url(), /dir=desc/);
  assert.match(page.url(), /q=%21web/);
  assert.deepEqual(await names(), ['spare-01', 'hostile-01']);
  await shot(page, 'machines');
});

test('hostile text in last_error and facts renders inert, as text', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await page.goto(`${d.url}/ui/machines/hostile-01`);
  assert.equal(await text(page, '#last-error'), HOSTILE);
  assert.equal(await page.$$eval('#machine-live img, #machine-live script', (x) => x.length), 0);
  assert.ok((await text(page, '#facts')).includes(JSON.stringify(HOSTILE).slice(1, -1)), 'the facts show the text, JSON-quoted');
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  await shot(page, 'machine-hostile');
});

test('a transition made through the API arrives live on the open machine page and list, without a reload', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await page.goto(`${d.url}/ui/machines/spare-01`);
  await page.evaluate(() => { (window as unknown as { __same: boolean }).__same = true; });
  await page.waitForFunction(() => document.body.getAttribute('data-live') === 'open', { timeout: 5000 });
  const r = await call(d.url, d.tokens.admin, 'POST', '/api/v1/machines/spare-01/actions/maintenance_on', {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await waitText(page, '#machine-state', 'maintenance');
  assert.equal(await page.evaluate(() => (window as unknown as { __same?: boolean }).__same), true, 'same page: no reload');

  const list = await (await page.browserContext()).newPage();
  await list.goto(`${d.url}/ui/machines?q=spare`);
  await list.evaluate(() => { (window as unknown as { __same: boolean }).__same = true; });
  await list.waitForFunction(() => document.body.getAttribute('data-live') === 'open', { timeout: 5000 });
  assert.equal((await call(d.url, d.tokens.admin, 'POST', '/api/v1/machines/spare-01/actions/maintenance_off', {})).status, 200);
  await waitText(list, 'tr[data-live-machine="spare-01"]', 'ready');
  await waitText(page, '#machine-state', 'ready');
  assert.equal(await list.evaluate(() => (window as unknown as { __same?: boolean }).__same), true);
});

test('the Inspect button asks for confirmation naming what happens, then the state changes live', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await page.goto(`${d.url}/ui/machines/spare-01`);
  await page.evaluate(() => { (window as unknown as { __same: boolean }).__same = true; });
  let asked = '';
  page.once('dialog', (dialog) => { asked = dialog.message(); void dialog.accept(); });
  await page.click('button[data-action="inspect"]');
  await waitText(page, '#machine-state', 'inspecting');
  assert.match(asked, /^Inspect spare-01: it is power-cycled into the agent/);
  assert.equal(await stateOf('spare-01'), 'inspecting');
  await waitText(page, '#action-notice', 'inspect accepted');
  assert.ok((await text(page, 'table.events')).includes('operator:admin'), 'the timeline names who acted');
  assert.equal(await page.evaluate(() => (window as unknown as { __same?: boolean }).__same), true);
  await shot(page, 'machine-after-inspect');
});

test('a tenant sees only its own machines; another tenant\'s machine is not found', { skip }, async () => {
  const { page } = await signIn(tenant.acme!);
  assert.equal(await text(page, '[data-state-count="deploying"]'), '1');
  for (const path of ['/ui/', '/ui/machines']) {
    await page.goto(`${d.url}${path}`);
    const body = await page.content();
    assert.ok(!body.includes('web-02') && !body.includes('globex') && !body.includes('spare-01'), `${path} shows nothing of others`);
  }
  assert.deepEqual(await page.$$eval('table.machines tbody tr td:first-child', (tds) => tds.map((t) => t.textContent)), ['web-01']);
  await shot(page, 'tenant-machines');
  const other = await page.goto(`${d.url}/ui/machines/web-02`);
  assert.equal(other!.status(), 404);
  const own = await page.goto(`${d.url}/ui/machines/web-01`);
  assert.equal(own!.status(), 200);
  assert.equal(await page.$eval('button[data-action="inspect"]', (b) => (b as unknown as { disabled: boolean }).disabled), true, 'operators\' actions are not a tenant\'s');
  const r = await fetch(`${d.url}/ui/machines/web-02/actions/release`, {
    method: 'POST', redirect: 'manual', headers: { cookie: await cookieOf(page), 'x-csrf-token': await csrfOf(page), 'content-type': 'application/x-www-form-urlencoded' }, body: '',
  });
  assert.equal(r.status, 404, 'acting on another tenant\'s machine: not found');
  assert.equal(await stateOf('web-02'), 'deploying');
  await shot(page, 'tenant-machine');
});

test('a POST without (or with a wrong) CSRF token is refused 403; with it, it acts', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await page.goto(`${d.url}/ui/machines/hostile-01`);
  const cookie = await cookieOf(page);
  const post = (headers: Record<string, string>, body = '') => fetch(`${d.url}/ui/machines/hostile-01/actions/inspect`, {
    method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body,
  });
  assert.equal((await post({})).status, 403);
  assert.equal((await post({ 'x-csrf-token': 'x'.repeat(43) })).status, 403);
  assert.equal((await post({}, '_csrf=wrong')).status, 403);
  const csrf = await csrfOf(page);
  assert.equal((await post({ 'x-csrf-token': csrf, origin: 'http://evil.invalid' })).status, 403, 'cross-site Origin refused');
  assert.equal(await stateOf('hostile-01'), 'failed', 'nothing happened');
  const ok = await post({}, `_csrf=${encodeURIComponent(csrf)}`);
  assert.equal(ok.status, 303);
  assert.equal(await stateOf('hostile-01'), 'inspecting');
});

test('a read-only token sees every action disabled with the reason; a forged POST is refused', { skip }, async () => {
  const { page } = await signIn(d.tokens.readonly);
  await page.goto(`${d.url}/ui/machines/node-01`);
  const disabled = await page.$$eval('.actions button', (bs) => bs.map((b) => (b as unknown as { disabled: boolean }).disabled));
  assert.ok(disabled.length >= 5 && disabled.every(Boolean), JSON.stringify(disabled));
  assert.match(await text(page, '#action-reason'), /read-only/);
  await shot(page, 'readonly-machine');
  const r = await fetch(`${d.url}/ui/machines/node-01/actions/inspect`, {
    method: 'POST', redirect: 'manual', headers: { cookie: await cookieOf(page), 'x-csrf-token': await csrfOf(page), 'content-type': 'application/x-www-form-urlencoded' }, body: '',
  });
  assert.equal(r.status, 403);
  assert.equal(await stateOf('node-01'), 'enrolled');
});

test('sign-out ends the session: the old cookie no longer opens a page', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  const cookie = await cookieOf(page);
  await Promise.all([page.waitForNavigation(), page.click('header.top form button')]);
  assert.ok(page.url().endsWith('/ui/sign-in'), `signed out to the sign-in page: ${page.url()}`);
  const r = await fetch(`${d.url}/ui/machines`, { redirect: 'manual', headers: { cookie } });
  assert.equal(r.status, 303);
  assert.equal(r.headers.get('location'), '/ui/sign-in');
  const bad = await fetch(`${d.url}/ui/sign-in`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=rh_nope' });
  assert.equal(bad.status, 401);
});
