// The RackStore and WorkStore contracts: a rack is served by one daemon at a time (a second is
// refused until the first falls silent or stops), silence is measured by the store's clock; a
// transition that starts an operation enqueues its boot in the same transaction; a claim is held
// by one daemon until it lapses, a lapsed claim passes to another, and a daemon that lost its
// claim can no longer write to it; a takeover is enqueued once per operation and silent daemon.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MachineStore, OperationStore, RackStore, WorkStore } from '../../../daemon/core/store/types.js';
import { move, spec, withStore, type StoreFactory } from './support.js';

type Racks = RackStore & WorkStore & MachineStore & OperationStore;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const racked = (i: number, rack: string | null) => ({ ...spec(i), rack });

export function describeRackStore(name: string, make: StoreFactory<Racks>): void {
  describe(`RackStore and WorkStore: ${name}`, () => {
    test('one daemon per rack: a second is refused while the first is heard, and takes over once it is silent or stopped', () => withStore(make, async (store, more) => {
      const other = await more();
      assert.deepEqual(await store.heartbeat('rack-a', 'daemon-1', { api: '10.0.0.1:8080' }, 2), { ok: true });
      assert.deepEqual(await store.heartbeat('rack-a', 'daemon-1', { api: '10.0.0.1:8080' }, 2), { ok: true }, 'the holder heartbeats again');
      const refused = await other.heartbeat('rack-a', 'daemon-2', {}, 2);
      assert.equal(refused.ok, false);
      assert.equal(!refused.ok && refused.holder, 'daemon-1');
      assert.deepEqual(await other.heartbeat('rack-b', 'daemon-2', { api: '10.0.0.2:8080' }, 2), { ok: true });
      const racks = await store.listRacks();
      assert.deepEqual(racks.map((r) => [r.name, r.daemon]), [['rack-a', 'daemon-1'], ['rack-b', 'daemon-2']]);
      assert.deepEqual(racks[0]!.info, { api: '10.0.0.1:8080' });
      assert.ok(racks[0]!.silentFor >= 0 && racks[0]!.silentFor < 2, `silent for ${racks[0]!.silentFor}`);
      await sleep(2200);
      assert.ok((await store.listRacks())[0]!.silentFor >= 2);
      assert.deepEqual(await other.heartbeat('rack-a', 'daemon-3', {}, 2), { ok: true }, 'a silent rack is taken over');
      assert.equal((await store.listRacks())[0]!.daemon, 'daemon-3');
      await other.rackStopped('rack-a', 'daemon-1');
      assert.equal((await store.listRacks())[0]!.stoppedAt, null, 'only the holder marks its stop');
      await other.rackStopped('rack-a', 'daemon-3');
      assert.notEqual((await store.listRacks())[0]!.stoppedAt, null);
      assert.deepEqual(await store.heartbeat('rack-a', 'daemon-4', {}, 60), { ok: true }, 'a stopped rack is free at once');
    }));

    test('an operation\'s boot is enqueued with its transition; claims go to one daemon, by rack, until they lapse', () => withStore(make, async (store, more) => {
      const other = await more();
      await store.syncInventory([racked(1, 'rack-a'), racked(2, 'rack-b'), racked(3, null)], 'test');
      const started = await move(store, 'node-01', 'inspect');
      await move(store, 'node-02', 'inspect');
      await move(store, 'node-03', 'inspect');
      const open = await store.listOpenWork();
      assert.deepEqual(open.map((w) => [w.machine, w.kind, w.operation]), [
        ['node-01', 'boot', started.operation!.id], ['node-02', 'boot', open[1]!.operation], ['node-03', 'boot', open[2]!.operation]]);
      const a = await store.claimWork({ racks: ['rack-a'], daemon: 'd1', leaseSeconds: 2, limit: 10 });
      assert.deepEqual(a.map((w) => w.machine), ['node-01']);
      assert.equal(a[0]!.claimedBy, 'd1');
      assert.equal(a[0]!.attempts, 1);
      assert.deepEqual(await other.claimWork({ racks: ['rack-a', 'rack-b', null], daemon: 'd2', leaseSeconds: 30, limit: 10 }).then((ws) => ws.map((w) => w.machine)),
        ['node-02', 'node-03'], 'a held claim is not taken; the unracked machine goes with null');
      assert.equal(await store.markWorkStep(a[0]!.id, 'd1', 'power_sent'), true);
      assert.equal(await store.extendClaim(a[0]!.id, 'd1', 2), true);
      await sleep(2300);
      const lapsed = await other.claimWork({ racks: ['rack-a'], daemon: 'd2', leaseSeconds: 30, limit: 10 });
      assert.deepEqual(lapsed.map((w) => [w.machine, w.step, w.attempts]), [['node-01', 'power_sent', 2]], 'the lapsed claim passes on with its step');
      assert.equal(await store.extendClaim(a[0]!.id, 'd1', 30), false, 'the first daemon lost it');
      assert.equal(await store.finishWork(a[0]!.id, 'd1', 'done'), false);
      assert.equal(await other.finishWork(a[0]!.id, 'd2', 'booted'), true);
      assert.equal(await other.finishWork(a[0]!.id, 'd2', 'booted'), false, 'finished once');
      assert.deepEqual((await store.listOpenWork()).map((w) => w.machine), ['node-02', 'node-03']);
    }));

    test('countByRack and openWorkByRack: grouped by rack (null: no rack), live machines only', () => withStore(make, async (store) => {
      const specs = [racked(1, 'rack-a'), racked(2, 'rack-a'), racked(3, 'rack-b'), racked(4, null), racked(5, 'rack-b')];
      await store.syncInventory(specs, 'test');
      await move(store, 'node-01', 'inspect');
      await move(store, 'node-03', 'inspect');
      await move(store, 'node-05', 'inspect');
      await store.syncInventory(specs.slice(0, 4), 'test'); // node-05 leaves: retired, its work no rack's
      const key = (r: { rack: string | null; state?: string }) => `${r.rack ?? ''}/${r.state ?? ''}`;
      const sorted = <T extends { rack: string | null; state?: string }>(xs: T[]) => [...xs].sort((a, b) => key(a).localeCompare(key(b)));
      assert.deepEqual(sorted(await store.countByRack()), [
        { rack: null, state: 'enrolled', n: 1 }, { rack: 'rack-a', state: 'enrolled', n: 1 },
        { rack: 'rack-a', state: 'inspecting', n: 1 }, { rack: 'rack-b', state: 'inspecting', n: 1 }]);
      assert.deepEqual(sorted(await store.openWorkByRack()), [{ rack: 'rack-a', n: 1 }, { rack: 'rack-b', n: 1 }]);
    }));

    test('racing claimers split the work: no item twice', () => withStore(make, async (store, more) => {
      const others = [store, await more(), await more()];
      await store.syncInventory(Array.from({ length: 12 }, (_, i) => racked(i + 1, 'rack-a')), 'test');
      for (let i = 1; i <= 12; i++) await move(store, `node-${String(i).padStart(2, '0')}`, 'inspect');
      const got = await Promise.all(others.flatMap((s, i) => [1, 2].map((j) => s.claimWork({ racks: ['rack-a'], daemon: `d${i}-${j}`, leaseSeconds: 30, limit: 3 }))));
      const ids = got.flat().map((w) => w.id);
      assert.equal(new Set(ids).size, ids.length, 'no item claimed twice');
      assert.equal(ids.length, 12, 'every item claimed by someone');
    }));

    test('takeovers: once per running operation and silent daemon, and only where the boot is done', () => withStore(make, async (store, more) => {
      const other = await more();
      await store.syncInventory([racked(1, 'rack-a'), racked(2, 'rack-a'), racked(3, 'rack-b')], 'test');
      for (const n of ['node-01', 'node-02', 'node-03']) await move(store, n, 'inspect');
      const [w1] = await store.claimWork({ racks: ['rack-a'], daemon: 'd1', leaseSeconds: 30, limit: 1 });
      assert.equal(w1!.machine, 'node-01');
      await store.finishWork(w1!.id, 'd1', 'booted');
      const [t1, t2] = await Promise.all([store.enqueueTakeovers('rack-a', 'd1'), other.enqueueTakeovers('rack-a', 'd1')]);
      const all = [...t1, ...t2];
      assert.deepEqual(all.map((w) => [w.machine, w.kind]), [['node-01', 'takeover']], 'node-02\'s boot is still open: it is claimed again, not taken over');
      assert.deepEqual(await store.enqueueTakeovers('rack-a', 'd1'), [], 'once per silent daemon');
      assert.deepEqual(await store.enqueueTakeovers('rack-a', 'd9'), [], 'only where the silent daemon did the last boot');
      const [t] = await other.claimWork({ racks: ['rack-a'], daemon: 'd2', leaseSeconds: 30, limit: 5 }).then((ws) => ws.filter((w) => w.kind === 'takeover'));
      await other.finishWork(t!.id, 'd2', 'booted');
      assert.deepEqual(await store.enqueueTakeovers('rack-a', 'd1'), [], 'the standby booted it since');
      assert.equal((await store.enqueueTakeovers('rack-a', 'd2')).length, 1, 'a later silence of the standby is another takeover');
      assert.ok(await store.pruneWork(new Date(Date.now() + 1000).toISOString()) >= 1, 'finished work is pruned');
    }));
  });
}
