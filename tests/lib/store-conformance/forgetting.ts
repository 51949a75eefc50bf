// The contract of MachineStore's forgetting, which reaches into operations and leases: in one
// transaction a discovered machine's running operation is cancelled, its lease deleted, its row
// retired with its history and one event written; core's verdict (core/forget.ts) refuses
// inventory machines and those that may hold a tenant's data; the MAC is discovered afresh later.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LeaseStore, MachineStore, OperationStore } from '../../../daemon/core/store/types.js';
import { forgetRefusal } from '../../../daemon/core/forget.js';
import { discoveredName, discoveredSpec, lease, move, spec, withStore, type StoreFactory } from './support.js';

type Forgetting = MachineStore & OperationStore & LeaseStore;

/** Inspected as the agent would report it: ready, with facts. */
async function fakeInspect(store: MachineStore, name: string): Promise<void> {
  await move(store, name, 'inspect');
  await store.setFacts(name, { cpus: 64, memory_mib: 262144, arch: 'x86_64', disks: [{ name: 'sda', size_bytes: 2e12 }], nics: [] });
  await move(store, name, 'inspected');
}

export function describeForgetting(name: string, make: StoreFactory<Forgetting>): void {
  describe(`MachineStore forgetting: ${name}`, () => {
    test('forgetting retires the row, cancels its operation, frees its lease, and the MAC is discovered afresh', () => withStore(make, async (store) => {
      const mac = '52:54:00:f0:00:01';
      const d = await store.enrolDiscovered(discoveredSpec(mac));
      const op = (await move(store, d.name, 'inspect')).operation!;
      await store.setFacts(d.name, { cpus: 2 });
      await store.putLease(lease(mac, '10.20.0.150', { machine: d.name }));
      assert.equal(await store.countPendingDiscovered(), 1);

      const r = await store.forgetDiscovered(d.name, 'operator:admin', 'junk from a flood', forgetRefusal);
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.freedLease, '10.20.0.150');
      assert.equal(r.cancelledOperation, op.id);
      assert.ok(r.machine.retiredAt);
      assert.equal(r.machine.previousState, 'inspecting');
      assert.equal(r.machine.state, 'enrolled', 'no timeout sweep moves the retired row later');
      assert.equal((await store.getOperation(op.id))?.state, 'cancelled', 'its token dies with the operation');
      assert.equal(await store.activeOperation(d.name), undefined);
      assert.equal(await store.getLease(mac), undefined);
      assert.equal(await store.machineByMac(mac), undefined, 'no longer served');
      assert.equal(await store.countPendingDiscovered(), 0, 'no longer counts toward max_pending');
      const forgotten = (await store.listEvents({ machine: d.name })).filter((e) => e.event === 'forgotten');
      assert.equal(forgotten.length, 1, 'one event');
      assert.deepEqual([forgotten[0]!.kind, forgotten[0]!.actor, forgotten[0]!.cause], ['inventory', 'operator:admin', 'junk from a flood']);
      assert.deepEqual(forgotten[0]!.data, { mac, state: 'inspecting', accepted: false, freed_lease: '10.20.0.150', cancelled_operation: op.id });
      const again = await store.forgetDiscovered(d.name, 'operator:admin', 'again', forgetRefusal);
      assert.equal(!again.ok && again.reason, 'not_found', 'a forgotten machine is not found twice');

      // The same MAC PXE-boots again: the retired row of the same name comes back, with nothing of its past but the history.
      const back = await store.enrolDiscovered(discoveredSpec(mac));
      assert.equal(back.name, d.name);
      assert.deepEqual([back.retiredAt, back.state, back.accepted, back.facts, back.previousState], [null, 'enrolled', false, null, null]);
      assert.equal(await store.countPendingDiscovered(), 1);
      assert.equal((await store.machineByMac(mac))?.name, d.name);
      assert.deepEqual((await store.listEvents({ machine: d.name })).map((e) => e.event), ['enrol', 'inspect', 'forgotten', 'enrol'], 'the history stays');
      const second = await move(store, d.name, 'inspect');
      assert.notEqual(second.operation!.id, op.id, 'inspected again with a fresh operation');
    }));

    test('inventory machines and machines holding a tenant\'s data are not forgotten, and refusing writes nothing', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      const inv = await store.forgetDiscovered('node-01', 'operator:admin', 'x', forgetRefusal);
      assert.equal(!inv.ok && inv.reason, 'inventory');
      assert.match(!inv.ok ? inv.detail : '', /node-01 is an inventory machine/);
      const nobody = await store.forgetDiscovered('nobody', 'operator:admin', 'x', forgetRefusal);
      assert.equal(!nobody.ok && nobody.reason, 'not_found');

      const d = await store.enrolDiscovered(discoveredSpec('52:54:00:f0:00:02'));
      await fakeInspect(store, d.name);
      await store.acceptMachine(d.name, 'operator:admin');
      await move(store, d.name, 'allocate', { owner: 'acme' });
      const owned = await store.forgetDiscovered(d.name, 'operator:admin', 'x', forgetRefusal);
      assert.equal(!owned.ok && owned.reason, 'in_use');
      assert.match(!owned.ok ? owned.detail : '', /allocated for acme: release it/);
      // Deployed, released, and its erase failed: the previous tenant's data may still be on the disks.
      await move(store, d.name, 'deploy', { deployProfile: 'lab-image' });
      assert.equal((await store.forgetDiscovered(d.name, 'operator:admin', 'x', forgetRefusal)).ok, false, 'deploying');
      await move(store, d.name, 'deployed');
      await move(store, d.name, 'release');
      const erase = (await store.activeOperation(d.name))!;
      assert.equal((await store.forgetDiscovered(d.name, 'operator:admin', 'x', forgetRefusal)).ok, false, 'releasing');
      assert.equal((await store.getOperation(erase.id))?.state, 'running', 'a refusal cancels nothing');
      await move(store, d.name, 'fail', { reason: 'erase verification failed' });
      const failed = await store.forgetDiscovered(d.name, 'operator:admin', 'x', forgetRefusal);
      assert.equal(!failed.ok && failed.reason, 'in_use');
      assert.match(!failed.ok ? failed.detail : '', /failed from releasing/);
      assert.equal((await store.getMachine(d.name))?.retiredAt, null);
      assert.equal((await store.listEvents({ machine: d.name })).filter((e) => e.event === 'forgotten').length, 0);
    }));

    test('forgetting the pending ones forgets each unaccepted discovered machine, one event each, and nothing else', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      const junk = ['52:54:00:f0:01:01', '52:54:00:f0:01:02', '52:54:00:f0:01:03'];
      for (const mac of junk) await store.enrolDiscovered(discoveredSpec(mac));
      await store.putLease(lease(junk[1]!, '10.20.0.160'));
      const kept = await store.enrolDiscovered(discoveredSpec('52:54:00:f0:01:99'));
      await store.acceptMachine(kept.name, 'operator:admin');
      assert.equal(await store.countPendingDiscovered(), 3);
      const done = await store.forgetPendingDiscovered('operator:admin', 'flood', forgetRefusal);
      assert.deepEqual(done.map((f) => f.machine.mac), junk);
      assert.deepEqual(done.map((f) => f.freedLease), [null, '10.20.0.160', null]);
      assert.equal(await store.countPendingDiscovered(), 0);
      assert.equal((await store.getMachine(kept.name))?.retiredAt, null, 'an accepted machine stays');
      assert.equal((await store.getMachine('node-01'))?.retiredAt, null);
      const events = (await store.listEvents({ limit: 1000 })).filter((e) => e.event === 'forgotten');
      assert.deepEqual(events.map((e) => e.machine), junk.map(discoveredName));
      assert.deepEqual(await store.forgetPendingDiscovered('operator:admin', 'flood', forgetRefusal), [], 'nothing left');
    }));
  });
}
