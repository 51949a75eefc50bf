// Per-state timeouts: a profile's own limit wins over the site's for machines deploying or
// releasing with that profile; the sweep fails exactly the machines past their own limit, with
// the reason, and a machine the sweep loses a race to is left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { act } from '../../daemon/core/actions.js';
import { parseInventory } from '../../daemon/core/inventory/load.js';
import { machineTimeouts, sweepTimeouts } from '../../daemon/core/timeouts.js';
import { createTransitions } from '../../daemon/core/transitions.js';
import { silentLogger } from '../../daemon/log.js';
import { tempDir } from '../lib/tmp.js';
import { REPO } from '../lib/daemon.js';
import { spec } from '../lib/machines.js';

const INVENTORY = `site:
  interface: prov0
  address: 10.20.0.1
  dhcp: { mode: full, subnet: 10.20.0.0/24 }
  timeouts: { inspecting: 600, deploying: 900 }
  templates_dir: ${join(REPO, 'templates')}
profiles:
  image:
    kind: image
    image: { url: images/a.raw, sha256: "${'a'.repeat(64)}" }
  installer:
    kind: installer
    kernel: k
    initrd: i
    cmdline: "auto"
    answer: preseed/debian.cfg.j2
    timeouts: { deploying: 7200 }
`;

function inventory() {
  const r = parseInventory(INVENTORY, 'inventory.yaml', tempDir('timeouts'));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.value.inventory;
}

test("a profile's limit over the site's, state by state; defaults for the rest", () => {
  const inv = inventory();
  assert.deepEqual(machineTimeouts(inv, { profile: 'image', deployProfile: null }), { inspecting: 600, deploying: 900 });
  assert.deepEqual(machineTimeouts(inv, { profile: 'image', deployProfile: 'installer' }), { inspecting: 600, deploying: 7200 });
  assert.deepEqual(machineTimeouts(inv, { profile: null, deployProfile: null }), { inspecting: 600, deploying: 900 });
  const bad = parseInventory(INVENTORY.replace('timeouts: { deploying: 7200 }', 'timeouts: { inspecting: 10 }'), 'inventory.yaml', tempDir('timeouts'));
  assert.ok(!bad.ok);
  assert.match(bad.errors.map((e) => `${e.line}: ${e.path}: ${e.message}`).join('\n'), /^\d+: profiles\.installer\.timeouts\.inspecting: unknown field "inspecting"$/m, 'a profile does not set the inspect limit: inspection runs before any profile');
});

test('the sweep fails each machine past its own limit, naming it', async () => {
  const inv = inventory();
  const store = await openSqliteStore(join(tempDir('timeouts'), 'rackhand.db'));
  await store.syncInventory([spec(1, { profile: 'image' }), spec(2, { profile: 'image' })], 'test');
  for (const name of ['node-01', 'node-02']) {
    await act(store, { machine: name, event: 'inspect', actor: 'test' });
    await act(store, { machine: name, event: 'inspected', actor: 'test' });
  }
  await act(store, { machine: 'node-01', event: 'deploy', actor: 'test', deployProfile: 'image' });
  await act(store, { machine: 'node-02', event: 'deploy', actor: 'test', deployProfile: 'installer' });
  const started = Date.parse((await store.getMachine('node-01'))!.stateChangedAt);
  const at = (seconds: number) => new Date(started + seconds * 1000);
  const overrides = (m: Parameters<typeof machineTimeouts>[1]) => machineTimeouts(inv, m);
  const transitions = createTransitions(store, silentLogger);

  assert.deepEqual(await sweepTimeouts(store, transitions, at(899), overrides), []);
  const first = await sweepTimeouts(store, transitions, at(901), overrides);
  assert.deepEqual(first.map((m) => [m.name, m.state, m.lastError]), [['node-01', 'failed', 'timed out in deploying after 900 s']]);
  assert.equal((await store.getMachine('node-02'))!.state, 'deploying', 'the installer has two hours');
  const second = await sweepTimeouts(store, transitions, at(7201), overrides);
  assert.deepEqual(second.map((m) => [m.name, m.previousState, m.lastError]), [['node-02', 'deploying', 'timed out in deploying after 7200 s']]);
  assert.deepEqual(await sweepTimeouts(store, transitions, at(99_999), overrides), [], 'failed machines are not swept again');
  await store.close();
});

test('the sweep goes through the one transition path and leaves a machine that moved on meanwhile alone', async () => {
  const store = await openSqliteStore(join(tempDir('timeouts'), 'rackhand.db'));
  await store.syncInventory([spec(1)], 'test');
  await act(store, { machine: 'node-01', event: 'inspect', actor: 'test' });
  const started = Date.parse((await store.getMachine('node-01'))!.stateChangedAt);
  const real = createTransitions(store, silentLogger);
  const applied: string[] = [];
  // Between the sweep's read and its transition an operator takes the machine into maintenance.
  const racing = {
    async apply(req: Parameters<typeof real.apply>[0]) {
      applied.push(req.event);
      await real.apply({ machine: req.machine, event: 'maintenance_on', actor: 'operator' });
      return real.apply(req);
    },
  };
  assert.deepEqual(await sweepTimeouts(store, racing, new Date(started + 3_600_000)), []);
  assert.deepEqual(applied, ['timeout']);
  assert.equal((await store.getMachine('node-01'))!.state, 'maintenance', 'not failed for a deadline of a state it left');
  await store.close();
});
