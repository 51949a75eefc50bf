import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createOrchestrator, type Orchestrator } from '../../daemon/orchestrate.js';
import type { Store } from '../../daemon/core/store/types.js';
import { ManagedPower } from '../../daemon/power/managed.js';
import { KeyedQueue } from '../../daemon/power/queue.js';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { act } from '../../daemon/core/actions.js';
import { createTransitions } from '../../daemon/core/transitions.js';
import { silentLogger } from '../../daemon/log.js';
import { FakeDriver } from '../fixtures/power/fake-driver.js';
import { tempDir } from '../lib/tmp.js';
import { spec } from '../lib/machines.js';

async function setup(driver: FakeDriver) {
  const store = await openSqliteStore(join(tempDir('orch'), 'rackhand.db'));
  await store.syncInventory([spec(1, { power: { driver: 'ipmi', boot_mode: 'UEFI' } })], 'test');
  const power = new ManagedPower(driver, { machine: 'node-01', queue: new KeyedQueue(), poll: { interval: 1, timeout: 1000 }, sleep: async () => {}, retry: { retries: 1 } });
  const orch = createOrchestrator({ store, transitions: createTransitions(store, silentLogger), power: () => power, logger: silentLogger, rack: null });
  const start = async () => {
    await act(store, { machine: 'node-01', event: 'inspect', actor: 'test' });
    return runWork(store, orch);
  };
  return { store, start, orch };
}

/** Claims the machine's open work as one daemon would, runs it, finishes it; returns the outcomes. */
async function runWork(store: Store, orch: Orchestrator, daemon = 'd1'): Promise<string[]> {
  const outcomes: string[] = [];
  for (const item of await store.claimWork({ racks: [null], daemon, leaseSeconds: 30, limit: 10 })) {
    const [m, op] = [await store.getMachine(item.machine), await store.getOperation(item.operation)];
    const outcome = await orch.boot(item, m!, op!, { step: (name) => store.markWorkStep(item.id, daemon, name) });
    await store.finishWork(item.id, daemon, outcome);
    outcomes.push(outcome);
  }
  return outcomes;
}

test('an operation that starts boots the machine: one-time PXE in its firmware mode, then power on', async () => {
  const d = new FakeDriver();
  const { store, start } = await setup(d);
  assert.deepEqual(await start(), ['powered on']);
  const calls = d.calls.map((c) => c.name);
  assert.deepEqual(calls.slice(0, 3), ['status', 'boot-device', 'on']);
  assert.deepEqual(d.calls[1]!.arg, { device: 'pxe', mode: 'uefi', persistent: false });
  assert.deepEqual(await store.listOpenWork(), [], 'the boot is done work');
  assert.equal(d.state, 'on');
  const power = (await store.listEvents({ machine: 'node-01' })).filter((e) => e.kind === 'power');
  assert.match(power.at(-1)!.cause!, /^booting into inspect: one-time network boot, power on/);
  assert.equal((await store.getMachine('node-01'))!.state, 'inspecting');
});

test('a machine already on is power-cycled into the operation', async () => {
  const d = new FakeDriver();
  d.state = 'on';
  const { start } = await setup(d);
  await start();
  assert.deepEqual(d.calls.map((c) => c.name).slice(0, 3), ['status', 'boot-device', 'cycle']);
});

test('never twice: work claimed again after its daemon died past "power_sending" finds the machine on and leaves it', async () => {
  const d = new FakeDriver();
  const { store, orch } = await setup(d);
  await act(store, { machine: 'node-01', event: 'inspect', actor: 'test' });
  const [item] = await store.claimWork({ racks: [null], daemon: 'dead', leaseSeconds: 1, limit: 1 });
  await store.markWorkStep(item!.id, 'dead', 'power_sending');
  d.state = 'on'; // the change went out before the daemon died
  await new Promise((r) => setTimeout(r, 1100));
  d.calls.length = 0;
  assert.deepEqual(await runWork(store, orch, 'next'), ['already on']);
  assert.deepEqual(d.calls.map((c) => c.name), ['status'], 'read, not cycled');
  const power = (await store.listEvents({ machine: 'node-01' })).filter((e) => e.kind === 'power');
  assert.equal(power.at(-1)!.event, 'boot_resumed');
});

test('a takeover boots the machine again, once, through the standby', async () => {
  const d = new FakeDriver();
  const { store, orch } = await setup(d);
  await store.syncInventory([spec(1, { rack: 'rack-a', power: { driver: 'ipmi', boot_mode: 'UEFI' } })], 'test');
  await act(store, { machine: 'node-01', event: 'inspect', actor: 'test' });
  const [item] = await store.claimWork({ racks: ['rack-a'], daemon: 'a1', leaseSeconds: 30, limit: 1 });
  await store.finishWork(item!.id, 'a1', 'powered on');
  d.state = 'on';
  const taken = await store.enqueueTakeovers('rack-a', 'a1');
  assert.equal(taken.length, 1);
  d.calls.length = 0;
  const [t] = await store.claimWork({ racks: ['rack-a'], daemon: 'b1', leaseSeconds: 30, limit: 5 });
  const outcome = await orch.boot(t!, (await store.getMachine('node-01'))!, (await store.getOperation(t!.operation))!, { step: (s) => store.markWorkStep(t!.id, 'b1', s) });
  assert.equal(outcome, 'cycled');
  assert.deepEqual(d.calls.map((c) => c.name).slice(0, 3), ['status', 'boot-device', 'cycle']);
  await store.finishWork(t!.id, 'b1', outcome);
  assert.deepEqual(await store.enqueueTakeovers('rack-a', 'a1'), [], 'once');
});

test('a BMC that fails sends the machine to failed with the BMC\'s error', async () => {
  const d = new FakeDriver();
  d.failures = ['AUTH_FAILED'];
  const { store, start } = await setup(d);
  await start();
  const m = (await store.getMachine('node-01'))!;
  assert.equal(m.state, 'failed');
  assert.equal(m.previousState, 'inspecting');
  assert.match(m.lastError!, /: power status: the BMC rejected the username or password \(fake AUTH_FAILED\) \[AUTH_FAILED\]$/);
});

test('a failure that comes after the machine moved on to newer work changes nothing', async () => {
  const d = new FakeDriver();
  d.latency = 30;
  d.failures = ['BMC_ERROR'];
  const store = await openSqliteStore(join(tempDir('orch'), 'rackhand.db'));
  await store.syncInventory([spec(1)], 'test');
  const power = new ManagedPower(d, { machine: 'node-01', queue: new KeyedQueue(), sleep: async () => {} });
  const orch = createOrchestrator({ store, transitions: createTransitions(store, silentLogger), power: () => power, logger: silentLogger, rack: null });
  await act(store, { machine: 'node-01', event: 'inspect', actor: 'test' });
  const [item] = await store.claimWork({ racks: [null], daemon: 'd1', leaseSeconds: 30, limit: 1 });
  const op = (await store.getOperation(item!.operation))!;
  const m = (await store.getMachine('node-01'))!;
  const running = orch.boot(item!, m, op, { step: (name) => store.markWorkStep(item!.id, 'd1', name) });
  await act(store, { machine: 'node-01', event: 'maintenance_on', actor: 'test' });
  assert.equal(await running, 'superseded');
  assert.equal((await store.getMachine('node-01'))!.state, 'maintenance');
});
