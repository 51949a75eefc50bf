import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createOrchestrator } from '../../daemon/orchestrate.js';
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
  const orch = createOrchestrator({ store, transitions: createTransitions(store, silentLogger), power: () => power, logger: silentLogger });
  const start = async () => {
    const r = await act(store, { machine: 'node-01', event: 'inspect', actor: 'test' });
    orch.started(r.machine, r.operation!);
    await orch.idle();
  };
  return { store, start };
}

test('an operation that starts boots the machine: one-time PXE in its firmware mode, then power on', async () => {
  const d = new FakeDriver();
  const { store, start } = await setup(d);
  await start();
  const calls = d.calls.map((c) => c.name);
  assert.deepEqual(calls.slice(0, 3), ['boot-device', 'status', 'on']);
  assert.deepEqual(d.calls[0]!.arg, { device: 'pxe', mode: 'uefi', persistent: false });
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
  assert.deepEqual(d.calls.map((c) => c.name).slice(0, 3), ['boot-device', 'status', 'cycle']);
});

test('a BMC that fails sends the machine to failed with the BMC\'s error', async () => {
  const d = new FakeDriver();
  d.failures = ['AUTH_FAILED'];
  const { store, start } = await setup(d);
  await start();
  const m = (await store.getMachine('node-01'))!;
  assert.equal(m.state, 'failed');
  assert.equal(m.previousState, 'inspecting');
  assert.match(m.lastError!, /: power boot-device: the BMC rejected the username or password \(fake AUTH_FAILED\) \[AUTH_FAILED\]$/);
});

test('a failure that comes after the machine moved on to newer work changes nothing', async () => {
  const d = new FakeDriver();
  d.latency = 30;
  d.failures = ['BMC_ERROR'];
  const store = await openSqliteStore(join(tempDir('orch'), 'rackhand.db'));
  await store.syncInventory([spec(1)], 'test');
  const power = new ManagedPower(d, { machine: 'node-01', queue: new KeyedQueue(), sleep: async () => {} });
  const orch = createOrchestrator({ store, transitions: createTransitions(store, silentLogger), power: () => power, logger: silentLogger });
  const first = await act(store, { machine: 'node-01', event: 'inspect', actor: 'test' });
  orch.started(first.machine, first.operation!);
  await act(store, { machine: 'node-01', event: 'maintenance_on', actor: 'test' });
  await orch.idle();
  assert.equal((await store.getMachine('node-01'))!.state, 'maintenance');
});
