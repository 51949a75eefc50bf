// Where a machine may fetch its boot secrets from: its own address on the provisioning network,
// as Rackhand knows it from DHCP — its reservation, its lease, or the address of its latest DHCP
// or proxyDHCP exchange (boot facts). Nothing a request says about itself counts: only the TCP
// peer address, which a machine on the network cannot forge for a connection.
import type { Request } from 'express';
import type { LeaseRecord, MachineRecord, Store } from '../core/store/types.js';

/** The request's TCP peer, IPv4-mapped IPv6 written as plain IPv4. Never X-Forwarded-For. */
export function sourceOf(req: Request): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** The addresses a machine has on the provisioning network. Pure. */
export function machineAddresses(machine: Pick<MachineRecord, 'ip' | 'bootFacts'>, lease: LeaseRecord | undefined, now: number): string[] {
  const out = new Set<string>();
  if (machine.ip) out.add(machine.ip);
  if (machine.bootFacts?.ip) out.add(machine.bootFacts.ip);
  if (lease && (lease.state === 'bound' || lease.state === 'offered') && lease.expiresAt > now) out.add(lease.ip);
  return [...out];
}

/** True when `source` is one of the machine's own addresses. */
export async function isMachineSource(store: Store, machine: MachineRecord, source: string): Promise<boolean> {
  if (!source) return false;
  if (machine.ip === source || machine.bootFacts?.ip === source) return true;
  const lease = await store.getLease(machine.mac);
  return machineAddresses(machine, lease, Date.now()).includes(source);
}
