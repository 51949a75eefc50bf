// `rackhand serve` on PostgreSQL while the database restarts (issue 14), without root: the API
// answers 503 STORE_UNAVAILABLE at once (not a 500, not a hang) while it is away, /healthz and
// /metrics keep answering, the same process reconnects by itself afterwards, and the outage is
// logged once when it starts and once when it ends. Both ways down: `pg_ctl stop -m fast` (clients
// are told 57P01 admin_shutdown) and `-m immediate` (connections simply cut).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { ADMIN_TOKEN, inventoryCopy, prepareStateDir } from '../lib/daemon.js';
import { serveProcess } from '../lib/cli.js';
import { startPostgres, type PgCluster } from '../lib/postgres.js';
import { tempDir } from '../lib/tmp.js';

let cluster: PgCluster;
let daemon: ChildProcess | undefined;
before(async () => { cluster = await startPostgres(); });
after(async () => {
  if (daemon?.exitCode === null) daemon.kill('SIGKILL');
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serve(url: string): Promise<{ base: string; log: () => string }> {
  const state = tempDir('pg-outage-state');
  prepareStateDir(state);
  const d = await serveProcess(['--no-power', '--inventory', inventoryCopy(), '--state-dir', state, '--store', url], { PGPASSWORD: '' });
  daemon = d.child;
  return { base: d.url, log: d.log };
}

test('the API refuses clearly while PostgreSQL is down and serves again, by itself, once it is back', { timeout: 120_000 }, async () => {
  const d = await serve(cluster.url(await cluster.createDatabase('outage')));
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const call = async (path: string, init: RequestInit = {}) => {
    const t = Date.now();
    const res = await fetch(`${d.base}${path}`, { ...init, headers: { ...auth, ...init.headers }, signal: AbortSignal.timeout(15_000) });
    return { status: res.status, ms: Date.now() - t, retryAfter: res.headers.get('retry-after'), body: await res.text() };
  };
  assert.equal((await call('/api/v1/machines/node-01')).status, 200);

  for (const mode of ['fast', 'immediate'] as const) {
    await cluster.halt(mode);
    for (const [path, init] of [['/api/v1/machines/node-01', {}], ['/api/v1/machines', {}],
      ['/api/v1/machines/node-01/actions/inspect', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }]] as const) {
      const r = await call(path, init);
      assert.equal(r.status, 503, `${mode} ${path}: ${r.body}`);
      assert.ok(r.ms < 4000, `${mode} ${path} took ${r.ms} ms`);
      assert.equal(r.retryAfter, '5');
      assert.deepEqual(JSON.parse(r.body), { error: { code: 'STORE_UNAVAILABLE', message: 'the store (the daemon\'s database) is unavailable: retry later' } });
      assert.ok(!r.body.includes(String(cluster.port)), 'the database\'s address is not told to clients');
    }
    const health = await call('/healthz');
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).store, 'unavailable');
    const metrics = await call('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^rackhand_store_available 0$/m);
    assert.match(metrics.body, /^rackhand_store_refused_requests_total\{server="http"\} [1-9]/m);
    await sleep(1500);
    await cluster.resume();
    const t = Date.now();
    let back = await call('/api/v1/machines/node-01');
    while (back.status !== 200 && Date.now() - t < 10_000) { await sleep(200); back = await call('/api/v1/machines/node-01'); }
    assert.equal(back.status, 200, back.body);
    assert.equal(JSON.parse((await call('/healthz')).body).store, 'available');
    assert.match((await call('/metrics')).body, /^rackhand_store_available 1$/m);
  }
  assert.equal(daemon!.exitCode, null, 'the daemon is the same process');
  const log = d.log();
  assert.equal(log.match(/the store is unavailable/g)?.length, 2, log.slice(-3000));
  assert.equal(log.match(/the store is available again after \d+\.\d s/g)?.length, 2);
  assert.doesNotMatch(log, /request failed|timeout sweep failed/);
  assert.ok(!log.includes(cluster.password));
  daemon!.kill('SIGTERM');
  await new Promise((r) => daemon!.once('exit', r));
  assert.equal(daemon!.exitCode, 0);
});
