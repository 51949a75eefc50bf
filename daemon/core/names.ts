// Names Rackhand gives things itself, and what a machine known only by its MAC starts as.
import type { MachineSpec } from './store/types.js';

/** A machine first seen by discovery is named after its MAC until an operator names it. */
export function discoveredName(mac: string): string {
  return `discovered-${mac.replace(/:/g, '')}`;
}

/** What discovery enrols for a MAC: named after it, no address, no profile, no BMC yet; the rack that heard it, if any. */
export function discoveredSpec(mac: string, rack: string | null = null): MachineSpec {
  const name = discoveredName(mac);
  return { name, rack, mac, ip: null, hostname: name, profile: null, tags: ['discovered'], power: { driver: 'manual' } };
}
