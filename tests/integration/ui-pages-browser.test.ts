// The dashboard's overview, allocations and tokens pages in Debian's Chromium (puppeteer-core)
// against an in-process daemon on SQLite: failures with their reasons and work in flight with its
// progress on the overview, health for operators only; a tenant allocating and releasing on the
// Allocations page within its own owner (a forged owner is refused); an admin creating a token
// whose secret is shown once, signing in with it and revoking it (its session ends); read-only
// and CSRF refusals; hostile text rendered inert; every page at 375 px without sideways scrolling.
// Screenshots are kept in a folder printed at the start. Every assert.ok carries its message
// (without one, Node reads this file's source to build it, which stalled under tsx).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { act } from '../../daemon/core/actions.js';
import { call, startReadyRack, TENANT_MACHINES } from '../lib/allocation.js';
import type { TestDaemon } from '../lib/daemon.js';
import { cookieOf, csrfOf, haveChromium, launchChromium, shot as shotIn, signIn as signInAs, textOf, waitText } from '../lib/browser.js';

// What the functions run inside the page touch (the project's TypeScript has no DOM library).
declare const document: { documentElement: { scrollWidth: number }; activeElement: { className: string } | null; body: { getAttribute(n: string): string | null } };
declare const window: unknown;

const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>"'&amp;`;
const skip = haveChromium() ? false : 'no /usr/bin/chromium (make test installs it)';
const shots = mkdtempSync(join(tmpdir(), 'rackhand-ui-pages-shots-'));
const GIB = 1024 ** 3;
let d: TestDaemon;
let browser: Browser;
const tenant: Record<string, string> = {};
let globexAllocation = '';

before(async () => {
  if (skip) return;
  console.log(`screenshots: ${shots}`);
  d = await startReadyRack([
    ...TENANT_MACHINES,
    { name: 'pool-01', cpus: 4, memoryGib: 16, diskGib: 50, tags: ['pool'] },
    { name: 'pool-02', cpus: 4, memoryGib: 16, diskGib: 50, tags: ['pool'] },
    { name: 'fail-01', cpus: 8, memoryGib: 32, diskGib: 100 },
    { name: 'run-01', cpus: 8, memoryGib: 32, diskGib: 100 },
  ]);
  for (const owner of ['acme', 'globex']) {
    const t = await call(d.url, d.tokens.admin, 'POST', '/api/v1/tokens', { owner, name: `${owner}-key` });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    tenant[owner] = t.body.secret;
    const a = await call(d.url, d.tokens.admin, 'POST', '/api/v1/allocations', { owner, profile: 'lab-image', constraints: { tags: [owner] } });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    if (owner === 'globex') globexAllocation = a.body.allocation.id;
  }
  const store = d.daemon.store;
  // acme's machine fails while acme holds it (a tenant sees it); fail-01 fails in the pool (operators only).
  await act(store, { machine: 'web-01', event: 'error', actor: 'agent', reason: 'image failed: sha256 mismatch on /dev/sda' });
  await act(store, { machine: 'fail-01', event: 'inspect', actor: 'test' });
  await act(store, { machine: 'fail-01', event: 'error', actor: 'agent', reason: `inspect failed: ${HOSTILE}` });
  // run-01 is being inspected, its agent somewhere in the image step (bytes written of the total).
  await act(store, { machine: 'run-01', event: 'inspect', actor: 'test' });
  const op = (await store.activeOperation('run-01'))!;
  await store.updateOperation(op.id, { step: 'image', progress: { bytes: 1 * GIB, total: 4 * GIB } });
  browser = await launchChromium();
});

after(async () => {
  if (skip) return;
  try { await d.close(); } finally { await browser?.close(); }
});

const signIn = (token: string) => signInAs(browser, d.url, token);
const shot = (page: Page, name: string) => shotIn(page, shots, name);
const disabled = (page: Page, selector: string) => page.$eval(selector, (b) => (b as unknown as { disabled: boolean }).disabled);
const post = async (page: Page, path: string, body: string, csrf = true) => fetch(`${d.url}${path}`, {
  method: 'POST', redirect: 'manual',
  headers: { cookie: await cookieOf(page), 'content-type': 'application/x-www-form-urlencoded', ...(csrf ? { 'x-csrf-token': await csrfOf(page) } : {}) },
  body,
});

test('overview (admin): a failure with its reason, work in flight with its progress, live; service health', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  assert.match(await textOf(page, 'tr[data-failure="fail-01"]'), /inspecting.*inspect failed/s);
  assert.match(await textOf(page, 'tr[data-failure="web-01"] .cause'), /sha256 mismatch/);
  const bar = await page.$eval('tr[data-work="run-01"] progress', (p) => ({ value: p.getAttribute('value'), max: p.getAttribute('max'), label: p.getAttribute('aria-labelledby') }));
  assert.deepEqual(bar, { value: String(GIB), max: String(4 * GIB), label: 'progress-run-01' });
  assert.match(await textOf(page, '#progress-run-01'), /1\.0 GiB of 4\.0 GiB \(25 %\)/);
  assert.match(await textOf(page, 'tr[data-work="run-01"]'), /inspect.*image/s);
  // No event comes with progress: the section looks again by itself while work runs.
  const op = (await d.daemon.store.activeOperation('run-01'))!;
  await d.daemon.store.updateOperation(op.id, { step: 'image', progress: { bytes: 3 * GIB, total: 4 * GIB } });
  await waitText(page, '#progress-run-01', '(75 %)', 8000);
  for (const name of ['DHCP', 'TFTP', 'HTTP', 'Store', 'Power']) assert.ok(await page.$(`#overview-health li[data-service="${name}"]`), `${name} health shown`);
  assert.match(await textOf(page, '#overview-health li[data-service="Store"]'), /available/);
  assert.match(await textOf(page, '#overview-health li[data-service="DHCP"]'), /not served by this daemon/, 'an HTTP-only daemon runs no DHCP');
  assert.equal(await page.$$eval('#overview-live img, #overview-live script', (x) => x.length), 0, 'the hostile reason is text');
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  await shot(page, 'overview-admin');
});

test('overview (tenant): its own failure and counts only; no health, and its fragment is refused', { skip }, async () => {
  const { page } = await signIn(tenant.acme!);
  assert.match(await textOf(page, 'tr[data-failure="web-01"]'), /sha256 mismatch/);
  const body = await page.content();
  for (const other of ['fail-01', 'run-01', 'web-02', 'globex']) assert.ok(!body.includes(other), `the overview shows nothing of ${other}`);
  assert.equal(await page.$('#overview-health'), null, 'no infrastructure for a tenant');
  assert.equal(await textOf(page, '[data-state-count="failed"]'), '1');
  const r = await fetch(`${d.url}/ui/overview/health`, { redirect: 'manual', headers: { cookie: await cookieOf(page) } });
  assert.equal(r.status, 403);
  await shot(page, 'overview-tenant');
});

test('a tenant allocates on the Allocations page, sees only its own, is told what no machine had, and releases after confirming', { skip }, async () => {
  const { page } = await signIn(tenant.acme!);
  await page.goto(`${d.url}/ui/allocations`);
  assert.equal(await page.$('form.allocate input[name=owner]'), null, 'a tenant has no owner field');
  assert.match(await textOf(page, '.fixed-owner'), /acme/);
  assert.ok(!(await page.content()).includes(globexAllocation), 'another tenant\'s allocation is not listed');

  await page.type('form.allocate input[name=cpus]', '999');
  await Promise.all([page.waitForNavigation(), page.click('form.allocate button[type=submit]')]);
  assert.match(await textOf(page, '#allocate-error'), /^409 .*Missing: cpus/s);
  assert.equal(await page.$eval('form.allocate input[name=cpus]', (i) => (i as unknown as { value: string }).value), '999', 'the form keeps what was typed');
  await shot(page, 'allocations-no-fit');

  await page.$eval('form.allocate input[name=cpus]', (i) => { (i as unknown as { value: string }).value = '4'; });
  await page.type('form.allocate input[name=tags]', 'pool');
  await Promise.all([page.waitForNavigation(), page.click('form.allocate button[type=submit]')]);
  const id = new URL(page.url()).searchParams.get('created')!;
  assert.match(id, /^alloc-/);
  const mine = (await d.daemon.store.getAllocation(id))!;
  assert.equal(mine.owner, 'acme');
  assert.match(await textOf(page, `tr[data-allocation="${id}"]`), /acme.*pool-0[12]/s);
  await shot(page, 'allocations-tenant');

  let asked = '';
  page.once('dialog', (dialog) => { asked = dialog.message(); void dialog.accept(); });
  await Promise.all([page.waitForNavigation(), page.click(`button[data-release="${id}"]`)]);
  assert.match(asked, new RegExp(`^Release ${id} \\(acme\\): pool-0[12] leave`));
  assert.equal((await d.daemon.store.getAllocation(id))!.state, 'released');
  assert.match(await textOf(page, '#allocation-notice'), new RegExp(`Released ${id}`));

  // Another tenant's allocation: not found, not released.
  assert.equal((await post(page, `/ui/allocations/${globexAllocation}/release`, '')).status, 404);
  assert.equal((await d.daemon.store.getAllocation(globexAllocation))!.state, 'active');
});

test('attack: a tenant\'s forged owner field is refused, nothing is allocated for that owner', { skip }, async () => {
  const { page } = await signIn(tenant.acme!);
  await page.goto(`${d.url}/ui/allocations`);
  const before = (await d.daemon.store.listAllocations({ owner: 'globex' })).length;
  const r = await post(page, '/ui/allocations', 'owner=globex&profile=lab-image&tags=pool&count=1');
  assert.equal(r.status, 403);
  assert.match(await r.text(), /allocates for owner acme only, not globex/);
  assert.equal((await d.daemon.store.listAllocations({ owner: 'globex' })).length, before);
  // The owner filter of the list cannot widen a tenant's view either.
  await page.goto(`${d.url}/ui/allocations?owner=globex`);
  assert.ok(!(await page.content()).includes(globexAllocation), 'owner=globex shows nothing of globex');
});

test('an admin sees every allocation, filters by owner and state in the URL, and allocates for a named owner', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await page.goto(`${d.url}/ui/allocations?owner=globex&state=active`);
  assert.ok(await page.$(`tr[data-allocation="${globexAllocation}"]`), 'globex\'s allocation is listed');
  assert.equal(await page.$$eval('table.allocations tbody tr', (rows) => rows.length), 1);
  assert.equal(await page.$eval('select[name=state]', (s) => (s as unknown as { value: string }).value), 'active');
  await page.goto(`${d.url}/ui/allocations`);
  await page.type('form.allocate input[name=owner]', 'initech');
  await page.type('form.allocate input[name=tags]', 'pool');
  await Promise.all([page.waitForNavigation(), page.click('form.allocate button[type=submit]')]);
  const id = new URL(page.url()).searchParams.get('created')!;
  assert.equal((await d.daemon.store.getAllocation(id))!.owner, 'initech');
  await shot(page, 'allocations-admin');
});

test('hostile owner and profile strings render inert on the Allocations page', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await page.goto(`${d.url}/ui/allocations?owner=${encodeURIComponent(HOSTILE)}`);
  assert.equal(await page.$eval('form[role=search] input[name=owner]', (i) => (i as unknown as { value: string }).value), HOSTILE.slice(0, 63));
  const r = await post(page, '/ui/allocations', `owner=${encodeURIComponent(HOSTILE)}&profile=${encodeURIComponent(HOSTILE)}`);
  assert.equal(r.status, 400);
  const body = await r.text();
  assert.ok(!body.includes('<script>') && !body.includes('<img src=x'), 'the error page carries no markup from the request');
  // The same page in the browser: the form shows the text back, nothing runs.
  await page.$eval('form.allocate select[name=profile] option', (o, v) => { (o as unknown as { value: string }).value = v; }, HOSTILE);
  await page.type('form.allocate input[name=owner]', 'acme');
  await Promise.all([page.waitForNavigation(), page.click('form.allocate button[type=submit]')]);
  assert.ok((await textOf(page, '#allocate-error')).includes(HOSTILE), 'the refusal quotes the profile as text');
  assert.equal(await page.$$eval('main img, main script', (x) => x.length), 0);
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  await shot(page, 'allocations-hostile');
});

test('a read-only token sees allocate and release disabled with the reason; a forged POST is refused', { skip }, async () => {
  const { page } = await signIn(d.tokens.readonly);
  await page.goto(`${d.url}/ui/allocations`);
  assert.equal(await disabled(page, 'form.allocate button[type=submit]'), true);
  assert.equal(await disabled(page, `button[data-release="${globexAllocation}"]`), true);
  assert.match(await textOf(page, '#allocate-reason'), /read-only/);
  assert.match(await textOf(page, '#release-reason'), /read-only/);
  assert.equal(await page.$('nav a[href="/ui/tokens"]'), null, 'no Tokens link for a read-only token');
  await shot(page, 'allocations-readonly');
  assert.equal((await post(page, '/ui/allocations', 'owner=acme&profile=lab-image&tags=pool')).status, 403);
  assert.equal((await post(page, `/ui/allocations/${globexAllocation}/release`, '')).status, 403);
  assert.equal((await d.daemon.store.getAllocation(globexAllocation))!.state, 'active');
  assert.equal((await page.goto(`${d.url}/ui/tokens`))!.status(), 403);
});

test('POSTs without the CSRF token are refused 403 and change nothing', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  const tokens = (await d.daemon.store.listApiTokens()).length;
  assert.equal((await post(page, '/ui/allocations', 'owner=acme&profile=lab-image&tags=pool', false)).status, 403);
  assert.equal((await post(page, `/ui/allocations/${globexAllocation}/release`, '', false)).status, 403);
  assert.equal((await post(page, '/ui/tokens', 'owner=acme', false)).status, 403);
  assert.equal((await post(page, '/ui/tokens/acme-key/revoke', '', false)).status, 403);
  assert.equal((await post(page, '/ui/tokens/acme-key/revoke', '_csrf=wrong', false)).status, 403);
  assert.equal((await d.daemon.store.getAllocation(globexAllocation))!.state, 'active');
  assert.equal((await d.daemon.store.listApiTokens()).length, tokens);
  assert.equal((await d.daemon.store.listApiTokens()).find((t) => t.name === 'acme-key')!.revokedAt, null);
});

test('tokens: an admin creates one, its secret is shown once, it signs in; revoked, its session ends', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await page.goto(`${d.url}/ui/tokens`);
  assert.match(await textOf(page, 'tr[data-token="viewer"]'), /read-only/);
  assert.match(await textOf(page, 'tr[data-token="acme-key"]'), /tenant.*acme.*active/s);
  assert.ok(!(await page.content()).includes(d.tokens.readonly), 'file tokens\' secrets are not shown');
  await page.type('input[name=owner]', 'initech');
  await page.type('input[name=name]', 'initech-ui');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/ui/tokens"] button[type=submit]')]);
  assert.ok(page.url().endsWith('/ui/tokens/created'), page.url());
  const secret = await page.$eval('#secret', (i) => (i as unknown as { value: string }).value);
  assert.match(secret, /^rh_/);
  assert.ok(!page.url().includes(secret), 'the secret is not in the URL');
  await shot(page, 'token-created');
  await page.reload();
  assert.ok(!(await page.content()).includes(secret), 'a reload does not show the secret again');
  assert.ok(await page.$('#secret-gone'), 'the page says it was shown once');
  await page.goto(`${d.url}/ui/tokens`);
  assert.ok(!(await page.content()).includes(secret), 'the list never shows it');

  const t = await signIn(secret);
  assert.equal(await textOf(t.page, 'h1'), 'Overview');
  assert.match(await textOf(t.page, 'header .who'), /initech-ui \(tenant initech\)/);
  const tenantCookie = await cookieOf(t.page);
  await t.page.waitForFunction(() => document.body.getAttribute('data-live') === 'open', { timeout: 5000 });

  let asked = '';
  page.once('dialog', (dialog) => { asked = dialog.message(); void dialog.accept(); });
  await Promise.all([page.waitForNavigation(), page.click('button[data-revoke="initech-ui"]')]);
  assert.match(asked, /^Revoke token initech-ui of owner initech/);
  assert.match(await textOf(page, 'tr[data-token="initech-ui"]'), /revoked/);
  await shot(page, 'tokens-after-revoke');
  // Its open page's live stream ends at once (the revoke's own event wakes it), not at the next heartbeat.
  await t.page.waitForFunction(() => document.body.getAttribute('data-live') === 'lost', { timeout: 5000 });
  await t.page.goto(`${d.url}/ui/allocations`);
  assert.ok(t.page.url().endsWith('/ui/sign-in'), `the revoked token's session ended: ${t.page.url()}`);
  const r = await fetch(`${d.url}/ui/`, { redirect: 'manual', headers: { cookie: tenantCookie } });
  assert.equal(r.status, 303, 'its old cookie opens nothing');
});

test('a tenant gets 403 on /ui/tokens and sees no Tokens link', { skip }, async () => {
  const { page } = await signIn(tenant.globex!);
  assert.equal(await page.$('nav a[href="/ui/tokens"]'), null);
  assert.ok(await page.$('nav a[href="/ui/allocations"]'), 'the Allocations link is there');
  assert.equal((await page.goto(`${d.url}/ui/tokens`))!.status(), 403);
  assert.equal((await page.goto(`${d.url}/ui/tokens/created`))!.status(), 403);
  assert.equal((await post(page, '/ui/tokens', 'owner=globex&name=sneaky')).status, 403);
  assert.equal((await d.daemon.store.listApiTokens()).some((t) => t.name === 'sneaky'), false);
});

test('keyboard: the first Tab reaches the skip link, which leads to the content', { skip }, async () => {
  const { page } = await signIn(d.tokens.admin);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.className), 'skip');
  await shot(page, 'skip-link-focused');
});

test('at 375 px wide, no page scrolls sideways (tables scroll inside their own box)', { skip }, async () => {
  for (const [who, token] of [['admin', d.tokens.admin], ['tenant', tenant.acme!]] as const) {
    const { page } = await signIn(token);
    await page.setViewport({ width: 375, height: 740 });
    const paths = ['/ui/', '/ui/machines', '/ui/allocations', '/ui/machines/web-01', ...(who === 'admin' ? ['/ui/tokens'] : [])];
    for (const path of paths) {
      await page.goto(`${d.url}${path}`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 375, `${who} ${path}: the page is ${width} px wide at 375`);
      await page.screenshot({ path: join(shots, `narrow-${who}${path.replace(/\//g, '-')}.png`) });
    }
    if (who === 'admin') {
      // The one-time secret's field is wide on a desktop: on a phone it fits the screen.
      await page.goto(`${d.url}/ui/tokens`);
      await page.type('input[name=owner]', 'narrow');
      await Promise.all([page.waitForNavigation(), page.click('form[action="/ui/tokens"] button[type=submit]')]);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 375, `the token-created page is ${width} px wide at 375`);
      await page.screenshot({ path: join(shots, 'narrow-admin-token-created.png') });
    }
  }
});
