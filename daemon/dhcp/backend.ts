// What the DHCP server needs from the rest of Rackhand, and nothing more: machines by MAC, the set of
// reserved addresses, discovery enrolment, boot facts, and leases. Plain data; "not found" is
// undefined. storeBackend() adapts the core Store; memoryBackend() serves unit tests.
import { discoveredName } from '../core/names.js';
import type { State } from '../core/lifecycle.js';
import type { BootFacts, LeaseRecord, Store } from '../core/store/types.js';

export interface DhcpMachine {
  name: string;
  mac: string;
  /** Static reservation from the inventory, if any. */
  ip: string | null;
  hostname: string;
  state: State;
}

export interface DhcpBackend {
  machineByMac(mac: string): Promise<DhcpMachine | undefined>;
  /** Every address reserved by a machine: the pool never hands these out. */
  reservedIps(): Promise<ReadonlySet<string>>;
  enrolDiscovered(mac: string): Promise<DhcpMachine>;
  recordBootFacts(name: string, facts: BootFacts): Promise<void>;
  listLeases(): Promise<LeaseRecord[]>;
  /** Durable when the promise resolves; one transaction for all. */
  putLeases(leases: LeaseRecord[]): Promise<void>;
  deleteLease(mac: string): Promise<void>;
}

/** `discovered-525400000101`: a stable name for a machine first seen by PXE. */
export { discoveredName };

function view(m: { name: string; mac: string; ip: string | null; hostname: string; state: State }): DhcpMachine {
  return { name: m.name, mac: m.mac, ip: m.ip, hostname: m.hostname, state: m.state };
}

/**
 * The Store seen through DhcpBackend. Machine lookups are cached for `ttlMs` (unknown MACs too):
 * at thousands of packets a second the inventory is read far more often than it changes, and a
 * change reaching DHCP a second or two later is harmless.
 */
export function storeBackend(store: Store, opts: { ttlMs?: number } = {}): DhcpBackend {
  const ttl = opts.ttlMs ?? 3000;
  const reservedQuery = reservedIpsQuery(store);
  const byMac = machineByMacQuery(store);
  const machines = new Map<string, { at: number; m: DhcpMachine | undefined }>();
  let reserved: { at: number; ips: ReadonlySet<string> } | undefined;
  let refreshing: Promise<ReadonlySet<string>> | undefined;
  const loadReserved = () => {
    // One query in flight at a time, however many packets ask meanwhile.
    refreshing ??= reservedQuery().then((list) => {
      const ips = new Set(list);
      reserved = { at: Date.now(), ips };
      return ips;
    }).finally(() => { refreshing = undefined; });
    return refreshing;
  };
  return {
    async machineByMac(mac) {
      const now = Date.now();
      const hit = machines.get(mac);
      if (hit && now - hit.at < ttl) return hit.m;
      const m = await byMac(mac);
      if (machines.size > 100_000) machines.clear();
      machines.set(mac, { at: now, m });
      return m;
    },
    async reservedIps() {
      if (!reserved) return loadReserved();
      // Stale-while-revalidate: the answer of up to one refresh ago, never a wait on the hot path.
      if (Date.now() - reserved.at >= ttl) void loadReserved().catch(() => undefined);
      return reserved.ips;
    },
    async enrolDiscovered(mac) {
      const rec = await store.enrolDiscovered({
        name: discoveredName(mac), mac, ip: null, hostname: discoveredName(mac), profile: null, tags: ['discovered'],
        power: { driver: 'manual' },
      });
      const m = view(rec);
      machines.set(mac, { at: Date.now(), m });
      return m;
    },
    recordBootFacts: (name, facts) => store.recordBootFacts(name, facts),
    listLeases: () => store.listLeases(),
    putLeases: (leases) => store.putLeases(leases),
    deleteLease: (mac) => store.deleteLease(mac),
  };
}

interface SqliteLike {
  db?: { prepare(sql: string): { pluck(): { all(): unknown[] }; get(...args: unknown[]): unknown } };
}

/**
 * Machine by MAC. Store.machineByMac() prepares its statement and parses every column on each call
 * (about 50 µs); DHCP needs five columns, read with one prepared statement on the SQLite store.
 */
function machineByMacQuery(store: Store): (mac: string) => Promise<DhcpMachine | undefined> {
  const db = (store as unknown as SqliteLike).db;
  if (db) {
    const stmt = db.prepare('SELECT name, mac, ip, hostname, state FROM machines WHERE mac = ? AND retired_at IS NULL');
    return async (mac) => stmt.get(mac.toLowerCase()) as DhcpMachine | undefined;
  }
  return async (mac) => {
    const rec = await store.machineByMac(mac);
    return rec && view(rec);
  };
}

/**
 * The reserved addresses. The Store has no query for them, and listMachines() parses every row
 * (60 ms for 5,000 machines, a stall that costs datagrams): on the SQLite store one indexed column
 * is read directly (about 1 ms); any other store goes through listMachines().
 */
function reservedIpsQuery(store: Store): () => Promise<string[]> {
  const db = (store as unknown as SqliteLike).db;
  if (db) {
    const stmt = db.prepare('SELECT ip FROM machines WHERE ip IS NOT NULL AND retired_at IS NULL').pluck();
    return async () => stmt.all() as string[];
  }
  return async () => (await store.listMachines()).map((m) => m.ip).filter((ip): ip is string => !!ip);
}

/** An in-memory backend for unit tests: exposes its maps so a test can look inside. */
export function memoryBackend(initial: DhcpMachine[] = []) {
  const machines = new Map(initial.map((m) => [m.mac, m]));
  const leases = new Map<string, LeaseRecord>();
  const bootFacts = new Map<string, BootFacts>();
  const backend: DhcpBackend = {
    async machineByMac(mac) { return machines.get(mac); },
    async reservedIps() { return new Set([...machines.values()].map((m) => m.ip).filter((ip): ip is string => !!ip)); },
    async enrolDiscovered(mac) {
      const m: DhcpMachine = machines.get(mac) ?? { name: discoveredName(mac), mac, ip: null, hostname: discoveredName(mac), state: 'enrolled' };
      machines.set(mac, m);
      return m;
    },
    async recordBootFacts(name, facts) { bootFacts.set(name, facts); },
    async listLeases() { return [...leases.values()]; },
    async putLeases(list) {
      for (const l of list) {
        for (const [mac, other] of leases) if (other.ip === l.ip && mac !== l.mac) leases.delete(mac);
        leases.set(l.mac, { ...l });
      }
    },
    async deleteLease(mac) { leases.delete(mac); },
  };
  return { backend, machines, leases, bootFacts };
}
