// A tenant's action is decided on its own machine; it must never land on the next owner's. The
// attack: acme asks to release a machine it holds while, between acme's read and the write, the
// machine is let go and allocated to beta (allocated again: the same state). The compare-and-set
// on the version read refuses the write, and the decision made again on the machine as it is now
// finds it is not acme's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { act, MachineNotFound } from '../../daemon/core/actions.js';
import type { Store } from '../../daemon/core/store/types.js';
import { tempDir } from '../lib/tmp.js';
import { spec } from '../lib/machines.js';

async function allocatedTo(owner: string): Promise<Store> {
  const store = await openSqliteStore(join(tempDir('owner-race'), 'rackhand.db'));
  await store.syncInventory([spec(1)], 'test');
  for (const event of ['inspect', 'inspected'] as const) await act(store, { machine: 'node-01', event, actor: 'test' });
  await act(store, { machine: 'node-01', event: 'allocate', owner, actor: 'test' });
  return store;
}

/** The store as act() sees it, with `meanwhile` run once just before the first transition is written. */
function withRace(store: Store, meanwhile: () => Promise<void>): Store {
  let raced = false;
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key !== 'transition') return Reflect.get(target, key, receiver);
      return async (...args: Parameters<Store['transition']>) => {
        if (!raced) { raced = true; await meanwhile(); }
        return target.transition(...args);
      };
    },
  });
}

test('a release decided on acme\'s machine does not land on beta\'s when the machine changed hands meanwhile', async () => {
  const store = await allocatedTo('acme');
  const racing = withRace(store, async () => {
    await act(store, { machine: 'node-01', event: 'release', actor: 'operator' });
    await act(store, { machine: 'node-01', event: 'allocate', owner: 'beta', actor: 'tenant:beta' });
  });
  await assert.rejects(act(racing, { machine: 'node-01', event: 'release', actor: 'tenant:acme', ownedBy: 'acme' }), MachineNotFound);
  const m = (await store.getMachine('node-01'))!;
  assert.deepEqual([m.state, m.owner], ['allocated', 'beta'], 'beta keeps its machine');
  const releases = (await store.listEvents({ machine: 'node-01' })).filter((e) => e.event === 'release');
  assert.deepEqual(releases.map((e) => e.actor), ['operator'], 'only the operator\'s release was written');
  store.close();
});

test('the owner\'s own action goes through, and another owner\'s is refused as not found', async () => {
  const store = await allocatedTo('acme');
  await assert.rejects(act(store, { machine: 'node-01', event: 'release', actor: 'tenant:beta', ownedBy: 'beta' }), MachineNotFound);
  const r = await act(store, { machine: 'node-01', event: 'release', actor: 'tenant:acme', ownedBy: 'acme' });
  assert.deepEqual([r.machine.state, r.machine.owner], ['ready', null]);
  store.close();
});

test('a race with a change that is not a transition (facts) is decided again and still wins', async () => {
  const store = await allocatedTo('acme');
  const racing = withRace(store, () => store.setFacts('node-01', { cpus: 4 }));
  const r = await act(racing, { machine: 'node-01', event: 'release', actor: 'tenant:acme', ownedBy: 'acme' });
  assert.equal(r.machine.state, 'ready');
  store.close();
});
