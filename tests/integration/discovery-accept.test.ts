// Discovered machines are not allocatable until an operator accepts them: the persisted flag
// (migration 4; machines discovered before it must be accepted too), the picker that skips them
// and says so, the accept route (operators only) and `rackhand accept`. The store's side (pending
// until accepted, once, with one event) is in tests/lib/store-conformance/machines.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { MIGRATIONS } from '../../daemon/core/store/sqlite/migrations.js';
import { act } from '../../daemon/core/actions.js';
import type { Store } from '../../daemon/core/store/types.js';
import { REPO, startTestDaemon } from '../lib/daemon.js';
import { call } from '../lib/allocation.js';
import { discoveredSpec } from '../../daemon/core/names.js';
import { tempDir } from '../lib/tmp.js';

const run = promisify(execFile);

test('migration 4: inventory machines are accepted, machines discovered before it are not', async () => {
  const file = join(tempDir('store'), 'rackhand.db');
  const db = new Database(file);
  for (const m of MIGRATIONS.filter((x) => x.version < 4)) { db.exec(m.sql); db.pragma(`user_version = ${m.version}`); }
  const t = new Date().toISOString();
  const insert = db.prepare(`INSERT INTO machines (name, mac, hostname, state, source, state_changed_at, created_at, updated_at) VALUES (?, ?, ?, 'ready', ?, ?, ?, ?)`);
  insert.run('node-01', '52:54:00:00:01:01', 'node-01', 'inventory', t, t, t);
  insert.run('discovered-525400000999', '52:54:00:00:09:99', 'x', 'discovered', t, t, t);
  db.close();
  const store = await openSqliteStore(file);
  assert.equal((await store.getMachine('node-01'))?.accepted, true);
  assert.equal((await store.getMachine('discovered-525400000999'))?.accepted, false);
  assert.equal(await store.countPendingDiscovered(), 1);
  await store.close();
});

/** Inspected as the agent would report it: ready, with facts. */
async function fakeInspect(store: Store, name: string): Promise<void> {
  await act(store, { machine: name, event: 'inspect', actor: 'system' });
  await store.setFacts(name, { cpus: 64, memory_mib: 262144, arch: 'x86_64', disks: [{ name: 'sda', size_bytes: 2e12 }], nics: [] });
  await act(store, { machine: name, event: 'inspected', actor: 'agent' });
}

test('API and CLI: a ready discovered machine is never allocated until an operator accepts it', async () => {
  const d = await startTestDaemon();
  try {
    const store = d.daemon.store;
    const rogue = await store.enrolDiscovered(discoveredSpec('52:54:00:bb:00:01'));
    await fakeInspect(store, rogue.name);
    const admin = (method: string, path: string, body?: unknown) => call(d.url, d.tokens.admin, method, path, body);
    const shown = await admin('GET', `/api/v1/machines/${rogue.name}`);
    assert.equal(shown.body.machine.accepted, false);
    assert.equal((await admin('GET', '/api/v1/machines')).body.machines.find((m: { name: string }) => m.name === 'node-01').accepted, true);

    // Only the discovered machine is big enough: the refusal says an operator is what is missing.
    const want = { owner: 'acme', profile: 'lab-image', constraints: { cpus: 64 } };
    const refused = await admin('POST', '/api/v1/allocations', want);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.error.message, new RegExp(`${rogue.name}\\) would fit but awaits an operator's acceptance \\(rackhand accept MACHINE\\)`));
    assert.equal(refused.body.error.unaccepted, 1, JSON.stringify(refused.body));
    // Nor through the operator's allocate action.
    const direct = await admin('POST', `/api/v1/machines/${rogue.name}/actions/allocate`, { owner: 'acme' });
    assert.equal(direct.status, 409);
    assert.match(direct.body.error.message, /no operator has accepted it/);

    // Read-only and tenant tokens may not accept.
    assert.equal((await call(d.url, d.tokens.readonly, 'POST', `/api/v1/machines/${rogue.name}/accept`)).status, 403);
    const tenant = (await admin('POST', '/api/v1/tokens', { owner: 'acme' })).body.secret as string;
    const byTenant = await call(d.url, tenant, 'POST', `/api/v1/machines/${rogue.name}/accept`);
    assert.ok([403, 404].includes(byTenant.status), `tenant: ${byTenant.status}`);
    assert.equal((await store.getMachine(rogue.name))?.accepted, false);

    const cli = await run(process.execPath, ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'accept', rogue.name], {
      env: { ...process.env, RACKHAND_URL: d.url, RACKHAND_TOKEN: d.tokens.admin }, cwd: REPO,
    });
    assert.equal(cli.stdout, `${rogue.name}: accepted; allocations may pick it\n`);
    const show = await run(process.execPath, ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'show', rogue.name], {
      env: { ...process.env, RACKHAND_URL: d.url, RACKHAND_TOKEN: d.tokens.admin }, cwd: REPO,
    });
    assert.match(show.stdout, /^accepted:\s+yes$/m);
    const granted = await admin('POST', '/api/v1/allocations', want);
    assert.equal(granted.status, 201, JSON.stringify(granted.body));
    assert.deepEqual(granted.body.allocation.machines.map((m: { name: string } | string) => (typeof m === 'string' ? m : m.name)), [rogue.name]);
  } finally {
    await d.close();
  }
});
