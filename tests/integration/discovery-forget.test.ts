// Forgetting discovered machines: the store retires the row with its history, cancels its running
// operation, deletes its lease and stops counting it as pending; the same MAC is discovered afresh
// later (no primary-key clash with the retired row). Inventory machines and machines that hold a
// tenant's data are refused; the API is an admin's only; `rackhand forget` and `forget --pending`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { act } from '../../daemon/core/actions.js';
import { LeaseTable } from '../../daemon/dhcp/leases.js';
import { parseRange } from '../../daemon/core/net.js';
import type { Store } from '../../daemon/core/store/types.js';
import { REPO, startTestDaemon } from '../lib/daemon.js';
import { call } from '../lib/allocation.js';
import { tempDir } from '../lib/tmp.js';
import { spec } from '../lib/machines.js';

const run = promisify(execFile);
const nameOf = (mac: string) => `discovered-${mac.replace(/:/g, '')}`;
const discoveredSpec = (mac: string) => ({
  name: nameOf(mac), mac, ip: null, hostname: nameOf(mac), profile: null, tags: ['discovered'], power: { driver: 'manual' },
});
const lease = (mac: string, ip: string) => ({ mac, ip, state: 'bound' as const, expiresAt: Date.now() + 3_600_000, hostname: null, machine: nameOf(mac), updatedAt: Date.now() });

async function fakeInspect(store: Store, name: string): Promise<void> {
  await act(store, { machine: name, event: 'inspect', actor: 'system' });
  await store.setFacts(name, { cpus: 64, memory_mib: 262144, arch: 'x86_64', disks: [{ name: 'sda', size_bytes: 2e12 }], nics: [] });
  await act(store, { machine: name, event: 'inspected', actor: 'agent' });
}

test('store: forgetting retires the row, cancels its operation, frees its lease, and the MAC is discovered afresh', async () => {
  const store = await openSqliteStore(join(tempDir('store'), 'rackhand.db'));
  const mac = '52:54:00:f0:00:01';
  const d = await store.enrolDiscovered(discoveredSpec(mac));
  const inspecting = await act(store, { machine: d.name, event: 'inspect', actor: 'system' });
  const op = inspecting.operation!;
  await store.setFacts(d.name, { cpus: 2 });
  await store.putLease(lease(mac, '10.20.0.150'));
  assert.equal(await store.countPendingDiscovered(), 1);

  const r = await store.forgetDiscovered(d.name, 'operator:admin', 'junk from a flood');
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.freedLease, '10.20.0.150');
  assert.equal(r.cancelledOperation, op.id);
  assert.ok(r.machine.retiredAt);
  assert.equal(r.machine.previousState, 'inspecting');
  assert.equal((await store.getOperation(op.id))?.state, 'cancelled', 'its token dies with the operation');
  assert.equal(await store.getLease(mac), undefined);
  assert.equal(await store.machineByMac(mac), undefined, 'no longer served');
  assert.equal(await store.countPendingDiscovered(), 0, 'no longer counts toward max_pending');
  const forgotten = (await store.listEvents({ machine: d.name })).filter((e) => e.event === 'forgotten');
  assert.equal(forgotten.length, 1, 'one event');
  assert.equal(forgotten[0]!.actor, 'operator:admin');
  assert.equal(forgotten[0]!.cause, 'junk from a flood');
  assert.deepEqual(forgotten[0]!.data, { mac, state: 'inspecting', accepted: false, freed_lease: '10.20.0.150', cancelled_operation: op.id });
  assert.equal((await store.forgetDiscovered(d.name, 'operator:admin', 'again')).ok, false, 'a forgotten machine is not found twice');

  // The same MAC PXE-boots again: the retired row of the same name comes back, with nothing of its past but the history.
  const again = await store.enrolDiscovered(discoveredSpec(mac));
  assert.equal(again.name, d.name);
  assert.equal(again.retiredAt, null);
  assert.equal(again.state, 'enrolled');
  assert.equal(again.accepted, false);
  assert.equal(again.facts, null);
  assert.equal(again.previousState, null);
  assert.equal(await store.countPendingDiscovered(), 1);
  assert.equal((await store.machineByMac(mac))?.name, d.name);
  const history = (await store.listEvents({ machine: d.name })).map((e) => e.event);
  assert.deepEqual(history, ['enrol', 'inspect', 'forgotten', 'enrol'], 'the history stays');
  // And it can be inspected again with a fresh operation.
  const second = await act(store, { machine: d.name, event: 'inspect', actor: 'system' });
  assert.notEqual(second.operation!.id, op.id);
  await store.close();
});

test('store: inventory machines and machines holding a tenant\'s data are not forgotten', async () => {
  const store = await openSqliteStore(join(tempDir('store'), 'rackhand.db'));
  await store.syncInventory([spec(1)], 'test');
  const inv = await store.forgetDiscovered('node-01', 'operator:admin', 'x');
  assert.equal(inv.ok, false);
  assert.equal(!inv.ok && inv.reason, 'inventory');
  assert.match(!inv.ok ? inv.detail : '', /node-01 is an inventory machine/);
  const nobody = await store.forgetDiscovered('nobody', 'operator:admin', 'x');
  assert.equal(!nobody.ok && nobody.reason, 'not_found');

  const d = await store.enrolDiscovered(discoveredSpec('52:54:00:f0:00:02'));
  await fakeInspect(store, d.name);
  await store.acceptMachine(d.name, 'operator:admin');
  await act(store, { machine: d.name, event: 'allocate', actor: 'operator:admin', owner: 'acme' });
  const owned = await store.forgetDiscovered(d.name, 'operator:admin', 'x');
  assert.equal(!owned.ok && owned.reason, 'in_use');
  assert.match(!owned.ok ? owned.detail : '', /allocated for acme: release it/);
  // Deployed, released, and its erase failed: the previous tenant's data may still be on the disks.
  await act(store, { machine: d.name, event: 'deploy', actor: 'operator:admin', deployProfile: 'lab-image' });
  assert.equal((await store.forgetDiscovered(d.name, 'operator:admin', 'x')).ok, false, 'deploying');
  await act(store, { machine: d.name, event: 'deployed', actor: 'agent' });
  await act(store, { machine: d.name, event: 'release', actor: 'operator:admin' });
  assert.equal((await store.getMachine(d.name))?.state, 'releasing');
  assert.equal((await store.forgetDiscovered(d.name, 'operator:admin', 'x')).ok, false, 'releasing');
  await act(store, { machine: d.name, event: 'fail', actor: 'operator:admin', reason: 'erase verification failed' });
  const m = await store.getMachine(d.name);
  assert.equal(m?.state, 'failed');
  const failed = await store.forgetDiscovered(d.name, 'operator:admin', 'x');
  assert.equal(!failed.ok && failed.reason, 'in_use');
  assert.match(!failed.ok ? failed.detail : '', /failed from releasing/);
  assert.equal((await store.getMachine(d.name))?.retiredAt, null);
  assert.equal((await store.listEvents({ machine: d.name })).filter((e) => e.event === 'forgotten').length, 0);
  await store.close();
});

test('store: forgetting the pending ones forgets each unaccepted discovered machine, one event each, and nothing else', async () => {
  const store = await openSqliteStore(join(tempDir('store'), 'rackhand.db'));
  await store.syncInventory([spec(1)], 'test');
  const junk = ['52:54:00:f0:01:01', '52:54:00:f0:01:02', '52:54:00:f0:01:03'];
  for (const mac of junk) await store.enrolDiscovered(discoveredSpec(mac));
  const kept = await store.enrolDiscovered(discoveredSpec('52:54:00:f0:01:99'));
  await store.acceptMachine(kept.name, 'operator:admin');
  assert.equal(await store.countPendingDiscovered(), 3);
  const done = await store.forgetPendingDiscovered('operator:admin', 'flood');
  assert.deepEqual(done.map((f) => f.machine.mac), junk);
  assert.equal(await store.countPendingDiscovered(), 0);
  assert.equal((await store.getMachine(kept.name))?.retiredAt, null, 'an accepted machine stays');
  assert.equal((await store.getMachine('node-01'))?.retiredAt, null);
  const events = (await store.listEvents({ limit: 1000 })).filter((e) => e.event === 'forgotten');
  assert.deepEqual(events.map((e) => e.machine), junk.map(nameOf));
  assert.deepEqual(await store.forgetPendingDiscovered('operator:admin', 'flood'), [], 'nothing left');
  await store.close();
});

test('DHCP lease table: a forgotten MAC\'s address and offer go back to the pool and stop counting as an outsider', () => {
  const t = new LeaseTable();
  const pool = parseRange('10.20.0.100-10.20.0.100')!;
  const now = Date.now();
  const junk = '52:54:00:f0:02:01';
  t.set(lease(junk, '10.20.0.100'));
  t.setOutsider(junk, true);
  assert.equal(t.outsidersIn(pool, now), 1);
  assert.equal(t.allocate('52:54:00:f0:02:02', 'p', pool, undefined, new Set(), now), undefined, 'the one address is held');
  t.forget(junk);
  assert.equal(t.get(junk), undefined);
  assert.equal(t.outsidersIn(pool, now), 0);
  assert.equal(t.allocate('52:54:00:f0:02:02', 'p', pool, undefined, new Set(), now), '10.20.0.100');
  t.hold(junk, '10.20.0.100', now + 10_000);
  t.forget(junk);
  assert.equal(t.offerOf(junk, now), undefined, 'an offer is dropped too');
});

test('API and CLI: only an admin forgets, only discovered machines, one at a time or every pending one', async () => {
  const d = await startTestDaemon();
  const cli = (args: string[]) => run(process.execPath, ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), ...args], {
    env: { ...process.env, RACKHAND_URL: d.url, RACKHAND_TOKEN: d.tokens.admin }, cwd: REPO,
  });
  try {
    const store = d.daemon.store;
    const admin = (method: string, path: string, body?: unknown) => call(d.url, d.tokens.admin, method, path, body);
    const one = await store.enrolDiscovered(discoveredSpec('52:54:00:f0:03:01'));
    const junk = ['52:54:00:f0:03:02', '52:54:00:f0:03:03'];
    for (const mac of junk) await store.enrolDiscovered(discoveredSpec(mac));
    const owned = await store.enrolDiscovered(discoveredSpec('52:54:00:f0:03:09'));
    await fakeInspect(store, owned.name);
    await store.acceptMachine(owned.name, 'operator:admin');
    await act(store, { machine: owned.name, event: 'allocate', actor: 'operator:admin', owner: 'acme' });

    // Read-only and tenant tokens are refused, even for the tenant's own machine.
    assert.equal((await call(d.url, d.tokens.readonly, 'POST', `/api/v1/machines/${one.name}/forget`)).status, 403);
    assert.equal((await call(d.url, d.tokens.readonly, 'POST', '/api/v1/machines/forget', { pending: true })).status, 403);
    const tenant = (await admin('POST', '/api/v1/tokens', { owner: 'acme' })).body.secret as string;
    assert.equal((await call(d.url, tenant, 'POST', `/api/v1/machines/${one.name}/forget`)).status, 404, 'another\'s machine does not exist for a tenant');
    const own = await call(d.url, tenant, 'POST', `/api/v1/machines/${owned.name}/forget`);
    assert.equal(own.status, 403, JSON.stringify(own.body));
    assert.equal((await call(d.url, tenant, 'POST', '/api/v1/machines/forget', { pending: true })).status, 403);
    assert.equal(await store.countPendingDiscovered(), 3);

    // An admin: inventory machines and allocated ones are refused with the reason; bad bodies name the field.
    const inv = await admin('POST', '/api/v1/machines/node-01/forget');
    assert.equal(inv.status, 409);
    assert.match(inv.body.error.message, /node-01 is an inventory machine: only discovered machines are forgotten/);
    const busy = await admin('POST', `/api/v1/machines/${owned.name}/forget`);
    assert.equal(busy.status, 409);
    assert.match(busy.body.error.message, /allocated for acme/);
    assert.equal((await admin('POST', '/api/v1/machines/nobody/forget')).status, 404);
    const empty = await admin('POST', '/api/v1/machines/forget', {});
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error.field, 'body.pending');
    assert.equal((await admin('POST', '/api/v1/machines/forget', { pending: false })).status, 400);
    assert.equal((await admin('POST', `/api/v1/machines/${one.name}/forget`, { colour: 'red' })).body.error.field, 'body.colour');

    const out = await cli(['forget', one.name]);
    assert.equal(out.stdout, `${one.name} (${one.mac}, was enrolled): forgotten\n`);
    const shown = await admin('GET', `/api/v1/machines/${one.name}`);
    assert.equal(shown.body.machine.retired, true, 'still shown, as retired, with its history');
    assert.equal((await admin('GET', `/api/v1/events?machine=${one.name}`)).body.events.filter((e: { event: string }) => e.event === 'forgotten').length, 1);

    const bulk = await cli(['forget', '--pending', '--reason', 'spoofed MAC flood']);
    assert.equal(bulk.stdout, junk.map((mac) => `${nameOf(mac)} (${mac}, was enrolled): forgotten\n`).join('') + '2 discovered machines awaiting acceptance forgotten\n');
    assert.equal(await store.countPendingDiscovered(), 0);
    const ev = (await store.listEvents({ machine: nameOf(junk[0]!) })).find((e) => e.event === 'forgotten');
    assert.equal(ev?.cause, 'spoofed MAC flood');
    assert.equal(ev?.actor, 'operator:admin');
    assert.equal((await store.getMachine(owned.name))?.retiredAt, null, 'the allocated machine stays');

    for (const args of [['forget'], ['forget', one.name, '--pending'], ['forget', 'a', 'b']]) {
      await assert.rejects(cli(args), (err: { code: number; stderr: string }) => err.code === 2 && /usage: rackhand forget MACHINE \| forget --pending/.test(err.stderr), args.join(' '));
    }
    const refused = await cli(['forget', 'node-01']).catch((err: { code: number; stderr: string }) => err);
    assert.equal((refused as { code: number }).code, 1);
    assert.match((refused as { stderr: string }).stderr, /node-01 is an inventory machine/);
  } finally {
    await d.close();
  }
});
