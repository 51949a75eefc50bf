// Machine specs for tests.
import type { MachineSpec } from '../../daemon/core/store/types.js';

export function spec(n: number, over: Partial<MachineSpec> = {}): MachineSpec {
  const hex = n.toString(16).padStart(2, '0');
  return {
    name: `node-${String(n).padStart(2, '0')}`,
    mac: `52:54:00:00:01:${hex}`,
    ip: `10.20.0.${10 + n}`,
    hostname: `node-${String(n).padStart(2, '0')}`,
    profile: 'lab-image',
    tags: [],
    power: { driver: 'manual' },
    ...over,
  };
}

/** The MAC of simulated machine n in the boot storm (tests/lib/storm.ts, tests/lib/storm-client.ts). */
export const stormMac = (n: number) => `02:00:00:10:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
