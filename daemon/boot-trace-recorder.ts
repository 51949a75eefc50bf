// The boot trace as the daemon runs it (core/boot-trace.ts): one recorder per daemon that its DHCP,
// TFTP and HTTP boot servers feed, writing each batch to the store (which keeps TRACE_KEEP entries
// per machine) every 500 ms. A step whose sender the store does not know is dropped and counted
// (rackhand_boot_trace_dropped_total{reason="unknown"}), so strangers grow nothing.
import { Counter, type Registry } from 'prom-client';
import { BootTraceRecorder, TRACE_KEEP } from './core/boot-trace.js';
import type { BootTraceStore, LeaseStore, MachineStore } from './core/store/types.js';
import { machineAddresses } from './http/machine-source.js';

/** The newest an address snapshot must be before a miss is believed. */
const FRESH_MS = 1000;

/**
 * Which machine has an address on the provisioning network, as DHCP knows it (reservation, live
 * lease, assigned address: http/machine-source.ts). Read as one snapshot of machines and leases,
 * renewed at most once a second and only on a miss: a flood of strangers costs the store at most
 * one read a second, whatever it sends. `learn` adds what this server's DHCP just acknowledged, so
 * that a storm of new leases does not reread every machine once a second (BENCHMARKS.md,
 * bench/storm); at most one entry per address, and only addresses DHCP handed to known machines.
 */
export function addressBook(store: Pick<MachineStore, 'listMachines'> & Pick<LeaseStore, 'listLeases'>, now = Date.now) {
  let snapshot: { at: number; byIp: Map<string, string> } | undefined;
  let loading: Promise<Map<string, string>> | undefined;
  const load = () => (loading ??= (async () => {
    const [machines, leases] = await Promise.all([store.listMachines(), store.listLeases()]);
    const leaseOf = new Map(leases.map((l) => [l.mac, l]));
    const byIp = new Map<string, string>();
    for (const m of machines) for (const ip of machineAddresses(m, leaseOf.get(m.mac), now())) byIp.set(ip, m.name);
    snapshot = { at: now(), byIp };
    return byIp;
  })().finally(() => { loading = undefined; }));
  return {
    async resolve(ip: string): Promise<string | undefined> {
      const hit = snapshot?.byIp.get(ip);
      if (hit) return hit;
      if (snapshot && now() - snapshot.at < FRESH_MS) return undefined;
      return (await load()).get(ip);
    },
    learn(ip: string, machine: string): void {
      snapshot?.byIp.set(ip, machine);
    },
  };
}

export function startBootTrace(store: BootTraceStore & Pick<MachineStore, 'listMachines'> & Pick<LeaseStore, 'listLeases'>, registry: Registry): BootTraceRecorder {
  const dropped = new Counter({
    name: 'rackhand_boot_trace_dropped_total', labelNames: ['reason'], registers: [registry],
    help: 'Boot trace entries not kept: unknown (the sender is no machine of the store), overflow (too many waiting), write_failed',
  });
  const book = addressBook(store);
  return new BootTraceRecorder({
    write: (entries) => store.appendBootTrace(entries, TRACE_KEEP),
    resolveAddress: book.resolve,
    learnAddress: book.learn,
    dropped: (reason, n) => dropped.inc({ reason }, n),
  }).start();
}
