// The lab with racks (`rackhand lab up --racks 2`): two provisioning segments in the one lab
// namespace, a bridge each (prov0 for rack-a, prov1 for rack-b), one daemon per rack inside the
// namespace (rack-a's API on 8080, rack-b's on 8081, both on 0.0.0.0 so the host reaches them
// through the API veth), both on the lab's PostgreSQL. Each rack is the other's standby, and each
// has an address on the other's bridge (x.x.x.2) for its secondary DHCP/TFTP listener there.
// The BMCs stay on the namespace's loopback, so either daemon reaches every machine's BMC.
import { join } from 'node:path';
import type { LabConfig, LabMachine, LabRack } from './types.js';

export const LAB_RACKS: readonly LabRack[] = [
  { name: 'rack-a', bridge: 'prov0', net: '10.20.0', port: 8080 },
  { name: 'rack-b', bridge: 'prov1', net: '10.21.0', port: 8081 },
];

/** A rack daemon's own address on its bridge (.1) and its secondary address on another rack's (.2). */
export const rackAddress = (r: LabRack) => `${r.net}.1`;
export const secondaryAddress = (on: LabRack) => `${on.net}.2`;

/** Seconds without a heartbeat before a lab rack counts as silent: short, so a takeover is quick to try. */
export const LAB_RACK_SILENT_AFTER = 10;

/** Each rack's standby: the next rack round the ring (two racks: each other's). */
export const standbyOf = (racks: readonly LabRack[], i: number): LabRack => racks[(i + 1) % racks.length]!;

/** The lab's racks, `count` of them (2: rack-a and rack-b). */
export function labRacks(count: number): LabRack[] {
  if (count < 2 || count > LAB_RACKS.length) throw new Error(`the lab has 2 racks at most (asked for ${count})`);
  return LAB_RACKS.slice(0, count);
}

/**
 * Machine n (from 1) in a racked lab: odd ones on rack-a's bridge, even ones on rack-b's. Within
 * a rack they alternate BIOS behind IPMI and UEFI behind Redfish, so from 4 machines up every
 * rack has both kinds.
 */
export function rackedMachine(dir: string, racks: readonly LabRack[], n: number, redfishPort: number): LabMachine {
  const rack = racks[(n - 1) % racks.length]!;
  const inRack = Math.ceil(n / racks.length);
  const uefi = inRack % 2 === 0;
  const id = String(n).padStart(2, '0');
  return {
    name: `node-${id}`, mac: `52:54:00:00:01:${n.toString(16).padStart(2, '0')}`, ip: `${rack.net}.${10 + n}`,
    tap: `tap${n}`, bridge: rack.bridge, rack: rack.name, disk: join(dir, `node-${id}.raw`),
    firmware: uefi ? 'uefi' : 'bios', bmc: uefi ? 'redfish' : 'ipmi', bmcPort: uefi ? redfishPort : 9000 + n, serialPort: 9100 + n,
  };
}

/** The bridges of a racked lab and the addresses each carries (its rack's, then the other racks' secondaries). */
export function rackBridges(racks: readonly LabRack[]): { name: string; addresses: string[] }[] {
  // Two racks at most, so each segment has one secondary: the other rack's.
  return racks.map((r) => ({ name: r.bridge, addresses: [rackAddress(r), secondaryAddress(r)] }));
}

/** The inventory's `racks:` section for a racked lab. */
export function racksInventory(c: LabConfig): string {
  const racks = c.racks!;
  const sections = racks.map((r, i) => {
    const others = racks.filter((o) => o !== r);
    return `  ${r.name}:
    interface: ${r.bridge}
    address: ${rackAddress(r)}
    http_port: ${r.port}
    dhcp:
      mode: full
      subnet: ${r.net}.0/24
      router: ${rackAddress(r)}
      pool: ${r.net}.100-${r.net}.199
      lease_time: 600
    standby: ${standbyOf(racks, i).name}
    secondary:
${others.map((o) => `      - { rack: ${o.name}, interface: ${o.bridge}, address: ${secondaryAddress(o)} }`).join('\n')}
`;
  }).join('');
  return `racks:\n${sections}`;
}

/** A rack daemon's files in the lab's folder: its log, PID, state directory, and "up" marker. */
export const rackFiles = (dir: string, rack: string) => ({
  log: join(dir, `daemon-${rack}.log`),
  pid: join(dir, `daemon-${rack}.pid`),
  state: join(dir, `state-${rack}`),
  /** Written with the daemon's PID once it listens; removed when it exits. */
  up: join(dir, `daemon-${rack}.up`),
  /** `lab restart-rack` asks the supervisor to start the rack's daemon again. */
  restart: join(dir, `restart-${rack}.request`),
});
