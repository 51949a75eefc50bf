// Where a machine may fetch its boot secrets from: its own address on the provisioning network,
// as Rackhand knows it from DHCP (machineAddresses below says which addresses count). Nothing a
// request says about itself counts: only the TCP peer address, which a machine on the network
// cannot forge for a connection without taking the address over (docs/security.md).
import type { Request } from 'express';
import type { LeaseRecord, LeaseStore, MachineRecord } from '../core/store/types.js';

/** The request's TCP peer, IPv4-mapped IPv6 written as plain IPv4. Never X-Forwarded-For. */
export function sourceOf(req: Request): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/**
 * The addresses a machine has on the provisioning network. Pure. What Rackhand knows for itself —
 * the reservation, a lease its DHCP server handed out, an address it assigned in the latest
 * exchange — is the machine's. Only when it knows none (proxy mode without a reservation) does
 * the address its latest proxyDHCP exchange came from count: anyone claiming the machine's MAC
 * can send that, so it never adds to a known address.
 */
export function machineAddresses(machine: Pick<MachineRecord, 'ip' | 'bootFacts'>, lease: LeaseRecord | undefined, now: number): string[] {
  const known = new Set<string>();
  if (machine.ip) known.add(machine.ip);
  if (lease && (lease.state === 'bound' || lease.state === 'offered') && lease.expiresAt > now) known.add(lease.ip);
  const seen = machine.bootFacts?.ip;
  // Boot facts written before ipAssigned existed came from full mode's assignments or proxy mode's ciaddr alike: claimed.
  if (seen && (machine.bootFacts?.ipAssigned === true || known.size === 0)) known.add(seen);
  return [...known];
}

/** True when `source` is one of the machine's own addresses. */
export async function isMachineSource(store: Pick<LeaseStore, 'getLease'>, machine: MachineRecord, source: string): Promise<boolean> {
  if (!source) return false;
  if (machine.ip === source) return true; // the common case, without a lease lookup
  return machineAddresses(machine, await store.getLease(machine.mac), Date.now()).includes(source);
}
