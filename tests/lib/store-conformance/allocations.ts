// The AllocationStore contract: allocating is all or nothing (every machine's compare-and-set,
// its event, and the allocation row commit together, and a lost race writes nothing), racing
// requests for the same machines have one winner, and an allocation is released once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent } from '../../../daemon/core/lifecycle.js';
import { withOperationPlan } from '../../../daemon/core/operation-plan.js';
import type { AllocateRequest, AllocationStore, MachineRecord, MachineStore } from '../../../daemon/core/store/types.js';
import { move, readyMachines, withStore, type StoreFactory } from './support.js';

type Allocations = AllocationStore & MachineStore;

/** A request for `machines` as they are now (read, then decided: the race window a caller has). */
function request(id: string, owner: string, machines: MachineRecord[]): AllocateRequest {
  return {
    allocation: { id, owner, profile: 'lab-image', constraints: { cpus: 2 }, machines: machines.map((m) => m.name), actor: `tenant:${owner}` },
    transitions: machines.map((m) => withOperationPlan({
      machine: m.name, outcome: applyEvent(m, 'allocate', { owner }), actor: `tenant:${owner}`,
      cause: `allocated to ${owner} (${id})`, data: { allocation: id },
    })),
  };
}

async function current(store: MachineStore, names: string[]): Promise<MachineRecord[]> {
  return Promise.all(names.map(async (n) => (await store.getMachine(n))!));
}

export function describeAllocationStore(name: string, make: StoreFactory<Allocations>): void {
  describe(`AllocationStore: ${name}`, () => {
    test('an allocation takes every machine with its event and writes its row, in one go', () => withStore(make, async (store) => {
      const names = await readyMachines(store, 2);
      const r = await store.allocate(request('alloc-1', 'acme', await current(store, names)));
      assert.ok(r.ok);
      assert.deepEqual([r.allocation.id, r.allocation.owner, r.allocation.profile, r.allocation.constraints, r.allocation.machines, r.allocation.state, r.allocation.actor, r.allocation.releasedAt],
        ['alloc-1', 'acme', 'lab-image', { cpus: 2 }, names, 'active', 'tenant:acme', null]);
      assert.ok(r.allocation.createdAt);
      assert.deepEqual(r.machines.map((m) => [m.name, m.state, m.owner]), [['node-01', 'allocated', 'acme'], ['node-02', 'allocated', 'acme']]);
      // Each machine's transition comes back with its event, for the one transition path to log.
      assert.deepEqual(r.transitions.map((t) => [t.machine.name, t.event.from, t.event.to, t.event.machine]), [['node-01', 'ready', 'allocated', 'node-01'], ['node-02', 'ready', 'allocated', 'node-02']]);
      assert.deepEqual(await store.getAllocation('alloc-1'), r.allocation);
      for (const n of names) {
        const events = (await store.listEvents({ machine: n })).filter((e) => e.event === 'allocate');
        assert.deepEqual(events.map((e) => [e.actor, e.cause, e.data]), [['tenant:acme', 'allocated to acme (alloc-1)', { allocation: 'alloc-1' }]]);
      }
    }));

    test('all or nothing: one lost compare-and-set undoes the others and writes no row and no event', () => withStore(make, async (store) => {
      const names = await readyMachines(store, 2);
      const seen = await current(store, names);
      // Someone else takes node-02 between our read and our write.
      await move(store, 'node-02', 'allocate', { owner: 'other' });
      const before = { events: (await store.listEvents()).length, node01: await store.getMachine('node-01') };
      assert.deepEqual(await store.allocate(request('alloc-1', 'acme', seen)), { ok: false, lost: 'node-02' });
      assert.deepEqual(await store.getMachine('node-01'), before.node01, 'node-01 was taken and given back in the same transaction');
      assert.equal(await store.getAllocation('alloc-1'), undefined);
      assert.equal((await store.listEvents()).length, before.events, 'no event of the attempt');

      await move(store, 'node-02', 'release');
      const ok = await store.allocate(request('alloc-2', 'acme', seen));
      assert.ok(ok.ok, 'the same request wins once the machines are ready again');
    }));

    test('racing allocations of the same machines, on one handle and across two: one wins, the loser writes nothing', () => withStore(make, async (store, more) => {
      const names = await readyMachines(store, 3);
      const other = await more();
      const seen = await current(store, names);
      const eventsBefore = (await store.listEvents()).length;
      const results = await Promise.all([
        store.allocate(request('alloc-a', 'a', [seen[0]!, seen[1]!])),
        other.allocate(request('alloc-b', 'b', [seen[2]!, seen[1]!])),
        store.allocate(request('alloc-c', 'c', [seen[1]!])),
      ]);
      const winners = results.map((r, i) => (r.ok ? ['a', 'b', 'c'][i] : undefined)).filter(Boolean);
      assert.equal(winners.length, 1, `one winner: ${JSON.stringify(results.map((r) => r.ok || r.lost))}`);
      for (const r of results) if (!r.ok) assert.equal(r.lost, 'node-02');
      const won = results.find((r) => r.ok);
      assert.ok(won?.ok);
      const held = (await store.listMachines({ state: 'allocated' })).map((m) => m.name);
      assert.deepEqual(held, won.allocation.machines.slice().sort());
      assert.equal((await store.listEvents()).length, eventsBefore + won.allocation.machines.length, 'only the winner\'s events');
      assert.deepEqual((await store.listAllocations()).map((a) => a.id), [won.allocation.id]);
    }));

    test('allocations listed oldest first by owner and state, by machine newest first, released once', () => withStore(make, async (store) => {
      const names = await readyMachines(store, 2);
      assert.ok((await store.allocate(request('alloc-1', 'acme', await current(store, ['node-01'])))).ok);
      assert.ok((await store.allocate(request('alloc-2', 'zeta', await current(store, ['node-02'])))).ok);
      await move(store, 'node-01', 'release');
      assert.equal(await store.markAllocationReleased('alloc-1'), true);
      assert.equal(await store.markAllocationReleased('alloc-1'), false, 'released once');
      assert.equal(await store.markAllocationReleased('nobody'), false);
      const released = (await store.getAllocation('alloc-1'))!;
      assert.equal(released.state, 'released');
      assert.ok(released.releasedAt);
      assert.ok((await store.allocate(request('alloc-3', 'acme', await current(store, ['node-01'])))).ok);

      assert.deepEqual((await store.listAllocations()).map((a) => a.id), ['alloc-1', 'alloc-2', 'alloc-3']);
      assert.deepEqual((await store.listAllocations({ owner: 'acme' })).map((a) => a.id), ['alloc-1', 'alloc-3']);
      assert.deepEqual((await store.listAllocations({ state: 'active' })).map((a) => a.id), ['alloc-2', 'alloc-3']);
      assert.deepEqual((await store.listAllocations({ owner: 'acme', state: 'released' })).map((a) => a.id), ['alloc-1']);
      assert.deepEqual((await store.allocationsOfMachine('node-01')).map((a) => a.id), ['alloc-3', 'alloc-1']);
      assert.deepEqual((await store.allocationsOfMachine('node-01', 'acme')).map((a) => a.id), ['alloc-3', 'alloc-1']);
      assert.deepEqual(await store.allocationsOfMachine('node-01', 'zeta'), []);
      assert.deepEqual((await store.allocationsOfMachine(names[1]!)).map((a) => a.id), ['alloc-2']);
      assert.equal(await store.getAllocation('nobody'), undefined);
    }));
  });
}
