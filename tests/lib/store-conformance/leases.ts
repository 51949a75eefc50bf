// The LeaseStore contract: one lease per MAC and one holder per address, a lease durable (seen by
// any other handle on the store) once its write resolves, a batch written all or none, and the
// two machine reads the DHCP server makes per packet. Kill -9 durability of the SQLite file is
// shown by tests/unit/crash.test.ts and tests/net/dhcp-crash.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LeaseRecord, LeaseStore, MachineStore } from '../../../daemon/core/store/types.js';
import { discoveredSpec, lease, spec, withStore, type StoreFactory } from './support.js';

type Leases = LeaseStore & MachineStore;

const byIp = (ls: LeaseRecord[]) => [...ls].sort((a, b) => a.ip.localeCompare(b.ip));

export function describeLeaseStore(name: string, make: StoreFactory<Leases>): void {
  describe(`LeaseStore: ${name}`, () => {
    test('a lease is kept whole, upserted by MAC, and an address has one holder', () => withStore(make, async (store) => {
      const full: LeaseRecord = { mac: 'aa:aa:aa:aa:aa:01', ip: '10.20.0.100', state: 'offered', expiresAt: 1_700_000_000_123, hostname: 'h1', machine: 'node-01', updatedAt: 1_700_000_000_000 };
      await store.putLease(full);
      assert.deepEqual(await store.getLease(full.mac), full);
      assert.deepEqual(await store.leaseByIp(full.ip), full);
      await store.putLease(lease(full.mac, '10.20.0.101'));
      assert.equal((await store.getLease(full.mac))?.ip, '10.20.0.101', 'the MAC\'s lease moved');
      assert.equal(await store.leaseByIp('10.20.0.100'), undefined, 'its old address is free');
      // A live holder keeps its address (another daemon's client believes it is bound) …
      const refused = await store.putLease(lease('aa:aa:aa:aa:aa:02', '10.20.0.101'));
      assert.equal(refused?.holder.mac, full.mac);
      assert.equal(refused?.lease.mac, 'aa:aa:aa:aa:aa:02');
      assert.equal((await store.leaseByIp('10.20.0.101'))?.mac, full.mac);
      assert.equal(await store.getLease('aa:aa:aa:aa:aa:02'), undefined, 'the refused lease is not written');
      // … until its lease is over: expired by the time of the write, or released.
      const later = Date.now() + 7200_000;
      assert.equal(await store.putLease(lease('aa:aa:aa:aa:aa:02', '10.20.0.101', { updatedAt: later, expiresAt: later + 3600_000 })), undefined);
      assert.equal((await store.leaseByIp('10.20.0.101'))?.mac, 'aa:aa:aa:aa:aa:02');
      assert.equal(await store.getLease(full.mac), undefined, 'the address\'s expired holder was dropped');
      await store.putLease(lease('aa:aa:aa:aa:aa:02', '10.20.0.101', { state: 'released' }));
      assert.equal(await store.putLease(lease(full.mac, '10.20.0.101')), undefined, 'a released address moves at once');
      assert.equal((await store.leaseByIp('10.20.0.101'))?.mac, full.mac);
      await store.deleteLease(full.mac);
      await store.putLease(lease('aa:aa:aa:aa:aa:02', '10.20.0.101'));
      assert.equal((await store.listLeases()).length, 1);
      await store.deleteLease('aa:aa:aa:aa:aa:02');
      await store.deleteLease('aa:aa:aa:aa:aa:99');
      assert.deepEqual(await store.listLeases(), []);
      assert.equal(await store.getLease('aa:aa:aa:aa:aa:02'), undefined);
    }));

    test('a batch is written in order: a later write wins its MAC, or an address whose lease just ended; a live one is refused alone', () => withStore(make, async (store) => {
      const conflicts = await store.putLeases([
        lease('aa:aa:aa:aa:aa:01', '10.20.0.100'), lease('aa:aa:aa:aa:aa:02', '10.20.0.102'),
        lease('aa:aa:aa:aa:aa:03', '10.20.0.100'), lease('aa:aa:aa:aa:aa:02', '10.20.0.103'),
        lease('aa:aa:aa:aa:aa:04', '10.20.0.104', { state: 'released' }), lease('aa:aa:aa:aa:aa:05', '10.20.0.104'),
      ]);
      assert.deepEqual(conflicts.map((c) => `${c.lease.mac}: ${c.holder.mac}`), ['aa:aa:aa:aa:aa:03: aa:aa:aa:aa:aa:01']);
      assert.deepEqual(byIp(await store.listLeases()).map((l) => `${l.mac}=${l.ip}`),
        ['aa:aa:aa:aa:aa:01=10.20.0.100', 'aa:aa:aa:aa:aa:02=10.20.0.103', 'aa:aa:aa:aa:aa:05=10.20.0.104']);
      assert.deepEqual(await store.putLeases([]), []);
      assert.equal((await store.listLeases()).length, 3, 'an empty batch writes nothing');
    }));

    test('a batch of distinct MACs and addresses takes addresses whose holders\' leases are over, swaps included, every field kept', () => withStore(make, async (store) => {
      await store.putLeases([lease('aa:aa:aa:aa:aa:01', '10.20.0.100', { state: 'released' }), lease('aa:aa:aa:aa:aa:02', '10.20.0.101', { state: 'released' }),
        lease('aa:aa:aa:aa:aa:04', '10.20.0.104', { expiresAt: 1_600_000_000_000 }), lease('aa:aa:aa:aa:aa:05', '10.20.0.105')]);
      const full: LeaseRecord = { mac: 'aa:aa:aa:aa:aa:03', ip: '10.20.0.104', state: 'bound', expiresAt: 1_700_000_000_123, hostname: null, machine: null, updatedAt: 1_700_000_000_000 };
      const conflicts = await store.putLeases([lease('aa:aa:aa:aa:aa:01', '10.20.0.101'), lease('aa:aa:aa:aa:aa:02', '10.20.0.100'), full, lease('aa:aa:aa:aa:aa:06', '10.20.0.105')]);
      assert.deepEqual(conflicts.map((c) => c.lease.mac), ['aa:aa:aa:aa:aa:06'], 'only the live holder keeps its address');
      assert.deepEqual(byIp(await store.listLeases()).map((l) => `${l.mac}=${l.ip}`),
        ['aa:aa:aa:aa:aa:02=10.20.0.100', 'aa:aa:aa:aa:aa:01=10.20.0.101', 'aa:aa:aa:aa:aa:03=10.20.0.104', 'aa:aa:aa:aa:aa:05=10.20.0.105']);
      assert.deepEqual(await store.getLease(full.mac), full);
      // Fresh addresses in one batch (the storm's case): all written.
      assert.deepEqual(await store.putLeases([lease('aa:aa:aa:aa:aa:07', '10.20.0.107'), lease('aa:aa:aa:aa:aa:08', '10.20.0.108')]), []);
      assert.equal((await store.leaseByIp('10.20.0.108'))?.mac, 'aa:aa:aa:aa:aa:08');
    }));

    test('a batch is all or none: one write refused, none of it stays and what was there is untouched', () => withStore(make, async (store) => {
      const kept = lease('aa:aa:aa:aa:aa:01', '10.20.0.100');
      await store.putLease(kept);
      const broken = { ...lease('aa:aa:aa:aa:aa:03', '10.20.0.103'), ip: null } as unknown as LeaseRecord;
      await assert.rejects(store.putLeases([lease('aa:aa:aa:aa:aa:02', '10.20.0.102'), lease('aa:aa:aa:aa:aa:01', '10.20.0.150'), broken]));
      assert.deepEqual(await store.listLeases(), [kept]);
    }));

    test('a lease is durable once its write resolves: another handle on the store sees it, and after a reopen', () => withStore(make, async (store, more) => {
      await store.putLease(lease('aa:aa:aa:aa:aa:01', '10.20.0.100'));
      await store.putLeases([lease('aa:aa:aa:aa:aa:02', '10.20.0.102'), lease('aa:aa:aa:aa:aa:03', '10.20.0.103')]);
      const other = await more();
      assert.deepEqual(byIp(await other.listLeases()).map((l) => l.mac), ['aa:aa:aa:aa:aa:01', 'aa:aa:aa:aa:aa:02', 'aa:aa:aa:aa:aa:03']);
      await other.deleteLease('aa:aa:aa:aa:aa:02');
      assert.equal(await store.getLease('aa:aa:aa:aa:aa:02'), undefined, 'and a delete too');
    }));

    test('reserved addresses: those of live machines, none for a machine without one or a retired one', () => withStore(make, async (store) => {
      assert.deepEqual(await store.reservedIps(), []);
      await store.syncInventory([spec(1), spec(2), spec(3, { ip: null })], 'test');
      await store.enrolDiscovered(discoveredSpec('52:54:00:aa:00:01'));
      assert.deepEqual((await store.reservedIps()).sort(), ['10.20.0.11', '10.20.0.12']);
      await store.syncInventory([spec(1), spec(3, { ip: null })], 'test');
      assert.deepEqual(await store.reservedIps(), ['10.20.0.11'], 'retired: its address is free');
    }));

    test('a machine as DHCP sees it: six fields, by MAC in any case, live machines only', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      const d = await store.enrolDiscovered(discoveredSpec('52:54:00:aa:00:01'));
      assert.deepEqual({ ...(await store.machineBriefByMac(spec(1).mac.toUpperCase())) },
        { name: 'node-01', mac: spec(1).mac, ip: '10.20.0.11', hostname: 'node-01', state: 'enrolled', source: 'inventory' });
      assert.deepEqual({ ...(await store.machineBriefByMac(d.mac)) },
        { name: d.name, mac: d.mac, ip: null, hostname: d.name, state: 'enrolled', source: 'discovered' });
      assert.equal(await store.machineBriefByMac('02:00:00:00:00:00'), undefined);
      await store.syncInventory([], 'test');
      assert.equal(await store.machineBriefByMac(spec(1).mac), undefined, 'retired');
    }));
  });
}
