// What the DHCP server needs from the rest of Rackhand, and nothing more: machines by MAC, the set of
// reserved addresses, discovery enrolment, boot facts, and leases. Plain data; "not found" is
// undefined. storeBackend() adapts the store's lease port (and the few machine calls discovery
// needs), caching what every packet reads; memoryBackend() serves unit tests. What an enrolment
// sets in motion (inspection) is handed in by whoever wires the daemon, as a hook.
import { discoveredName, discoveredSpec } from '../core/names.js';
import type { State } from '../core/lifecycle.js';
import type { BootFacts, LeaseConflict, LeaseRecord, LeaseStore, MachineRecord, MachineStore } from '../core/store/types.js';
import { holderKeeps } from '../core/store/lease-guard.js';
import { isConnectionFailure, StoreUnavailable, type StoreAvailabilityView } from '../core/store/availability.js';

export interface DhcpMachine {
  name: string;
  mac: string;
  /** Static reservation from the inventory, if any. */
  ip: string | null;
  hostname: string;
  state: State;
  /** Absent means inventory (unit tests' machines). Discovered machines get a capped share of a pool. */
  source?: 'inventory' | 'discovered';
  /** Boots the signed shim → GRUB chain instead of iPXE (from the inventory, not the store). */
  secureBoot?: boolean;
}

/** What the gate refused since its last summary (see enrol-gate.ts). */
export interface DiscoveryRefusals {
  counts: Record<string, number>;
  lastMac: string;
  intervalMs: number;
}

export interface DhcpBackend {
  machineByMac(mac: string): Promise<DhcpMachine | undefined>;
  /** Every address reserved by a machine: the pool never hands these out. */
  reservedIps(): Promise<ReadonlySet<string>>;
  /**
   * Enrols an unknown PXE client (or returns the machine the MAC already is) and, if it is a
   * discovered machine still merely enrolled, starts its inspection.
   */
  enrolDiscovered(mac: string, cause: string): Promise<DhcpMachine>;
  /** Discovered machines that no operator has accepted yet. */
  countPendingDiscovered(): Promise<number>;
  /** One record of refused enrolments (an event), at most once per gate interval. */
  noteDiscoveryRefused(r: DiscoveryRefusals): Promise<void>;
  recordBootFacts(name: string, facts: BootFacts): Promise<void>;
  listLeases(): Promise<LeaseRecord[]>;
  /**
   * Durable when the promise resolves; one transaction for all. Leases whose address another MAC
   * holds live (another daemon wrote it) are not written: they come back as conflicts.
   */
  putLeases(leases: LeaseRecord[]): Promise<LeaseConflict[]>;
  deleteLease(mac: string): Promise<void>;
  /** Drops what the backend remembers of `mac` (a forgotten machine); optional for test backends. */
  forgetMac?(mac: string): void;
  /** False while the store is known to be away (no write is tried then); absent: always there. */
  storeAvailable?(): boolean;
}

/** `discovered-525400000101`: a stable name for a machine first seen by PXE. */
export { discoveredName };

function view(m: { name: string; mac: string; ip: string | null; hostname: string; state: State; source: 'inventory' | 'discovered' }): DhcpMachine {
  return { name: m.name, mac: m.mac, ip: m.ip, hostname: m.hostname, state: m.state, source: m.source };
}

export interface StoreBackendOptions {
  ttlMs?: number;
  /**
   * Starts the inspection of a discovered machine that DHCP just enrolled (enrolled → inspecting,
   * through the core's lifecycle), so the iPXE script it asks for next boots the agent. Returns
   * the machine after; without it, discovered machines stay enrolled until an operator acts.
   */
  startInspection?: (name: string, cause: string) => Promise<MachineRecord | undefined>;
  /** The rack whose segment this server answers: a machine it discovers belongs there. */
  rack?: string | null;
  /** Whether the named machine boots the Secure Boot chain (the inventory's secure_boot, as it is now). */
  secureBoot?: (name: string) => boolean;
}

/** The part of the store DHCP uses: its lease port, and discovery's few machine calls. */
export type DhcpStore = LeaseStore & Pick<MachineStore, 'enrolDiscovered' | 'countPendingDiscovered' | 'appendEvent' | 'recordBootFacts'>
  & { availability?: StoreAvailabilityView };

/**
 * The store seen through DhcpBackend. Machine lookups are cached for `ttlMs` (unknown MACs too):
 * at thousands of packets a second the inventory is read far more often than it changes, and a
 * change reaching DHCP a second or two later is harmless.
 */
export function storeBackend(store: DhcpStore, opts: StoreBackendOptions = {}): DhcpBackend {
  const ttl = opts.ttlMs ?? 3000;
  const machines = new Map<string, { at: number; m: DhcpMachine | undefined }>();
  let reserved: { at: number; ips: ReadonlySet<string> } | undefined;
  let refreshing: Promise<ReadonlySet<string>> | undefined;
  const loadReserved = () => {
    // One query in flight at a time, however many packets ask meanwhile.
    refreshing ??= store.reservedIps().then((list) => {
      const ips = new Set(list);
      reserved = { at: Date.now(), ips };
      return ips;
    }).finally(() => { refreshing = undefined; });
    return refreshing;
  };
  const available = () => store.availability?.available !== false;
  const withSecureBoot = (m: DhcpMachine): DhcpMachine => (opts.secureBoot?.(m.name) ? { ...m, secureBoot: true } : m);
  return {
    async machineByMac(mac) {
      const now = Date.now();
      const hit = machines.get(mac);
      // While the store is away, what it said last stands, however old (machines known before the
      // outage keep renewing); a MAC it never told us about waits for it.
      if (hit && (now - hit.at < ttl || !available())) return hit.m;
      if (!available()) throw new StoreUnavailable(`MAC ${mac} is not in the cache`);
      let m: DhcpMachine | undefined;
      try {
        const brief = await store.machineBriefByMac(mac);
        m = brief && withSecureBoot(brief);
      } catch (err) {
        if (hit && isConnectionFailure(err)) return hit.m;
        throw err;
      }
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
    async enrolDiscovered(mac, cause) {
      let rec = await store.enrolDiscovered(discoveredSpec(mac, opts.rack ?? null));
      if (rec.source === 'discovered' && rec.state === 'enrolled' && opts.startInspection) {
        rec = (await opts.startInspection(rec.name, cause)) ?? rec;
      }
      const m = withSecureBoot(view(rec));
      machines.set(mac, { at: Date.now(), m });
      return m;
    },
    countPendingDiscovered: () => store.countPendingDiscovered(),
    async noteDiscoveryRefused(r) {
      const parts = Object.entries(r.counts).filter(([, n]) => n > 0).map(([why, n]) => `${n} ${why === 'discovery_rate' ? 'over site.discovery.per_minute' : 'over site.discovery.max_pending'}`);
      await store.appendEvent({
        machine: null, kind: 'note', event: 'discovery_refused', actor: 'system',
        cause: `discovery refused to enrol unknown PXE clients: ${parts.join(', ')} (last ${r.lastMac}); told at most once every ${Math.round(r.intervalMs / 1000)} s`,
        data: { counts: r.counts, last_mac: r.lastMac },
      });
    },
    recordBootFacts: (name, facts) => store.recordBootFacts(name, facts),
    listLeases: () => store.listLeases(),
    putLeases: (leases) => store.putLeases(leases),
    deleteLease: (mac) => store.deleteLease(mac),
    forgetMac(mac) { machines.delete(mac); },
    storeAvailable: available,
  };
}

/** An in-memory backend for unit tests: exposes its maps so a test can look inside. */
export function memoryBackend(initial: DhcpMachine[] = []) {
  const machines = new Map(initial.map((m) => [m.mac, m]));
  const leases = new Map<string, LeaseRecord>();
  const bootFacts = new Map<string, BootFacts>();
  const refusals: DiscoveryRefusals[] = [];
  const backend: DhcpBackend = {
    async machineByMac(mac) { return machines.get(mac); },
    async reservedIps() { return new Set([...machines.values()].map((m) => m.ip).filter((ip): ip is string => !!ip)); },
    async enrolDiscovered(mac) {
      const spec = discoveredSpec(mac);
      const m: DhcpMachine = machines.get(mac) ?? { name: spec.name, mac, ip: spec.ip, hostname: spec.hostname, state: 'enrolled', source: 'discovered' };
      machines.set(mac, m);
      return m;
    },
    async countPendingDiscovered() { return [...machines.values()].filter((m) => m.source === 'discovered').length; },
    async noteDiscoveryRefused(r) { refusals.push(r); },
    async recordBootFacts(name, facts) { bootFacts.set(name, facts); },
    async listLeases() { return [...leases.values()]; },
    async putLeases(list) {
      const conflicts: LeaseConflict[] = [];
      for (const l of list) {
        const holder = [...leases.values()].find((other) => other.ip === l.ip && other.mac !== l.mac);
        if (holder && holderKeeps(holder, l)) { conflicts.push({ lease: l, holder }); continue; }
        if (holder) leases.delete(holder.mac);
        leases.set(l.mac, { ...l });
      }
      return conflicts;
    },
    async deleteLease(mac) { leases.delete(mac); },
  };
  return { backend, machines, leases, bootFacts, refusals };
}
