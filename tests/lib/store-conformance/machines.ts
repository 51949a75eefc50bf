// The MachineStore contract (daemon/core/store/ports.ts): inventory sync with one event per change,
// machines by name and MAC, the transition as a compare-and-set with its one event, the event log,
// facts, and discovery's enrolment and acceptance. Forgetting, whose contract spans operations and
// leases, is in forgetting.ts. Every backend passes this; the SQLite run is
// tests/unit/store-conformance.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent } from '../../../daemon/core/lifecycle.js';
import { withOperationPlan } from '../../../daemon/core/operation-plan.js';
import type { EventRecord, MachineStore } from '../../../daemon/core/store/types.js';
import { attempt, discoveredSpec, move, readyMachines, spec, withStore, type StoreFactory } from './support.js';

export function describeMachineStore(name: string, make: StoreFactory<MachineStore>): void {
  describe(`MachineStore: ${name}`, () => {
    test('inventory sync enrols, updates with a diff, retires and restores, one event per change, keeping history', () => withStore(make, async (store) => {
      let changes = await store.syncInventory([spec(1), spec(2)], 'test');
      assert.deepEqual(changes.map((c) => `${c.name}:${c.change}`), ['node-01:enrolled', 'node-02:enrolled']);
      const enrolled = (await store.getMachine('node-01'))!;
      assert.deepEqual([enrolled.state, enrolled.source, enrolled.accepted, enrolled.retiredAt], ['enrolled', 'inventory', true, null]);
      const eventsBefore = (await store.listEvents()).length;
      assert.deepEqual(await store.syncInventory([spec(1), spec(2)], 'test'), [], 'an unchanged file changes nothing');
      assert.equal((await store.listEvents()).length, eventsBefore, 'and records nothing');

      changes = await store.syncInventory([spec(1, { ip: '10.20.0.50' })], 'test');
      assert.deepEqual(changes.map((c) => `${c.name}:${c.change}`), ['node-02:retired', 'node-01:updated']);
      assert.deepEqual(changes[1]!.fields, { ip: { from: '10.20.0.11', to: '10.20.0.50' } });
      assert.equal((await store.getMachine('node-01'))!.version, enrolled.version + 1, 'a change bumps the version');
      assert.deepEqual((await store.listMachines()).map((m) => m.name), ['node-01']);
      const retired = await store.getMachine('node-02');
      assert.ok(retired?.retiredAt, 'a retired machine stays in the store');
      assert.equal(await store.machineByMac(spec(2).mac), undefined, 'a retired machine is not served');

      changes = await store.syncInventory([spec(1, { ip: '10.20.0.50' }), spec(2)], 'test');
      assert.deepEqual(changes.map((c) => `${c.name}:${c.change}`), ['node-02:restored']);
      const events = await store.listEvents({ machine: 'node-02' });
      assert.deepEqual(events.map((e) => e.event), ['enrol', 'retired', 'restored']);
      assert.deepEqual(events.map((e) => e.actor), ['test', 'test', 'test']);
    }));

    test('a MAC held by a discovered machine passes to the inventory machine that claims it; a named discovered machine becomes inventory, accepted', () => withStore(make, async (store) => {
      const held = await store.enrolDiscovered(spec(9, { name: 'discovered-525400000109', profile: null }));
      await store.syncInventory([spec(9)], 'test');
      assert.equal((await store.machineByMac(spec(9).mac))?.name, 'node-09');
      assert.ok((await store.getMachine(held.name))?.retiredAt, 'the discovered holder is retired');
      assert.deepEqual((await store.listEvents({ machine: held.name })).map((e) => e.event), ['enrol', 'retired']);

      const e = await store.enrolDiscovered(discoveredSpec('52:54:00:aa:00:02'));
      assert.equal(e.accepted, false);
      await store.syncInventory([spec(9), { ...spec(2), name: e.name, mac: e.mac }], 'test');
      const claimed = (await store.getMachine(e.name))!;
      assert.deepEqual([claimed.source, claimed.accepted], ['inventory', true]);
    }));

    test('machines by name (retired too), by MAC in any case (live only), listed by name with filters', () => withStore(make, async (store) => {
      await store.syncInventory([spec(2), spec(1), spec(3)], 'test');
      assert.deepEqual((await store.listMachines()).map((m) => m.name), ['node-01', 'node-02', 'node-03']);
      assert.equal((await store.machineByMac(spec(1).mac.toUpperCase()))?.name, 'node-01');
      assert.equal(await store.getMachine('nobody'), undefined);
      assert.equal(await store.machineByMac('02:00:00:00:00:00'), undefined);
      await move(store, 'node-01', 'inspect');
      await move(store, 'node-01', 'inspected');
      await move(store, 'node-01', 'allocate', { owner: 'acme' });
      assert.deepEqual((await store.listMachines({ state: 'allocated' })).map((m) => m.name), ['node-01']);
      assert.deepEqual((await store.listMachines({ owner: 'acme' })).map((m) => m.name), ['node-01']);
      assert.deepEqual(await store.listMachines({ owner: 'other' }), []);
      await store.syncInventory([spec(1), spec(2)], 'test');
      assert.deepEqual((await store.listMachines()).map((m) => m.name), ['node-01', 'node-02']);
      assert.deepEqual((await store.listMachines({ includeRetired: true })).map((m) => m.name), ['node-01', 'node-02', 'node-03']);
      assert.ok((await store.getMachine('node-03'))?.retiredAt);
    }));

    test('a transition is a compare-and-set with its one event; a stale state is refused and writes nothing', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      const m = (await store.getMachine('node-01'))!;
      const outcome = applyEvent(m, 'inspect');
      const first = await store.transition(withOperationPlan({ machine: 'node-01', outcome, cause: 'test', actor: 'operator', data: { why: 'first' } }));
      assert.ok(first.ok);
      assert.equal(first.machine.state, 'inspecting');
      assert.equal(first.machine.version, m.version + 1);
      assert.ok(first.machine.stateChangedAt >= m.stateChangedAt);
      assert.deepEqual([first.event.kind, first.event.event, first.event.from, first.event.to, first.event.cause, first.event.actor],
        ['transition', 'inspect', 'enrolled', 'inspecting', 'test', 'operator']);
      assert.deepEqual(first.event.data, { why: 'first' });
      assert.deepEqual((await store.listEvents({ machine: 'node-01' })).at(-1), first.event, 'the event returned is the one stored');

      const before = { events: (await store.listEvents()).length, machine: await store.getMachine('node-01') };
      const stale = await store.transition(withOperationPlan({ machine: 'node-01', outcome, cause: 'test', actor: 'operator' }));
      assert.equal(stale.ok, false, 'the same outcome applied twice loses the second time');
      if (!stale.ok) assert.deepEqual(stale.current, before.machine, 'the loser is told the machine as it is');
      assert.equal((await store.listEvents()).length, before.events, 'a lost compare-and-set writes no event');
      assert.deepEqual(await store.getMachine('node-01'), before.machine, 'nor touches the row');
      const transitions = (await store.listEvents({ machine: 'node-01' })).filter((e) => e.kind === 'transition');
      assert.equal(transitions.length, 2, 'enrol + one inspect, not two');

      const nobody = await store.transition(withOperationPlan({ machine: 'nobody', outcome, cause: null, actor: 'test' }));
      assert.deepEqual(nobody, { ok: false, current: undefined });
    }));

    test('a transition writes what the outcome says; the deploy profile only when given; the cause defaults to the error', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      await move(store, 'node-01', 'inspect');
      await move(store, 'node-01', 'inspected');
      await move(store, 'node-01', 'allocate', { owner: 'acme' });
      const deploying = await move(store, 'node-01', 'deploy', { deployProfile: 'ubuntu' });
      assert.deepEqual([deploying.machine.owner, deploying.machine.deployProfile], ['acme', 'ubuntu']);
      const m = (await store.getMachine('node-01'))!;
      const failed = await store.transition(withOperationPlan({ machine: 'node-01', outcome: applyEvent(m, 'error', { reason: 'disk gone' }), cause: null, actor: 'agent' }));
      assert.ok(failed.ok);
      assert.deepEqual([failed.machine.state, failed.machine.previousState, failed.machine.lastError, failed.machine.deployProfile],
        ['failed', 'deploying', 'disk gone', 'ubuntu'], 'no deploy profile given: the one stored stays');
      assert.equal(failed.event.cause, 'disk gone', 'no cause given: the outcome\'s error');
      const retried = await move(store, 'node-01', 'retry', { deployProfile: 'debian' });
      assert.deepEqual([retried.machine.state, retried.machine.lastError, retried.machine.deployProfile], ['deploying', null, 'debian']);
    }));

    test('racing transitions from one state, on one handle and across two: exactly one wins, one event', () => withStore(make, async (store, more) => {
      await store.syncInventory([spec(1)], 'test');
      await move(store, 'node-01', 'inspect');
      await move(store, 'node-01', 'inspected');
      const other = await more();
      const m = (await store.getMachine('node-01'))!;
      const owners = ['a', 'b', 'c', 'd'];
      const results = await Promise.all(owners.map((owner, i) => (i % 2 ? other : store).transition(withOperationPlan({
        machine: 'node-01', outcome: applyEvent(m, 'allocate', { owner }), cause: null, actor: owner,
      }))));
      assert.equal(results.filter((r) => r.ok).length, 1, 'one winner');
      const winner = owners[results.findIndex((r) => r.ok)];
      assert.equal((await other.getMachine('node-01'))?.owner, winner);
      const allocations = (await store.listEvents({ machine: 'node-01' })).filter((e) => e.event === 'allocate');
      assert.deepEqual(allocations.map((e) => e.actor), [winner]);
    }));

    test('events: appended with an id, the latest N oldest first, after an id or since a time forward, by machine, counted by kind', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      const notes: EventRecord[] = [];
      for (let i = 0; i < 5; i++) {
        notes.push(await store.appendEvent({ machine: i % 2 ? 'node-01' : null, kind: 'note', event: `n${i}`, cause: 'why', actor: 'system', data: { i } }));
      }
      assert.ok(notes.every((e, i) => i === 0 || e.id > notes[i - 1]!.id), 'ids grow');
      assert.deepEqual([notes[1]!.machine, notes[1]!.kind, notes[1]!.event, notes[1]!.cause, notes[1]!.actor, notes[1]!.data, notes[1]!.from, notes[1]!.to],
        ['node-01', 'note', 'n1', 'why', 'system', { i: 1 }, null, null]);
      assert.deepEqual((await store.listEvents({ limit: 2 })).map((e) => e.event), ['n3', 'n4'], 'the latest two, oldest first');
      assert.deepEqual((await store.listEvents({ afterId: notes[2]!.id })).map((e) => e.event), ['n3', 'n4']);
      assert.deepEqual((await store.listEvents({ afterId: notes[0]!.id, limit: 2 })).map((e) => e.event), ['n1', 'n2'], 'following reads forward');
      const since = await store.listEvents({ since: notes[4]!.time });
      assert.ok(since.some((e) => e.id === notes[4]!.id) && since.every((e) => e.time >= notes[4]!.time));
      assert.deepEqual((await store.listEvents({ machine: 'node-01' })).map((e) => e.event), ['enrol', 'n1', 'n3']);
      assert.deepEqual(await store.countEvents(), { transition: 1, note: 5 });
    }));

    test('facts change the machine (its version); boot facts are a record of DHCP and do not', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      const m = (await store.getMachine('node-01'))!;
      await store.recordBootFacts('node-01', { arch: 7, ip: '10.20.0.11', ipAssigned: true, interface: 'prov0', seenAt: '2024-01-01T00:00:00.000Z' });
      const booted = (await store.getMachine('node-01'))!;
      assert.deepEqual(booted.bootFacts, { arch: 7, ip: '10.20.0.11', ipAssigned: true, interface: 'prov0', seenAt: '2024-01-01T00:00:00.000Z' });
      assert.equal(booted.version, m.version);
      await store.setFacts('node-01', { cpus: 8, disks: [{ name: 'sda' }] });
      const inspected = (await store.getMachine('node-01'))!;
      assert.deepEqual(inspected.facts, { cpus: 8, disks: [{ name: 'sda' }] });
      assert.equal(inspected.version, m.version + 1);
    }));

    test('discovery enrols unaccepted, one machine per MAC; an operator accepts once, with one event', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      const d = await store.enrolDiscovered(discoveredSpec('52:54:00:aa:00:01'));
      assert.deepEqual([d.state, d.source, d.accepted, d.tags], ['enrolled', 'discovered', false, ['discovered']]);
      assert.deepEqual((await store.listEvents({ machine: d.name })).map((e) => [e.event, e.to, e.actor]), [['enrol', 'enrolled', 'system']]);
      assert.deepEqual(await store.enrolDiscovered(discoveredSpec('52:54:00:aa:00:01')), d, 'the MAC is that machine already');
      await assert.rejects(store.enrolDiscovered({ ...discoveredSpec('52:54:00:aa:00:09'), name: d.name }), 'a live machine holds the name');
      assert.equal(await store.countPendingDiscovered(), 1);

      const first = await store.acceptMachine(d.name, 'operator:admin');
      assert.equal(first?.accepted, true);
      assert.equal(first?.machine.accepted, true);
      assert.equal((await store.acceptMachine(d.name, 'operator:admin'))?.accepted, false, 'a second accept changes nothing');
      assert.equal(await store.countPendingDiscovered(), 0);
      const events = (await store.listEvents({ machine: d.name })).filter((e) => e.event === 'accepted');
      assert.deepEqual(events.map((e) => e.actor), ['operator:admin']);
      assert.equal(await store.acceptMachine('nobody', 'operator:admin'), undefined);
      assert.equal((await store.acceptMachine('node-01', 'operator:admin'))?.accepted, false, 'inventory machines are accepted already');
    }));

    test('a transition that loses leaves a later one free to win', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      const lost = await store.transition(withOperationPlan({ machine: 'node-01', outcome: applyEvent({ state: 'ready', previousState: null, owner: null }, 'allocate', { owner: 'x' }), cause: null, actor: 'test' }));
      assert.equal(lost.ok, false);
      assert.ok((await attempt(store, 'node-01', 'inspect')).ok);
    }));

    test('a transition on the version read refuses a machine that left its state and came back to it (another owner)', () => withStore(make, async (store) => {
      const [name] = await readyMachines(store, 1);
      await move(store, name!, 'allocate', { owner: 'acme' });
      const seenByAcme = (await store.getMachine(name!))!;
      await move(store, name!, 'release');
      await move(store, name!, 'allocate', { owner: 'beta' });
      const release = applyEvent(seenByAcme, 'release');
      const stale = await store.transition(withOperationPlan({ machine: name!, outcome: release, cause: null, actor: 'tenant:acme', version: seenByAcme.version }));
      assert.equal(stale.ok, false, 'allocated again, but not the machine acme decided on');
      assert.equal((await store.getMachine(name!))!.owner, 'beta');
      const now = (await store.getMachine(name!))!;
      const fresh = await store.transition(withOperationPlan({ machine: name!, outcome: applyEvent(now, 'release'), cause: null, actor: 'operator', version: now.version }));
      assert.ok(fresh.ok, 'on the version as it is, it wins');
    }));
  });
}
