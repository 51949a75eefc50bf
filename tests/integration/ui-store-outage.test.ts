// The dashboard's overview while PostgreSQL is away (no root, no browser): an operator still gets
// a page, 503, that says the store is unavailable and shows this daemon's services with the store
// down (their counters live in the process); the racks are said to be unknown. A tenant gets an
// ordinary 503 page with no infrastructure in it. Once the database is back, the overview is whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { ADMIN_TOKEN, inventoryCopy, prepareStateDir } from '../lib/daemon.js';
import { serveProcess } from '../lib/cli.js';
import { startPostgres, type PgCluster } from '../lib/postgres.js';
import { tempDir } from '../lib/tmp.js';

/** Signs in with `token` (as a browser's form would) and returns the session cookie. */
async function signIn(base: string, token: string): Promise<string> {
  const r = await fetch(`${base}/ui/sign-in`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` });
  assert.equal(r.status, 303);
  return r.headers.get('set-cookie')!.split(';')[0]!;
}

test('during a store outage an operator\'s overview shows the outage and the services; a tenant\'s shows nothing of them', { timeout: 120_000 }, async () => {
  const cluster = await startPostgres();
  let daemon: ChildProcess | undefined;
  try {
    await outage(cluster, (child) => { daemon = child; });
  } finally {
    if (daemon?.exitCode === null) daemon.kill('SIGKILL');
    await cluster.stop();
  }
});

async function outage(cluster: PgCluster, started: (child: ChildProcess) => void): Promise<void> {
  const state = tempDir('ui-outage-state');
  prepareStateDir(state);
  const d = await serveProcess(['--no-power', '--inventory', inventoryCopy(), '--state-dir', state, '--store', cluster.url(await cluster.createDatabase('uioutage'))], { PGPASSWORD: '' });
  started(d.child);
  const made = await fetch(`${d.url}/api/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ owner: 'acme' }) });
  const tenantSecret = ((await made.json()) as { secret: string }).secret;
  const admin = await signIn(d.url, ADMIN_TOKEN);
  const tenant = await signIn(d.url, tenantSecret);
  const overview = async (cookie: string, path = '/ui/') => {
    const r = await fetch(`${d.url}${path}`, { redirect: 'manual', headers: { cookie }, signal: AbortSignal.timeout(15_000) });
    return { status: r.status, body: await r.text() };
  };
  assert.match((await overview(admin)).body, /data-state-count="enrolled"/);

  await cluster.halt('immediate');
  try {
    const a = await overview(admin);
    assert.equal(a.status, 503, a.body.slice(0, 300));
    assert.match(a.body, /id="store-unavailable"/);
    assert.match(a.body, /<li data-service="Store"><strong class="down">Store<\/strong>/);
    assert.match(a.body, /<li data-service="HTTP"><strong class="up">HTTP/);
    assert.match(a.body, /Racks: unknown while the store is unavailable/);
    assert.ok(!a.body.includes(String(cluster.port)), 'the database\'s address is not on the page');
    const h = await overview(admin, '/ui/overview/health');
    assert.equal(h.status, 200, 'the health fragment keeps refreshing');
    assert.match(h.body, /class="down">Store/);
    // A tenant's token lives in the store: its session cannot be checked, and it is shown no infrastructure.
    const t = await overview(tenant);
    assert.ok(t.status >= 500, `tenant: ${t.status}`);
    assert.doesNotMatch(t.body, /data-service|store-unavailable/);
  } finally {
    await cluster.resume();
  }
  const start = Date.now();
  let back = await overview(admin);
  while (back.status !== 200 && Date.now() - start < 10_000) { await new Promise((r) => setTimeout(r, 200)); back = await overview(admin); }
  assert.equal(back.status, 200);
  assert.match(back.body, /<li data-service="Store"><strong class="up">Store/);
  d.child.kill('SIGTERM');
  await new Promise((r) => d.child.once('exit', r));
}
