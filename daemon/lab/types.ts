// What a lab is made of, as `lab up` records it in the lab's folder (lab.json).

export interface LabRack {
  name: string;
  bridge: string;
  /** The first three octets of its /24 (10.20.0 → 10.20.0.0/24). */
  net: string;
  /** Its daemon's HTTP port (API and boot files), on 0.0.0.0 in the namespace. */
  port: number;
}

export interface LabMachine {
  name: string;
  mac: string;
  ip: string;
  tap: string;
  /** The bridge its tap is on: prov0, or its rack's. */
  bridge: string;
  /** Its rack, in a racked lab. */
  rack?: string;
  disk: string;
  firmware: 'bios' | 'uefi';
  /** ipmi: an ipmi_sim per machine on bmcPort; redfish: the lab's one Redfish emulator. */
  bmc: 'ipmi' | 'redfish';
  bmcPort: number;
  serialPort: number;
}

/** The lab's Redfish emulator (HTTPS on the namespace's loopback) for every redfish machine. */
export const REDFISH_PORT = 8443;

export interface LabConfig {
  dir: string;
  machines: LabMachine[];
  /** Seconds each transitional state may last in the lab (TCG is slow, but not this slow). */
  timeouts: { inspecting: number; deploying: number; releasing: number };
  autoRedeploy: boolean;
  /** A racked lab's racks (a daemon each, on the lab's PostgreSQL); absent: one daemon, SQLite. */
  racks?: LabRack[];
  /** OpenSSH public keys for the debian-12-cloud profile's login user (lab up --ssh-key FILE). */
  sshKeys?: string[];
}
