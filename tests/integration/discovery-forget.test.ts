// Forgetting discovered machines: the DHCP lease table lets go of the MAC; the API is an admin's
// only; `rackhand forget` and `forget --pending`. What the store does (retires the row with its
// history, cancels its running operation, deletes its lease, refuses inventory machines and those
// holding a tenant's data, discovers the MAC afresh later) is its contract, in
// tests/lib/store-conformance/forgetting.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { act } from '../../daemon/core/actions.js';
import { LeaseTable } from '../../daemon/dhcp/leases.js';
import { parseRange } from '../../daemon/core/net.js';
import type { Store } from '../../daemon/core/store/types.js';
import { REPO, startTestDaemon } from '../lib/daemon.js';
import { call } from '../lib/allocation.js';
import { discoveredSpec } from '../../daemon/core/names.js';

const run = promisify(execFile);
const nameOf = (mac: string) => `discovered-${mac.replace(/:/g, '')}`;
const lease = (mac: string, ip: string) => ({ mac, ip, state: 'bound' as const, expiresAt: Date.now() + 3_600_000, hostname: null, machine: nameOf(mac), updatedAt: Date.now() });

async function fakeInspect(store: Store, name: string): Promise<void> {
  await act(store, { machine: name, event: 'inspect', actor: 'system' });
  await store.setFacts(name, { cpus: 64, memory_mib: 262144, arch: 'x86_64', disks: [{ name: 'sda', size_bytes: 2e12 }], nics: [] });
  await act(store, { machine: name, event: 'inspected', actor: 'agent' });
}

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
