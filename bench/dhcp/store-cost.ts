// How long the store calls on the DHCP path take with N machines (each blocks the event loop:
// better-sqlite3 is synchronous). Run: node --import tsx bench/dhcp/store-cost.ts [N]
import { rmSync } from 'node:fs';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { perfdhcpMacs } from '../../tests/lib/perfdhcp.js';

const N = Number(process.argv[2] ?? 5000);
const file = `/tmp/rh-store-cost-${process.pid}.db`;
const store = await openSqliteStore(file);
const macs = perfdhcpMacs(N);
await store.syncInventory(macs.map((mac, i) => ({ name: `p${i}`, mac, ip: null, hostname: `p${i}`, profile: null, tags: [], power: { driver: 'manual' } })), 't');
const time = async (what: string, n: number, f: (i: number) => Promise<unknown>) => {
  const t = performance.now();
  for (let i = 0; i < n; i++) await f(i);
  const dt = performance.now() - t;
  console.log(`${what.padEnd(34)} ${(dt / n * 1000).toFixed(1).padStart(8)} µs per call`);
};
await time('listMachines()', 10, () => store.listMachines());
await time('machineByMac()', 5000, (i) => store.machineByMac(macs[i % N]!));
await time('recordBootFacts()', 2000, (i) => store.recordBootFacts(`p${i % N}`, { arch: 7, seenAt: new Date().toISOString() }));
const lease = (i: number) => ({ mac: macs[i % N]!, ip: `10.20.${1 + (i >> 8)}.${i & 255}`, state: 'bound' as const, expiresAt: Date.now() + 3600e3, hostname: null, machine: `p${i % N}`, updatedAt: Date.now() });
await time('putLease() (one transaction each)', 2000, (i) => store.putLease(lease(i)));
await time('putLeases() of 100, per lease', 20, async (b) => { await store.putLeases(Array.from({ length: 100 }, (_, j) => lease(b * 100 + j))); });
console.log('(putLeases line is per batch of 100)');
await store.close();
rmSync(file, { force: true }); rmSync(`${file}-wal`, { force: true }); rmSync(`${file}-shm`, { force: true });
