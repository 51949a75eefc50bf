// Names Rackhand gives things itself, and what a machine known only by its MAC starts as.
import type { MachineSpec } from './store/types.js';

/** A machine first seen by discovery is named after its MAC until an operator names it. */
export function discoveredName(mac: string): string {
  return `discovered-${mac.replace(/:/g, '')}`;
}

/** What discovery enrols for a MAC: named after it, no address, no profile, no BMC yet. */
export function discoveredSpec(mac: string): MachineSpec {
  const name = discoveredName(mac);
  return { name, mac, ip: null, hostname: name, profile: null, tags: ['discovered'], power: { driver: 'manual' } };
}
