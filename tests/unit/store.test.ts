import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { LATEST_VERSION } from '../../daemon/core/store/sqlite/migrations.js';
import { applyEvent } from '../../daemon/core/lifecycle.js';
import { tempDir } from '../lib/tmp.js';
import { spec } from '../lib/machines.js';
import { withOperationPlan } from '../../daemon/core/operation-plan.js';

test('migrations build the schema from an empty file, and a second open changes nothing', async () => {
  const file = join(tempDir('store'), 'rackhand.db');
  const store = await openSqliteStore(file);
  assert.equal(await store.migrate(), LATEST_VERSION);
  await store.close();
  const again = await openSqliteStore(file);
  assert.equal(await again.migrate(), LATEST_VERSION);
  const db = new Database(file, { readonly: true });
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => (r as { name: string }).name);
  for (const t of ['events', 'leases', 'machines', 'operations']) assert.ok(tables.includes(t), `table ${t}`);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
  await again.close();
});

test('inventory sync enrols, updates with a diff, retires and restores, keeping history', async () => {
  const store = await openSqliteStore(join(tempDir('store'), 'rackhand.db'));
  let changes = await store.syncInventory([spec(1), spec(2)], 'test');
  assert.deepEqual(changes.map((c) => `${c.name}:${c.change}`), ['node-01:enrolled', 'node-02:enrolled']);
  assert.deepEqual(await store.syncInventory([spec(1), spec(2)], 'test'), [], 'an unchanged file changes nothing');

  changes = await store.syncInventory([spec(1, { ip: '10.20.0.50' })], 'test');
  assert.deepEqual(changes.map((c) => `${c.name}:${c.change}`), ['node-02:retired', 'node-01:updated']);
  assert.deepEqual(changes[1]!.fields, { ip: { from: '10.20.0.11', to: '10.20.0.50' } });
  assert.equal((await store.listMachines()).length, 1);
  const retired = await store.getMachine('node-02');
  assert.ok(retired?.retiredAt, 'a retired machine stays in the store');
  assert.equal(await store.machineByMac(spec(2).mac), undefined, 'a retired machine is not served');

  changes = await store.syncInventory([spec(1, { ip: '10.20.0.50' }), spec(2)], 'test');
  assert.deepEqual(changes.map((c) => `${c.name}:${c.change}`), ['node-02:restored']);
  const events = await store.listEvents({ machine: 'node-02' });
  assert.deepEqual(events.map((e) => e.event), ['enrol', 'retired', 'restored']);
  await store.close();
});

test('a MAC held by a discovered machine passes to the inventory machine that claims it', async () => {
  const store = await openSqliteStore(join(tempDir('store'), 'rackhand.db'));
  await store.enrolDiscovered(spec(9, { name: 'discovered-525400000109', profile: null }));
  await store.syncInventory([spec(9)], 'test');
  assert.equal((await store.machineByMac(spec(9).mac))?.name, 'node-09');
  await store.close();
});

test('a transition is a compare-and-set with its event row', async () => {
  const store = await openSqliteStore(join(tempDir('store'), 'rackhand.db'));
  await store.syncInventory([spec(1)], 'test');
  const m = (await store.getMachine('node-01'))!;
  const outcome = applyEvent(m, 'inspect');
  const first = await store.transition(withOperationPlan({ machine: 'node-01', outcome, cause: 'test', actor: 'operator' }));
  assert.ok(first.ok);
  assert.equal(first.machine.state, 'inspecting');
  assert.equal(first.event.from, 'enrolled');
  assert.equal(first.event.to, 'inspecting');
  const stale = await store.transition(withOperationPlan({ machine: 'node-01', outcome, cause: 'test', actor: 'operator' }));
  assert.equal(stale.ok, false, 'the same outcome applied twice loses the second time');
  if (!stale.ok) assert.equal(stale.current?.state, 'inspecting');
  const transitions = (await store.listEvents({ machine: 'node-01' })).filter((e) => e.kind === 'transition');
  assert.equal(transitions.length, 2, 'enrol + one inspect, not two');
  await store.close();
});

test('leases: upsert by MAC, one holder per address, batch writes', async () => {
  const store = await openSqliteStore(join(tempDir('store'), 'rackhand.db'));
  const base = { state: 'bound' as const, expiresAt: Date.now() + 3600_000, hostname: null, machine: null, updatedAt: Date.now() };
  await store.putLease({ ...base, mac: 'aa:aa:aa:aa:aa:01', ip: '10.20.0.100' });
  await store.putLease({ ...base, mac: 'aa:aa:aa:aa:aa:01', ip: '10.20.0.101' });
  assert.equal((await store.getLease('aa:aa:aa:aa:aa:01'))?.ip, '10.20.0.101');
  await store.putLeases([{ ...base, mac: 'aa:aa:aa:aa:aa:02', ip: '10.20.0.102' }, { ...base, mac: 'aa:aa:aa:aa:aa:03', ip: '10.20.0.103' }]);
  assert.equal((await store.listLeases()).length, 3);
  assert.equal((await store.leaseByIp('10.20.0.103'))?.mac, 'aa:aa:aa:aa:aa:03');
  await store.deleteLease('aa:aa:aa:aa:aa:03');
  assert.equal(await store.leaseByIp('10.20.0.103'), undefined);
  await store.close();
});

test('four processes racing the same compare-and-set: exactly one wins, every round', async () => {
  const file = join(tempDir('race'), 'rackhand.db');
  const store = await openSqliteStore(file);
  await store.syncInventory([spec(1)], 'test');
  const step = async (event: 'inspect' | 'inspected' | 'release') => {
    const m = (await store.getMachine('node-01'))!;
    assert.ok((await store.transition(withOperationPlan({ machine: 'node-01', outcome: applyEvent(m, event), cause: 'setup', actor: 'test' }))).ok);
  };
  await step('inspect');
  await step('inspected');
  const worker = fileURLToPath(new URL('../lib/cas-worker.ts', import.meta.url));
  for (let round = 0; round < 3; round++) {
    const go = Date.now() + 2500;
    const results = await Promise.all([1, 2, 3, 4].map((n) => new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', worker, file, String(go), `racer-${n}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`worker exit ${code}`))));
    })));
    assert.deepEqual(results.filter((r) => r === 'won').length, 1, `round ${round}: ${results.join(',')}`);
    const m = (await store.getMachine('node-01'))!;
    assert.equal(m.state, 'allocated');
    const winners = (await store.listEvents({ machine: 'node-01' })).filter((e) => e.event === 'allocate');
    assert.equal(winners.length, round + 1, 'one allocate event per round');
    assert.equal(m.owner, winners.at(-1)!.actor, 'the owner is the racer whose event was recorded');
    await step('release');
  }
  await store.close();
});

test('operations follow the state: a fresh token per transitional state, ended when it is left', async () => {
  const store = await openSqliteStore(join(tempDir('store'), 'rackhand.db'));
  await store.syncInventory([spec(1)], 'test');
  const move = async (event: Parameters<typeof applyEvent>[1], args = {}) => {
    const m = (await store.getMachine('node-01'))!;
    const r = await store.transition(withOperationPlan({ machine: 'node-01', outcome: applyEvent(m, event, args), cause: 'test', actor: 'test' }));
    assert.ok(r.ok);
    return r;
  };
  const inspect = (await move('inspect')).operation!;
  assert.equal(inspect.kind, 'inspect');
  assert.equal(inspect.state, 'running');
  assert.ok(inspect.token.length >= 32);
  assert.equal((await store.activeOperation('node-01'))?.id, inspect.id);
  assert.equal((await move('error', { reason: 'no disks' })).operation, undefined);
  const failed = (await store.operationByToken(inspect.token))!;
  assert.deepEqual([failed.state, failed.error], ['failed', 'no disks']);
  const retry = (await move('retry')).operation!;
  assert.notEqual(retry.token, inspect.token, 'a retry gets a new token: the old one is stale');
  await move('inspected');
  assert.equal((await store.getOperation(retry.id))?.state, 'succeeded');
  assert.equal(await store.activeOperation('node-01'), undefined);
  const deploy = (await move('deploy')).operation!;
  assert.equal(deploy.kind, 'deploy');
  await move('maintenance_on');
  assert.equal((await store.getOperation(deploy.id))?.state, 'cancelled');
  await store.close();
});
