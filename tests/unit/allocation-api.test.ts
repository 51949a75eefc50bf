import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type TestDaemon } from '../lib/daemon.js';
import { call, erased, phoneHome, startReadyRack, type RackMachine } from '../lib/allocation.js';

// Five machines that fit {cpus 8, memory 32}, two that do not (too small), one big GPU machine.
const RACK: RackMachine[] = [
  ...[1, 2, 3, 4, 5].map((i) => ({ name: `fit-0${i}`, cpus: 8, memoryGib: 32, diskGib: 100 })),
  { name: 'tiny-01', cpus: 2, memoryGib: 4, diskGib: 20 },
  { name: 'tiny-02', cpus: 2, memoryGib: 8, diskGib: 20 },
  { name: 'gpu-01', cpus: 64, memoryGib: 512, diskGib: 2000, tags: ['gpu'] },
];

let d: TestDaemon;
before(async () => { d = await startReadyRack(RACK); });
after(async () => { await d.close(); });

const api = (method: string, path: string, body?: unknown) => call(d.url, d.tokens.admin, method, path, body);

test('20 concurrent requests for 5 fitting machines: exactly 5 succeed, 15 get 409, no machine twice', async () => {
  const want = { profile: 'lab-image', constraints: { cpus: 8, memory_gib: 32, arch: 'x86_64' } };
  // gpu-01 fits too (bigger): take it first, so the race is for exactly five machines.
  const held = await api('POST', '/api/v1/allocations', { owner: 'hold', profile: 'lab-image', constraints: { tags: ['gpu'] } });
  assert.equal(held.status, 201, JSON.stringify(held.body));
  // Widen the window between reading the ready machines and taking them, so the requests really
  // overlap (in one process they could otherwise run one after another), and count lost races.
  const store = d.daemon.store;
  const list = store.listMachines.bind(store);
  const allocate = store.allocate.bind(store);
  let lostRaces = 0;
  store.listMachines = async (o) => { const r = await list(o); await new Promise((res) => setTimeout(res, 5)); return r; };
  store.allocate = async (req) => { const r = await allocate(req); if (!r.ok) lostRaces++; return r; };
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => api('POST', '/api/v1/allocations', { ...want, owner: `t${i}` })))
    .finally(() => { store.listMachines = list; store.allocate = allocate; });
  assert.ok(lostRaces > 0, 'requests raced for the same machine and the compare-and-set refused the losers');
  const won = results.filter((r) => r.status === 201);
  const lost = results.filter((r) => r.status !== 201);
  assert.equal(won.length, 5);
  assert.equal(lost.length, 15);
  for (const r of lost) {
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'NO_FIT');
  }
  const names = won.map((r) => r.body.allocation.machines[0].name).sort();
  assert.deepEqual(names, ['fit-01', 'fit-02', 'fit-03', 'fit-04', 'fit-05']);
  // In the store: each fitting machine has exactly one allocate event and the owner that won it.
  const events = await d.daemon.store.listEvents({ limit: 10000 });
  for (const name of names) {
    const allocs = events.filter((e) => e.machine === name && e.event === 'allocate');
    assert.equal(allocs.length, 1, `${name} allocated once`);
    const m = (await d.daemon.store.getMachine(name))!;
    const winner = won.find((r) => r.body.allocation.machines[0].name === name)!;
    assert.equal(m.owner, winner.body.allocation.owner);
    assert.equal(m.state, 'deploying');
  }
  assert.equal((await d.daemon.store.listAllocations({ state: 'active' })).length, 6);
});

test('allocation shape; events say who; nothing fits → 409 naming the constraint; release erases and returns', async () => {
  // The race left everything fitting taken; free fit-01 by releasing its allocation.
  const list = (await api('GET', '/api/v1/allocations')).body.allocations as any[];
  const a = list.find((x) => x.machines[0].name === 'fit-01');
  assert.deepEqual(Object.keys(a).sort(), ['actor', 'constraints', 'count', 'created_at', 'id', 'machines', 'owner', 'profile', 'record_state', 'released_at', 'state']);
  assert.equal(a.state, 'deploying');
  assert.deepEqual(a.machines[0], { name: 'fit-01', hostname: 'fit-01', ip: '10.20.0.20', state: 'deploying', last_error: null });

  // Let go mid-deploy (fit-02) or after a failure (fit-03): erased like a deployed machine, for
  // the deploy may have written the tenant's data. A machine an operator took into maintenance
  // (fit-04) is not the tenant's to move.
  const of = (name: string) => list.find((x) => x.machines[0].name === name).id as string;
  const midDeploy = await api('DELETE', `/api/v1/allocations/${of('fit-02')}`);
  assert.equal(midDeploy.status, 200, JSON.stringify(midDeploy.body));
  assert.equal(midDeploy.body.allocation.machines[0].state, 'releasing');
  const ops = (await api('GET', '/api/v1/machines/fit-02/operations')).body.operations as { kind: string; state: string }[];
  assert.deepEqual(ops.slice(0, 2).map((o) => `${o.kind}:${o.state}`), ['erase:running', 'deploy:cancelled'], 'the deploy stops, the erase starts');
  assert.equal((await api('POST', '/api/v1/machines/fit-03/actions/fail', { reason: 'image checksum mismatch' })).status, 200);
  const afterFailure = await api('DELETE', `/api/v1/allocations/${of('fit-03')}`);
  assert.equal(afterFailure.status, 200, JSON.stringify(afterFailure.body));
  assert.equal(afterFailure.body.allocation.machines[0].state, 'releasing');
  assert.equal((await api('POST', '/api/v1/machines/fit-04/actions/maintenance_on', {})).status, 200);
  const held = await api('DELETE', `/api/v1/allocations/${of('fit-04')}`);
  assert.equal(held.status, 409);
  assert.match(held.body.error.message, /fit-04 is maintenance; an operator holds it/);
  // Its deploy was cancelled by maintenance: it comes back failed, and then the tenant may let go.
  assert.equal((await api('POST', '/api/v1/machines/fit-04/actions/maintenance_off', {})).body.machine.state, 'failed');

  await phoneHome(d.daemon.store, 'fit-01');
  assert.equal((await api('GET', `/api/v1/allocations/${a.id}`)).body.allocation.state, 'deployed');
  const rel = await api('DELETE', `/api/v1/allocations/${a.id}`);
  assert.equal(rel.status, 200, JSON.stringify(rel.body));
  assert.equal(rel.body.allocation.state, 'releasing');
  assert.equal(rel.body.allocation.machines[0].state, 'releasing');
  assert.equal((await api('DELETE', `/api/v1/allocations/${a.id}`)).status, 409, 'released once');
  await erased(d.daemon.store, 'fit-01');
  const after = (await api('GET', `/api/v1/allocations/${a.id}`)).body.allocation;
  assert.equal(after.state, 'released');
  assert.ok(after.released_at);
  const m = (await api('GET', '/api/v1/machines/fit-01')).body.machine;
  assert.deepEqual([m.state, m.owner], ['ready', null]);
  const evs = (await api('GET', '/api/v1/events?machine=fit-01')).body.events as any[];
  const allocate = evs.find((e) => e.event === 'allocate');
  const release = evs.find((e) => e.event === 'release');
  assert.equal(allocate.actor, 'operator:admin');
  assert.equal(allocate.data.allocation, a.id);
  assert.equal(allocate.data.owner, a.owner);
  assert.equal(release.actor, 'operator:admin');
  assert.equal(release.data.allocation, a.id);

  // fit-01 is back; two at once cannot be had (all or nothing), and nothing is taken trying.
  const two = await api('POST', '/api/v1/allocations', { owner: 'x', profile: 'lab-image', constraints: { cpus: 8 }, count: 2 });
  assert.equal(two.status, 409);
  assert.equal(two.body.error.unmet.constraint, 'count');
  assert.equal((await d.daemon.store.getMachine('fit-01'))!.state, 'ready');
  const big = await api('POST', '/api/v1/allocations', { owner: 'x', profile: 'lab-image', constraints: { memory_gib: 64 } });
  assert.equal(big.status, 409);
  assert.equal(big.body.error.code, 'NO_FIT');
  assert.deepEqual(big.body.error.unmet, { constraint: 'memory_gib', wanted: 'memory_gib >= 64', best: '32' });
  assert.equal(big.body.error.closest, 1);
  assert.match(big.body.error.message, /^no ready machine meets memory_gib >= 64 \(the most any has: 32\); 1 machine came closest/);
  const one = await api('POST', '/api/v1/allocations', { owner: 'x', profile: 'lab-image', constraints: { cpus: 2 } });
  assert.equal(one.body.allocation.machines[0].name, 'tiny-01', 'the smallest that fits');
});

test('bad allocation bodies → 400 naming the field', async () => {
  const cases: [unknown, string][] = [
    [{ profile: 'lab-image' }, 'body.owner'],
    [{ owner: 'x', profile: 'nope' }, 'body.profile'],
    [{ owner: 'x', profile: 'lab-image', count: 0 }, 'body.count'],
    [{ owner: 'x', profile: 'lab-image', constraints: { cpus: 'many' } }, 'body.constraints.cpus'],
    // An unknown nested key is named with its parent.
    [{ owner: 'x', profile: 'lab-image', constraints: { ram: 4 } }, 'body.constraints.ram'],
    [{ owner: 'bad owner', profile: 'lab-image' }, 'body.owner'],
  ];
  for (const [body, field] of cases) {
    const r = await api('POST', '/api/v1/allocations', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error.field, field);
  }
  assert.equal((await api('GET', '/api/v1/allocations/alloc-nope')).status, 404);
  assert.equal((await call(d.url, d.tokens.readonly, 'POST', '/api/v1/allocations', { owner: 'x', profile: 'lab-image' })).status, 403);
});
