import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { act } from '../../daemon/core/actions.js';
import { applyEvent } from '../../daemon/core/lifecycle.js';
import { tempDir } from '../lib/tmp.js';
import { spec } from '../lib/machines.js';
import { withOperationPlan } from '../../daemon/core/operation-plan.js';

test('store.allocate is all or nothing: one lost compare-and-set undoes the others and writes no row', async () => {
  const store = await openSqliteStore(join(tempDir('alloc-store'), 'rackhand.db'));
  await store.syncInventory([spec(1), spec(2)], 'test');
  for (const name of ['node-01', 'node-02']) {
    await act(store, { machine: name, event: 'inspect', actor: 'test' });
    await act(store, { machine: name, event: 'inspected', actor: 'test' });
  }
  const [a, b] = [(await store.getMachine('node-01'))!, (await store.getMachine('node-02'))!];
  const take = (id: string) => store.allocate({
    allocation: { id, owner: 'acme', profile: 'lab-image', constraints: {}, machines: ['node-01', 'node-02'], actor: 'test' },
    transitions: [a, b].map((m) => withOperationPlan({ machine: m.name, outcome: applyEvent(m, 'allocate', { owner: 'acme' }), actor: 'test', cause: null })),
  });
  // Someone else takes node-02 between our read and our write.
  await act(store, { machine: 'node-02', event: 'allocate', owner: 'other', actor: 'test' });
  const before = (await store.listEvents()).length;
  assert.deepEqual(await take('alloc-1'), { ok: false, lost: 'node-02' });
  assert.equal((await store.getMachine('node-01'))!.state, 'ready', 'node-01 was taken and given back in the same transaction');
  assert.equal((await store.getMachine('node-01'))!.owner, null);
  assert.equal(await store.getAllocation('alloc-1'), undefined);
  assert.equal((await store.listEvents()).length, before, 'no event of the attempt');

  await act(store, { machine: 'node-02', event: 'release', actor: 'test' });
  const ok = await take('alloc-2');
  assert.ok(ok.ok);
  assert.deepEqual(ok.allocation.machines, ['node-01', 'node-02']);
  assert.deepEqual((await store.allocationsOfMachine('node-02', 'acme')).map((x) => x.id), ['alloc-2']);
  assert.deepEqual(await store.allocationsOfMachine('node-02', 'other'), []);
  assert.equal(await store.markAllocationReleased('alloc-2'), true);
  assert.equal(await store.markAllocationReleased('alloc-2'), false, 'released once');
  await store.close();
});
